#pragma once
// Everything a ComfyUI process keeps in memory (and loses when it restarts): the queue,
// the running job, the history, the prompt counter, the interrupt flag, the node being
// executed, plus the stand-in's knobs. One mutex guards it; the prompt worker sleeps on
// `wake`. Lock order: this mutex before the ws_hub's, never the other way.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/prompt_queue.hpp"
#include "comfyui_standin/ws_frames.hpp"
#include "comfyui_standin/ws_hub.hpp"

namespace comfyq::testing::standin {

struct server_state {
  std::mutex mutex;
  std::condition_variable wake;  // a job was queued, an interrupt came, or the server stops

  prompt_heap pending;
  std::optional<queue_item> running;
  history_store history;
  long long counter{0};  // ComfyUI's PromptServer.number: rises on every POST /prompt
  std::uint64_t next_sequence{0};
  behaviour knobs;
  bool interrupt_requested{false};
  bool stopping{false};
  std::optional<std::string> running_client;  // client_id of the running job
  std::optional<std::string> last_node;       // the node it executes now

  std::size_t queue_remaining() const { return pending.size() + (running ? 1 : 0); }
};

/// What request handlers and sessions share.
struct server_context {
  server_state& state;
  ws_hub& hub;
  const node_catalog& catalog;
  const standin_folders& folders;

  /// PromptServer.queue_updated: a status frame to every socket. Call with the state locked.
  void broadcast_status() const { hub.send_text(std::nullopt, status_frame(state.queue_remaining())); }

  /// A socket connected: route `sid` to it and greet it with status (and, when it is the
  /// running job's client reconnecting, the node being executed, without a prompt_id).
  void attach_socket(const std::string& sid, const std::shared_ptr<ws_endpoint>& socket) const {
    const std::lock_guard lock(state.mutex);
    std::vector<std::string> greeting{status_frame(state.queue_remaining(), sid)};
    if (state.running_client == sid && state.last_node) {
      greeting.push_back(text_frame("executing", json{{"node", *state.last_node}}));
    }
    hub.attach(sid, socket, greeting);
  }
};

}  // namespace comfyq::testing::standin
