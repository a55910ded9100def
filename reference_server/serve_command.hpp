#pragma once
// comfyq-server serve (the default): the JSON API over the embedded store (a redis-server of
// its own in DIR/redis), an outside Redis or, for throwaway runs, memory, with a
// worker of its own for each ComfyUI it drives (or for the demo backend), until SIGTERM or
// SIGINT. Everything it decides is comfyq::server's (serve_settings, first_start,
// local_workers, worker_watch); this file wires them and prints where to go.

#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/redis/private_server.hpp"
#include "comfyq/redis/store.hpp"
#include "comfyq/server/first_start.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/local_workers.hpp"
#include "comfyq/server/serve_settings.hpp"
#include "comfyq/server/server.hpp"
#include "comfyq/server/worker_watch.hpp"
#include "comfyq/store/memory.hpp"
#include "demo_backend.hpp"
#include "web_files.hpp"
#include "subcommand.hpp"

namespace comfyq_server {

namespace serving {

/// The stop signals, blocked in every thread (those started later inherit the mask), so that
/// only wait_for_stop() receives them.
inline sigset_t block_stop_signals() {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stops, nullptr);
  return stops;
}

/// Waits up to `timeout` for SIGTERM or SIGINT; true if one came.
inline bool stop_signalled(const sigset_t& stops, std::chrono::seconds timeout) {
  const timespec wait{.tv_sec = static_cast<std::time_t>(timeout.count()), .tv_nsec = 0};
  return sigtimedwait(&stops, nullptr, &wait) > 0;
}

inline std::string host_name() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "local";
  return name.data();
}

/// The queue where the settings say: the embedded store (a redis-server started here), an
/// outside Redis, or memory.
class opened_store {
 public:
  explicit opened_store(const comfyq::server::serve_settings& s) {
    // Settings a restarted server finds in Redis are those it (or an admin) set: keep them.
    const comfyq::redis::store_options keep{.keep_existing_settings = true};
    switch (s.store_in_use()) {
      case comfyq::server::store_kind::private_redis:
        private_redis_.emplace(comfyq::redis::private_server_options{.dir = s.redis_folder()});
        queue_ = std::make_unique<comfyq::redis::store>(private_redis_->connection_options(), keep);
        description_ = "embedded: redis-server in " + s.redis_folder().string();
        break;
      case comfyq::server::store_kind::redis:
        queue_ = std::make_unique<comfyq::redis::store>(comfyq::redis::connection_options::from_url(s.redis), keep);
        description_ = s.redis;
        break;
      case comfyq::server::store_kind::memory:
        queue_ = std::make_unique<comfyq::store::memory>();
        description_ = "memory: nothing is kept";
        break;
    }
  }

  comfyq::store::contract& queue() const { return *queue_; }
  /// What the log says the store is.
  const std::string& description() const { return description_; }

  /// Throws store_unavailable when the server's own redis-server has exited: nothing would work.
  void check_alive() {
    if (private_redis_ && !private_redis_->running()) {
      throw comfyq::store_unavailable("the embedded store's redis-server exited; see " +
                                      private_redis_->options().log_path().string());
    }
  }

 private:
  // Declared before the queue, so it stops after the store is gone.
  std::optional<comfyq::redis::private_server> private_redis_{};
  std::unique_ptr<comfyq::store::contract> queue_{};
  std::string description_{};
};

inline void serve(comfyq::server::serve_settings s) {
  s.validate();
  const sigset_t stops = block_stop_signals();
  const comfyq::comfyui::log_sink log = comfyq::comfyui::print_json_lines(std::clog);

  if (const auto made = comfyq::server::make_users_on_first_start(s)) {
    log({.event = "users.created",
         .fields = {{"users", made->names.size()}, {"htpasswd", made->htpasswd_file.string()},
                    {"credentials", made->credentials_file.string()}}});
  }
  const std::string worker_token = comfyq::server::worker_token_on_first_start(s);
  opened_store store(s);
  comfyq::store::contract& queue = store.queue();
  comfyq::server::authenticator users(
      s.authentication(), s.auth == comfyq::server::auth_mode::htpasswd
                              ? std::optional(comfyq::server::htpasswd::load(s.htpasswd_file()))
                              : std::nullopt);
  const comfyq::server::listen_address address = s.address();
  comfyq::server::server web(queue, {.host = address.host,
                                     .port = address.port,
                                     .max_body_bytes = s.max_body_bytes(),
                                     .files = s.files_folder(),
                                     .identify = comfyq::server::identify_with(users),
                                     .worker_token = worker_token,
                                     .log = log,
                                     .pages = s.pages.empty() ? web_files() : comfyq::server::read_web_files(s.pages),
                                     .comfyui_frontend = s.comfyui_frontend,
                                     .workshop_workflows = s.workshop_workflows});
  web.start();

  std::optional<demo_backend> demo;
  std::vector<std::string> comfyuis = s.drives();
  if (s.demo) {
    demo.emplace(s.demo_folder());
    comfyuis.push_back(demo->address());
    log({.event = "demo.started", .fields = {{"comfyui", demo->address()}, {"message", demo_backend::label}}});
  }
  comfyq::comfyui::tenant_directory files(s.files_folder());
  comfyq::server::local_workers workers(queue, files, host_name(), comfyuis, log,
                                        {.drain_grace = std::chrono::seconds(15), .preview_max_bytes = s.preview_max_bytes});

  const std::string url = "http://" + (address.host.find(':') == std::string::npos ? address.host : "[" + address.host + "]") +
                          ":" + std::to_string(web.port());
  log({.event = "server.started",
       .fields = {{"url", url}, {"store", store.description()}, {"workers", comfyuis}}});
  std::cout << "comfyq-server is listening on " << url << "/\n"
            << "  the dashboard: " << url << "/admin/, as '" << s.admins.front() << "'\n"
            << "  each participant's page: " << url << "/user/<name>/ (" << url << "/ takes a user to its own)\n"
            << "  the API: " << url << "/api/v1/jobs, as '" << s.admins.front() << "' to see every job\n";
  if (s.auth == comfyq::server::auth_mode::htpasswd) {
    std::cout << "  users and passwords: " << s.credentials_file().string() << " (hand each participant their line)\n";
  }
  std::cout << "  workers on other machines: " << s.remote_worker_command() << "\n"
            << "    (copy " << s.worker_token_file().string() << ", the worker token, to that machine)\n";
  std::cout << std::flush;

  comfyq::server::worker_watch watch(s.how_to_attach_a_worker());
  do {
    store.check_alive();
    if (auto change = watch.observe(queue.snapshot())) log(*change);
  } while (!stop_signalled(stops, std::chrono::seconds(2)));

  log({.event = "server.stopping"});
  web.stop();
  workers.stop();
  log({.event = "server.stopped"});
}

}  // namespace serving

inline subcommand add_serve(CLI::App& app) {
  auto s = std::make_shared<comfyq::server::serve_settings>();
  CLI::App* cli = app.add_subcommand("serve", "Serve the JSON API and run jobs on ComfyUI (the default subcommand)");
  cli->add_option("--listen", s->listen, "HOST:PORT to listen on")->envname("COMFYQ_LISTEN")->capture_default_str();
  cli->add_option("--data", s->data, "The server's folder: users, the tenants' files, the embedded store")
      ->envname("COMFYQ_DATA")
      ->capture_default_str();
  cli->add_option("--redis", s->redis, "Keep the queue in an outside Redis (redis://host:port, unix:///path/redis.sock), "
                                       "shared with other servers and workers")
      ->envname("COMFYQ_REDIS_URL");
  cli->add_option_function<std::string>(
         "--store",
         [s](const std::string& kind) {
           s->store = kind == "memory" ? comfyq::server::store_kind::memory : comfyq::server::store_kind::private_redis;
         },
         "Without --redis: private (default) keeps the queue in a redis-server of this server's own in "
         "DIR/redis, on disk; memory keeps it in this process, and nothing when it stops")
      ->check(CLI::IsMember({"private", "memory"}));
  cli->add_option("--comfyui", s->comfyui, "A ComfyUI to run jobs on, with a worker of this server (repeatable; "
                                           "default 127.0.0.1:8188)")
      ->envname("COMFYUI_URL")
      ->delimiter(',');
  cli->add_option("--preview-max-bytes", s->preview_max_bytes,
                  "Show ComfyUI's preview images up to this size on the pages while a job runs; 0: none")
      ->capture_default_str();
  cli->add_option("--pages", s->pages, "Serve the dashboard and participants' pages from this folder instead of "
                                       "the built-in ones (start from a copy of reference_server/web/)");
  cli->add_option("--comfyui-frontend", s->comfyui_frontend,
                  "Give each participant ComfyUI's web UI at /user/<name>/ from this folder: the static folder of "
                  "the comfyui_frontend_package that pip installs with ComfyUI (their comfyq page moves to "
                  "/user/<name>/comfyq/)");
  cli->add_option("--workshop-workflows", s->workshop_workflows,
                  "Workflows every participant's ComfyUI lists, read-only, under workflows/workshop/ and as templates");
  cli->add_flag("--demo", s->demo, "Run jobs on a built-in CPU imitation of ComfyUI instead (no GPU needed)");
  cli->add_option("--auth", s->auth, "htpasswd: this server checks passwords; header: a proxy in front does")
      ->transform(CLI::CheckedTransformer(std::map<std::string, comfyq::server::auth_mode>{
          {"htpasswd", comfyq::server::auth_mode::htpasswd}, {"header", comfyq::server::auth_mode::header}}))
      ->capture_default_str();
  cli->add_option("--trusted-proxies", s->trusted_proxies, "With --auth header: the proxies' addresses")
      ->delimiter(',')
      ->capture_default_str();
  cli->add_option("--user-header", s->user_header, "With --auth header: the header the proxy names the user in")
      ->capture_default_str();
  cli->add_option("--admins", s->admins, "The users who may use the admin API")->delimiter(',')->capture_default_str();
  cli->add_option("--users", s->users, "Participants made on first start, when DIR/htpasswd is missing")
      ->capture_default_str();
  cli->add_option("--prefix", s->prefix, "What those participants' names start with")->capture_default_str();
  cli->add_option("--max-body-mb", s->max_body_mb,
                  "The largest upload or remote worker's output, in MiB, held in memory while it arrives; as large "
                  "as the nginx site's --client-max-body-size")
      ->envname("COMFYQ_MAX_BODY_MB")
      ->capture_default_str();
  return {cli, [s] { serving::serve(*s); }};
}

}  // namespace comfyq_server
