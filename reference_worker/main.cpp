// comfyq-worker: runs the jobs of a comfyq queue in Redis on one ComfyUI, and puts their
// outputs into each tenant's folder, or sends them to comfyq-server from another machine
// (--files-url, over http:// or https://, e.g. through the site comfyq-server nginx-config
// prints; --files-ca trusts that site's own certificate). Everything it decides is
// comfyq::comfyui::worker's; this program reads its settings, prints its log as JSON lines, and
// turns SIGTERM/SIGINT into a drain. See docs/worker.md.

#include <atomic>
#include <csignal>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/comfyui/remote_tenant_files.hpp"
#include "comfyq/comfyui/worker.hpp"
#include "comfyq/redis/store.hpp"

namespace {

constexpr int bad_usage = 2;

struct settings {
  std::string worker_id{};
  std::string comfyui = "127.0.0.1:8188";
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string queue = "default";
  std::string files{};
  std::string files_url{};
  std::string files_token{};
  std::string files_token_file{};
  std::string files_ca{};
  std::string files_scratch{};
  std::string comfyui_output_dir{};
  double heartbeat_s = 10, max_runtime_s = 7200, drain_grace_s = 60, lease_ttl_s = 60, worker_ttl_s = 60;
  std::uint32_t max_attempts = 3;
  std::size_t preview_max_bytes = 0;
  std::string log_level = "info";
};

std::atomic<comfyq::comfyui::worker*> running_worker{nullptr};

extern "C" void on_stop_signal(int) {
  if (comfyq::comfyui::worker* w = running_worker.load()) w->request_stop();
}

// Makes `w` the worker a stop signal reaches, until the end of the scope: a worker that
// throws out of run() is no longer reachable when it is destroyed.
class signal_target {
 public:
  explicit signal_target(comfyq::comfyui::worker& w) { running_worker.store(&w); }
  ~signal_target() { running_worker.store(nullptr); }
  signal_target(const signal_target&) = delete;
  signal_target& operator=(const signal_target&) = delete;
};

comfyq::duration seconds(double s) { return comfyq::duration{static_cast<comfyq::duration::rep>(s * 1000.0)}; }

// The worker token, from --files-token or, kept out of `ps`, from the file --files-token-file
// names (its trailing line break dropped): one of the two.
std::string files_token(const settings& s) {
  if (!s.files_token.empty() && !s.files_token_file.empty()) {
    throw comfyq::invalid_input("files_token_file", "and --files-token are both given; give one, the file "
                                                    "(which keeps the token out of ps)");
  }
  if (s.files_token_file.empty()) {
    if (s.files_token.empty()) {
      throw comfyq::invalid_input("files_token", "is missing; give --files-token-file FILE with the server's worker "
                                                 "token (comfyq-server serve keeps it in <data>/worker-token), or "
                                                 "--files-token TOKEN");
    }
    return s.files_token;
  }
  return comfyq::comfyui::remote_files_options::token_from_file(s.files_token_file);
}

// Where the tenants' files are: a folder (--files), or comfyq-server (--files-url), one of the two.
class tenant_files {
 public:
  explicit tenant_files(const settings& s) {
    if (s.files.empty() == s.files_url.empty()) {
      throw comfyq::invalid_input("files", s.files.empty()
                                               ? "is missing; give --files DIR (the tenants' folder) or --files-url URL "
                                                 "with --files-token-file (comfyq-server's, from another machine)"
                                               : "and --files-url are both given; give --files DIR for a folder, or "
                                                 "--files-url URL with --files-token-file for comfyq-server, not both");
    }
    if (!s.files.empty()) {
      folder_ = std::make_unique<comfyq::comfyui::tenant_directory>(s.files);
      return;
    }
    comfyq::comfyui::remote_files_options options = comfyq::comfyui::remote_files_options::from_url(s.files_url);
    options.token = files_token(s);
    options.ca_file = s.files_ca;
    options.scratch = s.files_scratch.empty()
                          ? std::filesystem::temp_directory_path() / ("comfyq-worker-" + s.worker_id)
                          : std::filesystem::path(s.files_scratch);
    remote_ = std::make_unique<comfyq::comfyui::remote_tenant_files>(std::move(options));
  }

  // A server that refuses the token, or is no comfyq-server, is a wrong setting found now rather
  // than at the first job (check_server throws); one not up yet is only said.
  void check(const comfyq::comfyui::log_sink& print) {
    if (!remote_) return;
    if (const std::optional<std::string> why = remote_->check_server()) {
      print({.level = comfyq::comfyui::log_level::warning,
             .event = "worker.files_server_unreachable",
             .fields = {{"url", remote_->options().url()}, {"reason", *why}}});
    }
  }

  comfyq::comfyui::input_store& inputs() { return folder_ ? static_cast<comfyq::comfyui::input_store&>(*folder_) : *remote_; }
  comfyq::comfyui::output_store& outputs() {
    return folder_ ? static_cast<comfyq::comfyui::output_store&>(*folder_) : *remote_;
  }

 private:
  std::unique_ptr<comfyq::comfyui::tenant_directory> folder_;
  std::unique_ptr<comfyq::comfyui::remote_tenant_files> remote_;
};

// The flag that sets the setting an invalid_input names, or "" when no flag does.
std::string_view flag_for(std::string_view field) {
  static constexpr std::pair<std::string_view, std::string_view> flags[] = {
      {"worker.id", "--id"},
      {"files", "--files"},
      {"worker.heartbeat_interval", "--heartbeat"},
      {"worker.max_runtime", "--max-runtime"},
      {"worker.drain_grace", "--drain-grace"},
      {"queue", "--queue"},
      {"lease_ttl", "--lease-ttl"},
      {"worker_ttl", "--worker-ttl"},
      {"max_attempts", "--max-attempts"},
      {"files_url", "--files-url"},
      {"files_token", "--files-token"},
      {"files_token_file", "--files-token-file"},
      {"files_ca", "--files-ca"},
      {"files_scratch", "--files-scratch"},
  };
  for (const auto& [setting, flag] : flags) {
    if (setting == field) return flag;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"comfyq-worker: runs comfyq jobs from Redis on one ComfyUI"};
  app.add_option("--id", s.worker_id, "This worker's id in the queue (letters, digits, . _ -)")
      ->envname("COMFYQ_WORKER_ID")
      ->required();
  app.add_option("--comfyui", s.comfyui, "The ComfyUI this worker drives: its URL as ComfyUI prints it, or host:port")
      ->envname("COMFYQ_COMFYUI")
      ->capture_default_str();
  app.add_option("--redis", s.redis_url, "Redis URL: redis://[user:password@]host:port[/db]")
      ->envname("COMFYQ_REDIS_URL")
      ->capture_default_str();
  app.add_option("--queue", s.queue, "Name of the queue in Redis")->envname("COMFYQ_QUEUE")->capture_default_str();
  app.add_option("--files", s.files, "Folder of the tenants' files: <tenant>/inputs, <tenant>/outputs")
      ->envname("COMFYQ_FILES");
  app.add_option("--files-url", s.files_url,
                 "Instead of --files: comfyq-server's URL, http[s]://host:port[/prefix], for a worker on another "
                 "machine")
      ->envname("COMFYQ_FILES_URL");
  app.add_option("--files-token", s.files_token,
                 "With --files-url: the server's worker token (its <data>/worker-token); prefer --files-token-file, "
                 "since a command line shows in ps")
      ->envname("COMFYQ_FILES_TOKEN");
  app.add_option("--files-token-file", s.files_token_file,
                 "With --files-url, instead of --files-token: a file holding the worker token (a copy of the "
                 "server's <data>/worker-token)")
      ->envname("COMFYQ_FILES_TOKEN_FILE");
  app.add_option("--files-ca", s.files_ca,
                 "With an https:// --files-url: a PEM file of the server's certificate (or its CA) to trust instead "
                 "of the system's CAs, e.g. a workshop's self-signed one")
      ->envname("COMFYQ_FILES_CA");
  app.add_option("--files-scratch", s.files_scratch,
                 "With --files-url: the local folder outputs are written to before they are sent "
                 "(default: <tmp>/comfyq-worker-<id>)")
      ->envname("COMFYQ_FILES_SCRATCH");
  app.add_option("--comfyui-output-dir", s.comfyui_output_dir,
                 "Read outputs from ComfyUI's output folder (when shared) instead of GET /view")
      ->envname("COMFYQ_COMFYUI_OUTPUT_DIR");
  app.add_option("--heartbeat", s.heartbeat_s, "Seconds between lease renewals")->capture_default_str();
  app.add_option("--max-runtime", s.max_runtime_s, "Seconds a job may run before it is interrupted and failed")
      ->envname("COMFYQ_MAX_RUNTIME")
      ->capture_default_str();
  app.add_option("--drain-grace", s.drain_grace_s, "Seconds a running job gets to finish after SIGTERM")
      ->envname("COMFYQ_DRAIN_GRACE")
      ->capture_default_str();
  app.add_option("--lease-ttl", s.lease_ttl_s, "The queue's lease_ttl in seconds, if the queue has none yet")
      ->capture_default_str();
  app.add_option("--worker-ttl", s.worker_ttl_s,
                 "The queue's worker_ttl in seconds, if the queue has none yet; above a third of --lease-ttl")
      ->capture_default_str();
  app.add_option("--max-attempts", s.max_attempts, "The queue's max_attempts, if the queue has none yet")
      ->capture_default_str();
  app.add_option("--preview-max-bytes", s.preview_max_bytes, "Republish previews up to this size; 0: none")
      ->capture_default_str();
  app.add_option("--log-level", s.log_level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every mistake in the command line exits bad_usage.
    return app.exit(e) == 0 ? 0 : bad_usage;
  }

  const comfyq::comfyui::log_sink print =
      comfyq::comfyui::print_json_lines(std::cerr, *comfyq::comfyui::parse_log_level(s.log_level));

  try {
    // Settings first: a wrong one is reported before anything is connected.
    comfyq::comfyui::worker_options options{.id = s.worker_id,
                                            .heartbeat_interval = seconds(s.heartbeat_s),
                                            .max_runtime = seconds(s.max_runtime_s),
                                            .drain_grace = seconds(s.drain_grace_s),
                                            .preview_max_bytes = s.preview_max_bytes,
                                            .comfyui_output_dir = s.comfyui_output_dir};
    options.validate();
    comfyq::comfyui::http_client comfyui(comfyq::comfyui::client_options::from_address(s.comfyui, "--comfyui"));
    tenant_files files(s);
    files.check(print);
    comfyq::redis::store_options store_options{.queue = s.queue, .keep_existing_settings = true};
    store_options.scheduler.lease_ttl = seconds(s.lease_ttl_s);
    store_options.scheduler.worker_ttl = seconds(s.worker_ttl_s);
    store_options.scheduler.max_attempts = s.max_attempts;
    comfyq::redis::store queue(comfyq::redis::connection_options::from_url(s.redis_url), store_options);
    if (queue.kept_existing_settings() &&
        (app.count("--lease-ttl") > 0 || app.count("--worker-ttl") > 0 || app.count("--max-attempts") > 0)) {
      print({.level = comfyq::comfyui::log_level::warning,
             .event = "worker.settings_ignored",
             .fields = {{"queue", s.queue},
                        {"reason",
                         "the queue already has its settings, which every process of it shares; "
                         "--lease-ttl, --worker-ttl and --max-attempts only configure a new queue"}}});
    }
    comfyq::comfyui::worker worker(queue, std::move(comfyui), files.inputs(), files.outputs(), std::move(options), print);
    const signal_target stops_reach(worker);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGINT, on_stop_signal);
    worker.run();
    return 0;
  } catch (const comfyq::invalid_input& e) {
    // Settings are checked against the queue's too, once the worker reaches it.
    std::cerr << "comfyq-worker: ";
    if (const std::string_view flag = flag_for(e.field()); !flag.empty()) std::cerr << flag << ": ";
    std::cerr << e.what() << '\n';
    return bad_usage;
  } catch (const std::exception& e) {
    print({.level = comfyq::comfyui::log_level::error, .event = "worker.failed", .fields = {{"reason", e.what()}}});
    return 1;
  }
}
