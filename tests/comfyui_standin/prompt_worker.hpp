#pragma once
// The prompt worker thread (ComfyUI's prompt_worker): takes the next job off the queue,
// runs it, stores its history, and announces the end with status + executing{node:null}.

#include <chrono>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "comfyui_standin/graph_runner.hpp"
#include "comfyui_standin/output_cache.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

class prompt_worker final : public execution_control {
 public:
  prompt_worker(server_context context, std::function<void()> crash) : context_(context), crash_(std::move(crash)) {}

  /// The thread's body; returns when the server stops.
  void run() {
    server_state& state = context_.state;
    for (;;) {
      queue_item item;
      {
        std::unique_lock lock(state.mutex);
        state.wake.wait(lock, [&] { return state.stopping || !state.pending.empty(); });
        if (state.stopping) return;
        item = state.pending.pop();
        state.running = item;
        state.interrupt_requested = false;  // an interrupt sent while idle has no effect
        state.running_client = item.client_id();
        context_.broadcast_status();
      }
      const auto history = run_job(item);
      {
        const std::lock_guard lock(state.mutex);
        if (state.stopping || !history) return;
        state.history.put(item.prompt_id, *history, item.sequence);
        state.running.reset();
        state.running_client.reset();
        context_.broadcast_status();
      }
      if (const auto client = item.client_id()) {
        context_.hub.send_text(client, text_frame("executing", json{{"node", nullptr}, {"prompt_id", item.prompt_id}}));
      }
    }
  }

  behaviour knobs() override {
    const std::lock_guard lock(context_.state.mutex);
    return context_.state.knobs;
  }

  bool fire_drop_socket(const std::string& node_id, const std::string& class_type) override {
    return fire(&behaviour::drop_socket_at_node, node_id, class_type);
  }

  bool fire_crash(const std::string& node_id, const std::string& class_type) override {
    return fire(&behaviour::crash_at_node, node_id, class_type);
  }

  void wait(std::chrono::milliseconds duration, bool interruptible) override {
    server_state& state = context_.state;
    std::unique_lock lock(state.mutex);
    state.wake.wait_for(lock, duration,
                        [&] { return state.stopping || (interruptible && state.interrupt_requested); });
  }

  bool interrupted() override {
    const std::lock_guard lock(context_.state.mutex);
    return context_.state.interrupt_requested;
  }

  bool stopping() override {
    const std::lock_guard lock(context_.state.mutex);
    return context_.state.stopping;
  }

  void executing_node(const std::optional<std::string>& node_id) override {
    const std::lock_guard lock(context_.state.mutex);
    context_.state.last_node = node_id;
  }

  void crash() override { crash_(); }

 private:
  /// The job's history entry; nullopt when the server went away mid-run.
  std::optional<json> run_job(const queue_item& item) {
    try {
      return graph_runner(item, context_.catalog, context_.folders, cache_, context_.hub, *this).run();
    } catch (const std::exception& unexpected) {  // a stand-in bug must not take the test process down
      std::cerr << "comfyui-standin: job " << item.prompt_id << " failed unexpectedly: " << unexpected.what() << "\n";
      return json{{"prompt", item.as_tuple()},
                  {"outputs", json::object()},
                  {"status", {{"status_str", "error"}, {"completed", false}, {"messages", json::array()}}},
                  {"meta", json::object()}};
    }
  }

  bool fire(std::string behaviour::*knob, const std::string& node_id, const std::string& class_type) {
    const std::lock_guard lock(context_.state.mutex);
    std::string& selector = context_.state.knobs.*knob;
    if (!selects(selector, node_id, class_type)) return false;
    selector.clear();
    return true;
  }

  server_context context_;
  std::function<void()> crash_;
  output_cache cache_;  // only this thread touches it
};

}  // namespace comfyq::testing::standin
