#pragma once
// Who receives a message, as in ComfyUI's PromptServer: one socket per client id (a newer
// socket with the same id takes over the routing; the older one stays open but hears
// nothing more), a message for a client id goes to that socket or nowhere, a message with
// no client id goes to every socket. Thread-safe: the prompt worker sends from its thread.

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace comfyq::testing::standin {

/// One open WebSocket, as the hub sees it.
class ws_endpoint {
 public:
  virtual ~ws_endpoint() = default;
  virtual void send_text(std::string frame) = 0;
  virtual void send_binary(std::string frame) = 0;
  /// Whether the client's first frame negotiated supports_preview_metadata.
  virtual bool supports_preview_metadata() const = 0;
  /// Cuts the connection, without a close frame, after the frames sent so far.
  virtual void abort() = 0;
};

using target_client = std::optional<std::string>;  // nullopt: every socket

class ws_hub {
 public:
  /// Registers `endpoint` under `sid` and, atomically with that, sends it `greeting`.
  void attach(const std::string& sid, const std::shared_ptr<ws_endpoint>& endpoint,
              const std::vector<std::string>& greeting) {
    const std::lock_guard lock(mutex_);
    if (closed_) return;
    auto found = find(sid);
    if (found == sockets_.end()) {
      sockets_.emplace_back(sid, endpoint);
    } else {
      found->second = endpoint;  // a Python dict keeps the key's position
    }
    for (const auto& frame : greeting) endpoint->send_text(frame);
  }

  void detach(const std::string& sid, const ws_endpoint* endpoint) {
    const std::lock_guard lock(mutex_);
    auto found = find(sid);
    if (found != sockets_.end() && found->second.get() == endpoint) sockets_.erase(found);
  }

  void send_text(const target_client& client, const std::string& frame) {
    for_targets(client, [&](ws_endpoint& socket) { socket.send_text(frame); });
  }

  void send_binary(const target_client& client, const std::string& frame) {
    for_targets(client, [&](ws_endpoint& socket) { socket.send_binary(frame); });
  }

  /// A preview frame for the sockets that did (type 4) or did not (type 1) negotiate preview metadata.
  void send_preview(const target_client& client, bool with_metadata, const std::string& frame) {
    for_targets(client, [&](ws_endpoint& socket) {
      if (socket.supports_preview_metadata() == with_metadata) socket.send_binary(frame);
    });
  }

  /// Cuts the socket of `client` (the drop_socket_at_node knob).
  void drop(const std::string& client) {
    std::shared_ptr<ws_endpoint> victim;
    {
      const std::lock_guard lock(mutex_);
      auto found = find(client);
      if (found == sockets_.end()) return;
      victim = found->second;
      sockets_.erase(found);
    }
    victim->abort();
  }

  /// Forgets every socket and sends nothing more (the server is going away).
  void close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    sockets_.clear();
  }

 private:
  using entry = std::pair<std::string, std::shared_ptr<ws_endpoint>>;

  std::vector<entry>::iterator find(const std::string& sid) {
    return std::find_if(sockets_.begin(), sockets_.end(), [&](const entry& e) { return e.first == sid; });
  }

  template <typename Send>
  void for_targets(const target_client& client, const Send& send) {
    const std::lock_guard lock(mutex_);
    if (client) {
      auto found = find(*client);
      if (found != sockets_.end()) send(*found->second);
      return;
    }
    for (auto& [sid, socket] : sockets_) send(*socket);
  }

  std::mutex mutex_;
  std::vector<entry> sockets_;
  bool closed_{false};
};

}  // namespace comfyq::testing::standin
