#pragma once
// Runs one queued prompt the way ComfyUI's PromptExecutor does, sending the recorded
// WebSocket sequence: execution_start, execution_cached, then per node progress_state,
// executing, [progress + previews], [executed], progress_state finished, and finally
// execution_success | execution_error | execution_interrupted. Messages for a job without
// a client_id go nowhere, except progress and previews, which go to every socket.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/execution_order.hpp"
#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/node_simulation.hpp"
#include "comfyui_standin/output_cache.hpp"
#include "comfyui_standin/progress_state.hpp"
#include "comfyui_standin/prompt_queue.hpp"
#include "comfyui_standin/python_text.hpp"
#include "comfyui_standin/ws_frames.hpp"
#include "comfyui_standin/ws_hub.hpp"

namespace comfyq::testing::standin {

/// What the runner needs from the server around it.
class execution_control {
 public:
  virtual ~execution_control() = default;
  virtual behaviour knobs() = 0;
  /// Clears a one-shot knob (drop_socket_at_node, crash_at_node) if it selects this node.
  virtual bool fire_drop_socket(const std::string& node_id, const std::string& class_type) = 0;
  virtual bool fire_crash(const std::string& node_id, const std::string& class_type) = 0;
  /// Sleeps; returns early when the server stops, or (if `interruptible`) on an interrupt.
  virtual void wait(std::chrono::milliseconds duration, bool interruptible) = 0;
  virtual bool interrupted() = 0;
  virtual bool stopping() = 0;
  /// Remembers the node being executed, for a client that reconnects mid-job.
  virtual void executing_node(const std::optional<std::string>& node_id) = 0;
  virtual void crash() = 0;
};

class graph_runner {
 public:
  graph_runner(const queue_item& item, const node_catalog& catalog, const standin_folders& folders,
               output_cache& cache, ws_hub& hub, execution_control& control)
      : item_(item),
        catalog_(catalog),
        folders_(folders),
        cache_(cache),
        hub_(hub),
        control_(control),
        client_(item.client_id()),
        progress_(item.prompt_id) {}

  /// The history entry of the run; nullopt when the server went away in the middle.
  std::optional<json> run() {
    add_message("execution_start", json{{"prompt_id", item_.prompt_id}});
    cache_.set_prompt(item_.prompt, catalog_, folders_);
    json cached = json::array();
    for (const auto& [id, node] : item_.prompt.items()) {
      if (cache_.find(id) != nullptr) cached.push_back(id);
    }
    add_message("execution_cached", json{{"nodes", cached}, {"prompt_id", item_.prompt_id}});

    execution_order order(
        item_.prompt, item_.outputs, [&](const std::string& id) { return cache_.find(id) != nullptr; },
        [&](const std::string& id) { return class_of(id).output_node; });
    while (const auto node_id = order.next()) {
      const bool ended = run_node(*node_id);
      if (control_.stopping()) return std::nullopt;
      if (ended) {
        control_.executing_node(std::nullopt);
        return history_entry("error", false);
      }
      order.complete(*node_id);
    }
    control_.executing_node(std::nullopt);
    add_message("execution_success", json{{"prompt_id", item_.prompt_id}});
    return history_entry("success", true);
  }

 private:
  static bool is_link(const json& value) { return value.is_array() && value.size() == 2 && value.at(0).is_string(); }

  const node_class& class_of(const std::string& node_id) const {
    return *catalog_.find(item_.prompt.at(node_id).at("class_type").get<std::string>());
  }

  /// PromptExecutor.add_message: stamped, kept for the history, sent to the client only
  /// (with `broadcast`, to every socket when the job has no client).
  void add_message(const std::string& event, json data, bool broadcast = false) {
    data["timestamp"] = epoch_ms();
    messages_.push_back(json::array({event, data}));
    if (client_ || broadcast) hub_.send_text(client_, text_frame(event, data));
  }

  void send_to_client(const std::string& type, const json& data) {
    if (client_) hub_.send_text(client_, text_frame(type, data));
  }

  void send_progress_state() { hub_.send_text(client_, progress_.frame()); }

  /// Runs one node; true when the prompt ends with it (failed or interrupted).
  bool run_node(const std::string& node_id) {
    const node_class& cls = class_of(node_id);
    if (const cached_node* cached = cache_.find(node_id)) {
      if (client_ && cached->ui) {
        send_to_client("executed", executed_data(node_id, *cached->ui));
        record_ui(node_id, *cached->ui);
      }
      progress_.finish(node_id);
      send_progress_state();
      return false;
    }

    progress_.start(node_id);
    send_progress_state();
    control_.executing_node(node_id);
    send_to_client("executing", json{{"node", node_id}, {"display_node", node_id}, {"prompt_id", item_.prompt_id}});

    if (client_ && control_.fire_drop_socket(node_id, cls.name)) hub_.drop(*client_);
    if (control_.fire_crash(node_id, cls.name)) {
      control_.crash();
      return true;
    }
    // Interrupts are cooperative: checked when a node starts and between sampler steps.
    if (control_.interrupted()) return interrupted_at(node_id, cls);

    const behaviour knobs = control_.knobs();
    const auto delay = knobs.delay_for(node_id, cls.name);
    node_outcome outcome;
    try {
      if (!reports_progress(cls)) control_.wait(delay, false);
      if (control_.stopping()) return true;
      if (selects(knobs.fail_node, node_id, cls.name)) throw node_failure("RuntimeError", knobs.fail_message);
      outcome = simulate(node_id, cls, knobs);
    } catch (const node_failure& failure) {
      return failed_at(node_id, cls, failure);
    } catch (const std::exception& unexpected) {  // odd literal inputs: fail the node, not the server
      return failed_at(node_id, cls, node_failure("Exception", unexpected.what()));
    }
    if (!play_steps(node_id, outcome, delay)) return control_.stopping() || interrupted_at(node_id, cls);
    for (const auto& text : outcome.progress_texts) hub_.send_binary(std::nullopt, progress_text_frame(node_id, text));

    if (outcome.ui) {
      send_to_client("executed", executed_data(node_id, *outcome.ui));
      record_ui(node_id, *outcome.ui);
    }
    cache_.store(node_id, cached_node{outcome.outputs, outcome.ui});
    values_[node_id] = outcome.outputs;
    executed_.push_back(node_id);
    progress_.finish(node_id);
    send_progress_state();
    return false;
  }

  node_outcome simulate(const std::string& node_id, const node_class& cls, const behaviour& knobs) const {
    node_call call{.node_id = node_id,
                   .cls = &cls,
                   .inputs = json::object(),
                   .prompt = &item_.prompt,
                   .extra_data = &item_.extra_data,
                   .folders = &folders_,
                   .knobs = knobs};
    for (const auto& [name, value] : item_.prompt.at(node_id).at("inputs").items()) {
      call.inputs[name] = is_link(value) ? linked_value(value) : value;
    }
    return simulate_node(call);
  }

  /// The value a link points at: from this run, or from the cache.
  json linked_value(const json& link) const {
    const std::string from = link.at(0).get<std::string>();
    const auto slot = link.at(1).get<std::size_t>();
    const std::vector<json>* outputs = nullptr;
    if (const auto found = values_.find(from); found != values_.end()) {
      outputs = &found->second;
    } else if (const cached_node* cached = cache_.find(from)) {
      outputs = &cached->outputs;
    }
    return outputs != nullptr && slot < outputs->size() ? outputs->at(slot) : json();
  }

  /// Progress reports (ProgressBar): progress_state, then for a client with preview
  /// metadata the type-4 frame before "progress", for others the type-1 frame after it.
  /// False when an interrupt (or the server going away) stopped the node.
  bool play_steps(const std::string& node_id, const node_outcome& outcome, std::chrono::milliseconds delay) {
    if (outcome.steps.empty()) return true;
    const auto slice = delay / static_cast<int>(outcome.steps.size());
    for (const auto& step : outcome.steps) {
      control_.wait(slice, outcome.steps_check_interrupt);
      if (control_.stopping() || (outcome.steps_check_interrupt && control_.interrupted())) return false;
      progress_.update(node_id, step.value, step.max);
      send_progress_state();
      if (step.preview_png) {
        hub_.send_preview(client_, true, preview_with_metadata_frame(*step.preview_png, node_id, item_.prompt_id));
      }
      hub_.send_text(client_, text_frame("progress", json{{"value", step.value},
                                                          {"max", step.max},
                                                          {"prompt_id", item_.prompt_id},
                                                          {"node", node_id}}));
      if (step.preview_png) hub_.send_preview(client_, false, preview_frame(*step.preview_png));
    }
    return true;
  }

  json executed_data(const std::string& node_id, const json& ui) const {
    return json{{"node", node_id}, {"display_node", node_id}, {"output", ui}, {"prompt_id", item_.prompt_id}};
  }

  void record_ui(const std::string& node_id, const json& ui) {
    outputs_[node_id] = ui;
    meta_[node_id] =
        json{{"node_id", node_id}, {"display_node", node_id}, {"parent_node", nullptr}, {"real_node_id", node_id}};
  }

  bool interrupted_at(const std::string& node_id, const node_class& cls) {
    add_message("execution_interrupted",
                json{{"prompt_id", item_.prompt_id}, {"node_id", node_id}, {"node_type", cls.name}, {"executed", executed_}},
                true);
    return true;
  }

  bool failed_at(const std::string& node_id, const node_class& cls, const node_failure& failure) {
    json current_inputs = json::object();
    for (const auto& [name, value] : item_.prompt.at(node_id).at("inputs").items()) {
      const json resolved = is_link(value) ? linked_value(value) : value;
      current_inputs[name] =
          json::array({resolved.is_object() ? "tensor(" + python_dumps(resolved) + ")" : python_str(resolved)});
    }
    if (cls.hidden_prompt) {
      current_inputs["prompt"] = json::array({python_repr(item_.prompt)});
      current_inputs["extra_pnginfo"] = json::array(
          {item_.extra_data.contains("extra_pnginfo") ? json(python_repr(item_.extra_data.at("extra_pnginfo"))) : json()});
    }
    json current_outputs = json::array();
    for (const auto& [id, node] : item_.prompt.items()) current_outputs.push_back(id);
    add_message("execution_error",
                json{{"prompt_id", item_.prompt_id},
                     {"node_id", node_id},
                     {"node_type", cls.name},
                     {"executed", executed_},
                     {"exception_message", std::string(failure.what()) + "\n"},
                     {"exception_type", failure.type},
                     {"traceback", json::array({"  File \"<comfyui-standin>\", in " + cls.name + "\n"})},
                     {"current_inputs", current_inputs},
                     {"current_outputs", current_outputs}});
    return true;
  }

  json history_entry(const std::string& status, bool completed) const {
    return json{{"prompt", item_.as_tuple()},
                {"outputs", outputs_},
                {"status", {{"status_str", status}, {"completed", completed}, {"messages", messages_}}},
                {"meta", meta_}};
  }

  const queue_item& item_;
  const node_catalog& catalog_;
  const standin_folders& folders_;
  output_cache& cache_;
  ws_hub& hub_;
  execution_control& control_;
  target_client client_;
  progress_state progress_;
  json messages_ = json::array();
  json outputs_ = json::object();
  json meta_ = json::object();
  json executed_ = json::array();
  std::map<std::string, std::vector<json>> values_;  // outputs of the nodes run so far
};

}  // namespace comfyq::testing::standin
