#pragma once
// What a serving comfyq-server runs: where it listens, its data folder, its store, the
// ComfyUIs it drives with workers of its own, and how it knows who sends a request.
//
//   <data>/htpasswd, credentials.txt   the users (made on first start, see first_start.hpp)
//   <data>/worker-token                what workers on other machines send (made on first start)
//   <data>/files/<tenant>/...          every tenant's inputs and outputs (tenant_directory)
//   <data>/demo-comfyui/               the demo backend's folders (with demo only)
//   <data>/redis/                      the embedded store: the redis-server the server starts,
//                                      its append-only file and log (comfyq/redis/private_server.hpp)

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/un.h>

#include "comfyq/comfyui/client_options.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/authenticator.hpp"
#include "comfyq/server/detail/ip_address.hpp"
#include "comfyq/server/provisioning.hpp"
#include "comfyq/server/trusted_proxy.hpp"

namespace comfyq::server {

/// How a serving server knows who sends a request.
enum class auth_mode : std::uint8_t {
  htpasswd,  ///< its own HTTP Basic auth against <data>/htpasswd
  header,    ///< a proxy in front (nginx) checked the password and names the user in a header
};

/// Where a serving server keeps its queue.
enum class store_kind : std::uint8_t {
  /// The embedded store: a redis-server the server starts in <data>/redis and stops, reached
  /// through a Unix socket, every write on disk before it is acknowledged. Survives restarts.
  private_redis,
  /// In the server's process: nothing is kept when it stops. For throwaway runs.
  memory,
  /// An outside Redis (serve_settings::redis), shared with other servers and workers.
  redis,
};

/// An address to listen on.
struct listen_address {
  std::string host{};
  std::uint16_t port = 0;
};

/// "HOST:PORT" ("[::1]:8080" for IPv6) as an address; throws invalid_input naming `field`.
inline listen_address parse_listen_address(std::string_view text, const std::string& field = "listen") {
  const auto refuse = [&](const std::string& why) {
    return invalid_input(field, "'" + comfyq::detail::printable(text) + "' " + why +
                                    "; write HOST:PORT, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080");
  };
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) throw refuse("has no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!detail::parse_ip_address(host)) throw refuse("does not start with an IP address");
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw refuse("does not end with a port from 0 to 65535");
  }
  return {std::string(host), static_cast<std::uint16_t>(port)};
}

/// The ComfyUI a server drives when nothing else is said: ComfyUI's own default address.
inline constexpr std::string_view default_comfyui = "127.0.0.1:8188";

struct serve_settings {
  std::string listen = "127.0.0.1:8080";
  /// The server's own folder: users, the tenants' files, the embedded store's Redis.
  std::filesystem::path data = "comfyq-data";
  /// Where the queue lives; unset: store_kind::redis when `redis` is given, else the embedded
  /// store (store_kind::private_redis). See store_in_use().
  std::optional<store_kind> store{};
  /// An outside Redis's URL (redis://host:port, or unix:///path/to/redis.sock): the queue lives
  /// there, shared with other servers and workers.
  std::string redis{};
  /// The ComfyUIs this server runs jobs on, a worker of its own for each (see drives()).
  std::vector<std::string> comfyui{};
  /// Runs jobs on a built-in CPU imitation of ComfyUI instead of a ComfyUI: a few image
  /// nodes, one-colour images. It shows the whole flow on a machine without a GPU.
  bool demo = false;
  auth_mode auth = auth_mode::htpasswd;
  /// With auth_mode::header: the proxies believed, and the header they name the user in.
  std::vector<std::string> trusted_proxies{"127.0.0.1", "::1"};
  std::string user_header = std::string(default_user_header);
  std::vector<std::string> admins{std::string(default_admin)};
  /// With auth_mode::htpasswd and no <data>/htpasswd yet: how many participants to make.
  std::size_t users = 20;
  std::string prefix = "user";
  /// The largest request body in MiB: an upload, or an output a worker on another machine sends.
  /// The server holds a body in memory while it takes it. As large as the nginx site's limit.
  std::size_t max_body_mb = 100;
  /// Its workers republish ComfyUI's preview images up to this size in progress events, which
  /// the pages show; 0: none (each preview is kept in the event log, base64, as long as the log keeps it).
  std::size_t preview_max_bytes = 0;
  /// A folder of pages served in place of the built-in ones (web_pages.hpp); empty: the built-in.
  std::filesystem::path pages{};
  /// ComfyUI's web UI, the static folder of the comfyui_frontend_package that pip installs with
  /// ComfyUI: each participant's ComfyUI at /user/<name>/ (comfyui_frontend_api.hpp); empty: none.
  std::filesystem::path comfyui_frontend{};
  /// Workflows every participant's ComfyUI lists, read-only, under workflows/workshop/; empty: none.
  std::filesystem::path workshop_workflows{};

  std::size_t max_body_bytes() const { return max_body_mb * 1024 * 1024; }

  std::filesystem::path htpasswd_file() const { return data / htpasswd_file_name; }
  std::filesystem::path credentials_file() const { return data / credentials_file_name; }
  std::filesystem::path files_folder() const { return data / "files"; }
  /// The token workers on other machines send to the worker routes (comfyq-worker --files-token).
  std::filesystem::path worker_token_file() const { return data / "worker-token"; }
  std::filesystem::path demo_folder() const { return data / "demo-comfyui"; }
  /// The embedded store's folder: its redis-server's config, socket, append-only file and log.
  std::filesystem::path redis_folder() const { return data / "redis"; }

  store_kind store_in_use() const { return store.value_or(redis.empty() ? store_kind::private_redis : store_kind::redis); }

  listen_address address() const { return parse_listen_address(listen); }

  /// The ComfyUIs to run workers on: those given, else ComfyUI's default address; none in a
  /// demo, whose backend's address is known once it listens.
  std::vector<std::string> drives() const {
    if (demo) return {};
    return comfyui.empty() ? std::vector<std::string>{std::string(default_comfyui)} : comfyui;
  }

  /// The authenticator's settings: a trusted proxy only with auth_mode::header.
  auth_settings authentication() const {
    auth_settings settings;
    settings.admins = admins;
    if (auth == auth_mode::header) settings.proxy = {.addresses = trusted_proxies, .user_header = user_header};
    return settings;
  }

  /// The users first start makes.
  provisioning_options provisioning() const {
    return {.data = data, .users = users, .prefix = prefix, .admin = admins.empty() ? std::string(default_admin) : admins.front()};
  }

  /// What an operator can do when no worker can run a job.
  std::string how_to_attach_a_worker() const {
    std::string hint;
    for (const std::string& address : drives()) {
      const comfyui::client_options where = comfyui::client_options::from_address(address, "comfyui");
      hint += "start the ComfyUI this server drives (python main.py --listen " + where.host + " --port " +
              std::to_string(where.port) + "), or ";
    }
    hint += "give the address of a running ComfyUI with --comfyui";
    if (!redis.empty()) hint += ", or run " + remote_worker_command() + " beside a ComfyUI on another machine";
    if (!demo) hint += "; to try comfyq without a GPU, start with --demo";
    return hint;
  }

  /// The command line of a worker on another machine, which reaches the queue in the outside
  /// Redis and the files here; with the embedded or memory store the queue is this server's
  /// alone, and that says so.
  std::string remote_worker_command() const {
    const listen_address where = address();
    const bool everywhere = where.host == "0.0.0.0" || where.host == "::";
    const std::string host = everywhere ? "THIS-MACHINE" : where.host.find(':') == std::string::npos ? where.host
                                                                                                      : "[" + where.host + "]";
    // The token from a file (a copy of this one there), so that it never shows in ps.
    const std::string files = " --files-url http://" + host + ":" + std::to_string(where.port) +
                              " --files-token-file " + worker_token_file().string();
    if (redis.empty()) return "comfyq-worker (once the queue is in an outside Redis: serve with --redis)" + files;
    return "comfyq-worker --id ID --comfyui 127.0.0.1:8188 --redis " + redis + files;
  }

  /// Throws invalid_input naming the field that is wrong, and how to put it right.
  void validate() const {
    address();
    if (data.empty()) throw invalid_input("data", "is empty; give the folder for the server's users, files and queue");
    validate_store();
    for (const std::string& address : comfyui) comfyui::client_options::from_address(address, "comfyui");
    if (demo && !comfyui.empty()) {
      throw invalid_input("demo", "runs jobs on the built-in demo backend, not on a ComfyUI; leave out --comfyui "
                                  "(and unset COMFYUI_URL)");
    }
    if (auth == auth_mode::header && trusted_proxies.empty()) {
      throw invalid_input("trusted_proxies", "is empty, so no request could be authenticated; give the proxy's "
                                             "address, e.g. 127.0.0.1");
    }
    authentication().validate();
    if (auth == auth_mode::htpasswd) provisioning().validate();
    if (!comfyui_frontend.empty() && !std::filesystem::is_regular_file(comfyui_frontend / "index.html")) {
      throw invalid_input("comfyui_frontend",
                          "'" + comfyui_frontend.string() + "' holds no index.html; give the static folder of ComfyUI's "
                          "frontend, e.g. the one `python3 -c \"import comfyui_frontend_package, os; "
                          "print(os.path.dirname(comfyui_frontend_package.__file__) + '/static')\"` prints");
    }
    if (!workshop_workflows.empty() && !std::filesystem::is_directory(workshop_workflows)) {
      throw invalid_input("workshop_workflows", "'" + workshop_workflows.string() +
                                                    "' is not a folder; give the folder of the workshop's workflow files");
    }
    if (max_body_mb == 0 || max_body_mb > max_body_mb_limit) {
      throw invalid_input("max_body_mb", std::to_string(max_body_mb) + " is not a size from 1 to " +
                                             std::to_string(max_body_mb_limit) +
                                             " MiB; bodies are held in memory, so keep it near the largest "
                                             "upload or output expected");
    }
  }

  static constexpr std::size_t max_body_mb_limit = 16 * 1024;

 private:
  void validate_store() const {
    if (!redis.empty() && !redis.starts_with("redis://") && !redis.starts_with("unix://")) {
      throw invalid_input("redis", "'" + comfyq::detail::printable(redis) +
                                       "' is not a Redis URL; write redis://host:port or unix:///path/to/redis.sock");
    }
    if (store == store_kind::redis && redis.empty()) {
      throw invalid_input("redis", "is missing; the queue is to live in an outside Redis: give its URL, e.g. "
                                   "redis://127.0.0.1:6379");
    }
    if (store && *store != store_kind::redis && !redis.empty()) {
      const std::string chosen = *store == store_kind::memory ? "memory" : "private";
      throw invalid_input("store", "'" + chosen + "' keeps the queue here, but --redis names an outside Redis to keep it "
                                   "in; give one of the two");
    }
    if (store_in_use() == store_kind::private_redis) {
      // The embedded store's socket lies in the data folder, and a Unix socket's path is short.
      const std::string socket = (std::filesystem::absolute(redis_folder()) / "redis.sock").string();
      if (socket.size() >= sizeof(sockaddr_un::sun_path)) {
        throw invalid_input("data", "'" + data.string() + "' is too long a path for the embedded store's socket (" +
                                        socket + " has " + std::to_string(socket.size()) + " bytes, a Unix socket "
                                        "at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                        "); use a shorter one");
      }
    }
  }
};

}  // namespace comfyq::server
