#pragma once
// The workers a server runs itself: one comfyq::comfyui::worker per ComfyUI, each on a thread
// of its own, over the server's store and the tenants' folder. A ComfyUI that does not answer
// leaves its worker waiting for it (reported as comfyui_down), never stops the server.
//
//   comfyq::server::local_workers gpus(queue, files, "gpu-box", {"127.0.0.1:8188"}, log);
//   ...
//   gpus.stop();   // running jobs get drain_grace to finish, then go back to the queue

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "comfyq/comfyui/client_options.hpp"
#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/comfyui/worker.hpp"
#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/comfyui/worker_options.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

/// The id of the `index`-th (from 1) worker a server on `host` runs: stable across restarts,
/// so that a restarted server takes back the leases its workers held.
inline std::string local_worker_id(std::string_view host, std::size_t index) {
  std::string id = std::string(host) + "-comfyui-" + std::to_string(index);
  return is_valid_id(id) ? id : "local-comfyui-" + std::to_string(index);
}

class local_workers {
 public:
  /// Starts a worker for each of `comfyuis` (addresses as client_options::from_address reads
  /// them), ids local_worker_id(host, 1..n). `store`, `files` and `log` must outlive it.
  /// Throws invalid_input, having started none, for an address or option that is wrong.
  local_workers(store::contract& store, comfyui::tenant_directory& files, std::string_view host,
                const std::vector<std::string>& comfyuis, comfyui::log_sink log,
                comfyui::worker_options options = {}) {
    for (std::size_t i = 0; i < comfyuis.size(); ++i) {
      options.id = local_worker_id(host, i + 1);
      workers_.push_back(std::make_unique<comfyui::worker>(
          store, comfyui::http_client(comfyui::client_options::from_address(comfyuis[i], "comfyui")), files, files,
          options, log));
    }
    for (auto& worker : workers_) {
      threads_.emplace_back([w = worker.get(), log] {
        try {
          w->run();
        } catch (const std::exception& e) {
          // run() throws only for settings the queue leaves no room for, before any job.
          if (log) {
            log({.level = comfyui::log_level::error,
                 .event = "worker.failed",
                 .fields = {{"worker", w->options().id}, {"reason", e.what()}}});
          }
        }
      });
    }
  }

  local_workers(const local_workers&) = delete;
  local_workers& operator=(const local_workers&) = delete;
  ~local_workers() { stop(); }

  std::size_t size() const noexcept { return workers_.size(); }

  /// Asks every worker to stop and waits for them: each running job gets drain_grace to
  /// finish, then is given back to the queue. Idempotent.
  void stop() {
    for (auto& worker : workers_) worker->request_stop();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::vector<std::unique_ptr<comfyui::worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace comfyq::server
