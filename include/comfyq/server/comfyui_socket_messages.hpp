#pragma once
// What a tenant's ComfyUI WebSocket (comfyui_socket.hpp) says: the tenant's events, translated
// into the messages ComfyUI sends for a prompt, in its recorded order (comfyui-protocol/
// PROTOCOL.md §4):
//
//   submitted, retried   status {queue_remaining}
//   leased               status, execution_start, execution_cached {nodes: []}
//   progress {node}      progress_state (the node before finished), progress_state (this one
//                        running), executing {node, display_node, prompt_id}
//   progress {value}     progress_state, progress {value, max, prompt_id, node}
//   progress {preview}   a binary preview: type 4 to a socket that negotiated preview metadata,
//                        else type 1
//   succeeded            executed per output node, progress_state, execution_success, status,
//                        executing {node: null}
//   failed, dead         execution_error, status, executing {node: null}
//   cancelled            running: execution_interrupted, status, executing {node: null};
//                        waiting: status (as ComfyUI, whose deleted prompts never ran)
//   position_changed     comfyq_queue_position {prompt_id, position, queued, starts_in_ms}: where
//                        a waiting job stands, which ComfyUI's clients ignore
//
// queue_remaining counts the tenant's jobs that wait or run, never anyone else's. Free of I/O:
// the job a final event needs is read through the finder the caller gives.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/detail/json_text.hpp"
#include "comfyq/comfyui/progress_state.hpp"
#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/comfyui/ws_frames.hpp"
#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/comfyui_views.hpp"
#include "comfyq/server/detail/base64_decode.hpp"

namespace comfyq::server {

/// One WebSocket message: JSON text, or a binary preview.
struct comfyui_frame {
  std::string bytes;
  bool binary = false;
};

inline std::size_t frame_bytes(const comfyui_frame& frame) { return frame.bytes.size(); }

class comfyui_socket_messages {
 public:
  /// Reads a job for the messages of its end; nullopt when it cannot be read.
  using job_finder = std::function<std::optional<job>(std::string_view id)>;
  /// The last progress a running job reported (progress_board.hpp), or nothing.
  using progress_finder = std::function<std::optional<nlohmann::json>(std::string_view id)>;

  explicit comfyui_socket_messages(std::size_t max_upload_bytes) : max_upload_bytes_(max_upload_bytes) {}

  /// The first messages of a socket: status with its `sid` and the tenant's jobs that wait or
  /// run (`active`), then, for each running job, the node it runs. ComfyUI greets a socket that
  /// reconnects mid-prompt with that node alone; this names the prompt too.
  std::vector<comfyui_frame> greeting(const std::string& sid, const std::vector<job>& active,
                                      const progress_finder& progress_of) {
    std::vector<comfyui_frame> frames;
    for (const job& j : active) active_.insert(j.id);
    frames.push_back({comfyui::status_frame(active_.size(), sid)});
    for (const job& j : active) {
      if (j.state != job_state::running) continue;
      run& r = running_.try_emplace(j.id, j.id).first->second;
      const std::optional<nlohmann::json> progress = progress_of(j.id);
      if (!progress || comfyui::detail::text_at(*progress, "node").empty()) continue;
      r.node = comfyui::detail::text_at(*progress, "node");
      r.state.start(r.node);
      frames.push_back(executing(j.id, r.node));
    }
    return frames;
  }

  /// A message from the client. ComfyUI reads only its first, and only when that is
  /// feature_flags: it answers with its own, and sends that client previews with metadata
  /// when it asked for them.
  std::vector<comfyui_frame> on_client_text(std::string_view text) {
    if (heard_client_) return {};
    heard_client_ = true;
    const nlohmann::json message = nlohmann::json::parse(text, nullptr, false);
    if (!message.is_object() || message.value("type", nlohmann::json()) != "feature_flags") return {};
    const nlohmann::json flags = message.value("data", nlohmann::json::object());
    metadata_previews_ = flags.is_object() && flags.value("supports_preview_metadata", nlohmann::json()) == true;
    return {{comfyui::text_frame("feature_flags", comfyui_server_features(max_upload_bytes_))}};
  }

  /// The messages for one of the tenant's events; `find` reads the job when its end needs it.
  std::vector<comfyui_frame> on_event(const event& e, const job_finder& find) {
    switch (e.type) {
      case event_type::submitted:
      case event_type::retried:
        active_.insert(e.job);
        return {status()};
      case event_type::leased: {
        active_.insert(e.job);
        running_.insert_or_assign(e.job, run(e.job));
        const long long at = e.at.time_since_epoch().count();
        return {status(), text("execution_start", {{"prompt_id", e.job}, {"timestamp", at}}),
                text("execution_cached",
                     {{"nodes", comfyui::ordered_json::array()}, {"prompt_id", e.job}, {"timestamp", at}})};
      }
      case event_type::progress:
        return progress(e);
      case event_type::requeued:
        running_.erase(e.job);
        return {};
      case event_type::succeeded:
        return succeeded(e, find(e.job));
      case event_type::failed:
      case event_type::dead:
        return failed(e, find(e.job));
      case event_type::cancelled:
        return cancelled(e, find);
      case event_type::position_changed:
        return {position(e)};
      default:
        return {};
    }
  }

  /// Whether previews go out as type 4, with their prompt and node.
  bool metadata_previews() const noexcept { return metadata_previews_; }

 private:
  // A running job as its messages so far have shown it.
  struct run {
    explicit run(const std::string& job) : state(job) {}
    comfyui::progress_state state;
    std::string node{};                                               // the node running now
    comfyui::ordered_json executed = comfyui::ordered_json::array();  // the nodes that finished
  };

  static comfyui_frame text(std::string_view type, const comfyui::ordered_json& data) {
    return {comfyui::text_frame(type, data)};
  }

  comfyui_frame status() const { return {comfyui::status_frame(active_.size())}; }

  static comfyui_frame executing(const std::string& job, const std::string& node) {
    return text("executing", {{"node", node}, {"display_node", node}, {"prompt_id", job}});
  }

  std::vector<comfyui_frame> progress(const event& e) {
    run& r = running_.try_emplace(e.job, e.job).first->second;  // also for a socket that joined mid-run
    const std::string node = comfyui::detail::text_at(e.data, "node");
    if (const auto preview = e.data.find("preview"); preview != e.data.end())
      return this->preview(e.job, node, *preview);
    std::vector<comfyui_frame> frames;
    if (node != r.node) {
      if (finish_node(r)) frames.push_back({r.state.frame()});
      r.node = node;
      r.state.start(node);
      frames.push_back({r.state.frame()});
      frames.push_back(executing(e.job, node));
    }
    if (e.data.contains("value") && e.data.contains("max")) {
      const comfyui::ordered_json value = e.data.at("value");
      const comfyui::ordered_json max = e.data.at("max");
      r.state.update(node, value, max);
      frames.push_back({r.state.frame()});
      frames.push_back(text("progress", {{"value", value}, {"max", max}, {"prompt_id", e.job}, {"node", node}}));
    }
    return frames;
  }

  std::vector<comfyui_frame> preview(const std::string& job, const std::string& node,
                                     const nlohmann::json& preview) const {
    const std::string media_type = comfyui::detail::text_at(preview, "media_type");
    const std::optional<std::string> image = detail::base64_decode(comfyui::detail::text_at(preview, "base64"));
    if (!image) return {};
    if (metadata_previews_) return {{comfyui::preview_with_metadata_frame(*image, node, job, media_type), true}};
    std::optional<std::string> frame = comfyui::preview_frame(*image, media_type);
    if (!frame) return {};  // type 1 says only JPEG or PNG
    return {{std::move(*frame), true}};
  }

  std::vector<comfyui_frame> succeeded(const event& e, const std::optional<job>& j) {
    std::vector<comfyui_frame> frames;
    if (j) {
      const comfyui::ordered_json outputs = comfyui_outputs(*j);
      for (const auto& [node, output] : outputs.items()) {
        frames.push_back(
            text("executed", {{"node", node}, {"display_node", node}, {"output", output}, {"prompt_id", e.job}}));
      }
    }
    if (auto r = running_.find(e.job); r != running_.end() && finish_node(r->second)) {
      frames.push_back({r->second.state.frame()});
    }
    frames.push_back(text("execution_success", {{"prompt_id", e.job}, {"timestamp", e.at.time_since_epoch().count()}}));
    return ended(e.job, std::move(frames));
  }

  std::vector<comfyui_frame> failed(const event& e, const std::optional<job>& j) {
    const run r = running_.contains(e.job) ? running_.at(e.job) : run(e.job);
    const std::string node_type = j ? comfyui_node_class(*j, r.node) : std::string();
    return ended(e.job, {text("execution_error",
                              comfyui_execution_error(e.job, r.node, node_type, r.executed, e.reason, e.at))});
  }

  std::vector<comfyui_frame> cancelled(const event& e, const job_finder& find) {
    const auto r = running_.find(e.job);
    if (r == running_.end()) {  // it never ran: ComfyUI tells only the new count
      active_.erase(e.job);
      return {status()};
    }
    const std::optional<job> j = find(e.job);
    const std::string node_type = j ? comfyui_node_class(*j, r->second.node) : std::string();
    return ended(e.job, {text("execution_interrupted",
                              comfyui_interruption(e.job, r->second.node, node_type, r->second.executed, e.at))});
  }

  // A job's last messages: after those of its outcome, the new count, then the end marker.
  std::vector<comfyui_frame> ended(const std::string& job, std::vector<comfyui_frame> frames) {
    running_.erase(job);
    active_.erase(job);
    frames.push_back(status());
    frames.push_back(text("executing", {{"node", nullptr}, {"prompt_id", job}}));
    return frames;
  }

  // Marks the node that ran finished; false when none did.
  static bool finish_node(run& r) {
    if (r.node.empty()) return false;
    r.state.finish(r.node);
    r.executed.push_back(r.node);
    return true;
  }

  static comfyui_frame position(const event& e) {
    comfyui::ordered_json data{{"prompt_id", e.job},
                               {"position", e.data.value("position", nlohmann::json())},
                               {"queued", e.data.value("queued", nlohmann::json())},
                               {"starts_in_ms", nullptr}};
    if (const auto eta = e.data.find("eta_ms"); eta != e.data.end() && eta->is_number()) {
      data["starts_in_ms"] = std::max<long long>(0, eta->get<long long>() - e.at.time_since_epoch().count());
    }
    return text("comfyq_queue_position", data);
  }

  std::size_t max_upload_bytes_;
  bool heard_client_ = false;
  bool metadata_previews_ = false;
  std::set<std::string, std::less<>> active_;  // the tenant's jobs that wait or run
  std::map<std::string, run, std::less<>> running_;
};

}  // namespace comfyq::server
