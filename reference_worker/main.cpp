// comfyq-worker: runs the jobs of a comfyq queue in Redis on one ComfyUI, and puts their
// outputs into each tenant's folder. Everything it decides is comfyq::comfyui::worker's; this
// program reads its settings, prints its log as JSON lines, and turns SIGTERM/SIGINT into a
// drain. See docs/worker.md.

#include <atomic>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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

// The flag that sets the setting an invalid_input names, or "" when no flag does.
std::string_view flag_for(std::string_view field) {
  static constexpr std::pair<std::string_view, std::string_view> flags[] = {
      {"worker.id", "--id"},
      {"worker.heartbeat_interval", "--heartbeat"},
      {"worker.max_runtime", "--max-runtime"},
      {"worker.drain_grace", "--drain-grace"},
      {"queue", "--queue"},
      {"lease_ttl", "--lease-ttl"},
      {"worker_ttl", "--worker-ttl"},
      {"max_attempts", "--max-attempts"},
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
      ->envname("COMFYQ_FILES")
      ->required();
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
    comfyq::comfyui::tenant_directory files(s.files);
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
    comfyq::comfyui::worker worker(queue, std::move(comfyui), files, files, std::move(options), print);
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
