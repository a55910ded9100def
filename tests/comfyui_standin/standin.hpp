#pragma once
// comfyq::testing::comfyui_standin: a ComfyUI 0.8.0 imitation for tests (never shipped).
// It speaks ComfyUI's HTTP and WebSocket protocol as recorded in
// tests/fixtures/comfyui-protocol (the contract tests in tests/comfyui_contract hold it to
// those recordings), "executes" API-format graphs of any node class in the recorded
// /object_info, writes real output files, and misbehaves on request (see behaviour.hpp):
// slow nodes, failing nodes, dropped sockets, crashes, restarts with empty state,
// rejections and partial accepts. It serves on 127.0.0.1 from threads of its own.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/python_path.hpp"
#include "comfyui_standin/server_instance.hpp"

namespace comfyq::testing {

using standin::behaviour;

struct standin_config {
  /// Where save nodes write (ComfyUI's --output-directory). Required.
  std::string output_dir{};
  /// Uploads and LoadImage's folder; default: "input" beside output_dir.
  std::string input_dir{};
  /// PreviewImage's folder; default: "temp" beside output_dir.
  std::string temp_dir{};
  /// A recorded GET /object_info body: the node classes that exist.
  std::string object_info_path{default_object_info_path()};
  /// 0: any free port.
  unsigned short port{0};
  behaviour knobs{};
  /// What crash_at_node does; by default the server stops serving abruptly (in-process).
  std::function<void()> on_crash{};

  static std::string default_object_info_path() {
#ifdef COMFYQ_PROTOCOL_DIR
    return COMFYQ_PROTOCOL_DIR "/GET_object_info_full.json";
#else
    return "";
#endif
  }
};

class comfyui_standin {
 public:
  explicit comfyui_standin(standin_config config) : config_(std::move(config)) {
    const std::string output = standin::absolute_folder(config_.output_dir);
    const std::string parent = standin::pypath::dirname(output);
    folders_ = standin::standin_folders{
        .output = output,
        .input = standin::absolute_folder(config_.input_dir.empty() ? parent + "/input" : config_.input_dir),
        .temp = standin::absolute_folder(config_.temp_dir.empty() ? parent + "/temp" : config_.temp_dir),
    };
    for (const auto& folder : {folders_.output, folders_.input, folders_.temp}) std::filesystem::create_directories(folder);
    catalog_ = standin::load_catalog(config_.object_info_path);
    start(config_.port, config_.knobs);
  }

  comfyui_standin(const comfyui_standin&) = delete;
  comfyui_standin& operator=(const comfyui_standin&) = delete;

  unsigned short port() const { return port_; }
  const standin::standin_folders& folders() const { return folders_; }

  behaviour knobs() const { return instance_ ? instance_->knobs() : behaviour{}; }
  void set_knobs(behaviour knobs) {
    if (instance_) instance_->set_knobs(std::move(knobs));
  }

  /// Stops serving abruptly, as if the process died: connections close mid-conversation,
  /// the port refuses connections, queue and history are gone. restart() brings it back.
  void crash() {
    if (instance_) instance_->abort_serving();
  }

  /// A fresh server on the same port with empty state (queue, history, cache, prompt
  /// counter); files on disk stay, except previews. The knobs carry over.
  void restart() {
    const behaviour knobs = this->knobs();
    instance_.reset();
    start(port_, knobs);
  }

 private:
  void start(unsigned short port, behaviour knobs) {
    instance_ = std::make_unique<standin::server_instance>(catalog_, folders_, port, std::move(knobs), config_.on_crash);
    port_ = instance_->port();
  }

  standin_config config_;
  standin::standin_folders folders_;
  std::shared_ptr<const standin::node_catalog> catalog_;
  std::unique_ptr<standin::server_instance> instance_;
  unsigned short port_{};
};

}  // namespace comfyq::testing
