#pragma once
// One lifetime of the simulated ComfyUI process: a listening socket on 127.0.0.1, an I/O
// thread serving HTTP and WebSockets, and the prompt worker thread. Destroying it, or
// abort_serving() (a crash), ends that lifetime and everything held only in memory.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/connections.hpp"
#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/http_session.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/prompt_worker.hpp"
#include "comfyui_standin/server_state.hpp"
#include "comfyui_standin/ws_hub.hpp"

namespace comfyq::testing::standin {

class server_instance {
 public:
  /// Starts listening on 127.0.0.1:`port` (0: any free port). `crash` is what the
  /// crash_at_node knob calls (from the prompt worker thread); empty: abort_serving().
  server_instance(std::shared_ptr<const node_catalog> catalog, standin_folders folders, unsigned short port,
                  behaviour knobs, std::function<void()> crash)
      : catalog_(std::move(catalog)),
        folders_(std::move(folders)),
        context_{state_, hub_, *catalog_, folders_},
        worker_(context_, crash ? std::move(crash) : [this] { abort_serving(); }) {
    state_.knobs = std::move(knobs);
    wipe_previews();
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_next();
    io_thread_ = std::thread([this] { ioc_.run(); });
    worker_thread_ = std::thread([this] { worker_.run(); });
  }

  server_instance(const server_instance&) = delete;
  server_instance& operator=(const server_instance&) = delete;

  ~server_instance() {
    abort_serving();
    io_thread_.join();
    worker_thread_.join();
  }

  unsigned short port() const { return port_; }

  /// Stops at once, like a killed process: the listener closes, every connection closes
  /// (frames not yet written are lost), the running job is abandoned. Safe from any thread but the I/O thread; a
  /// second call does nothing.
  void abort_serving() {
    {
      const std::lock_guard lock(state_.mutex);
      if (state_.stopping) return;
      state_.stopping = true;
    }
    state_.wake.notify_all();
    hub_.close();
    std::promise<void> stopped;
    net::post(ioc_, [&] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      connections_.abort_all();
      ioc_.stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
  }

  behaviour knobs() {
    const std::lock_guard lock(state_.mutex);
    return state_.knobs;
  }

  void set_knobs(behaviour knobs) {
    {
      const std::lock_guard lock(state_.mutex);
      state_.knobs = std::move(knobs);
    }
    state_.wake.notify_all();
  }

 private:
  void accept_next() {
    acceptor_.async_accept(ioc_, [this](boost::system::error_code error, tcp::socket socket) {
      if (error) return;
      auto session = std::make_shared<http_session>(std::move(socket), context_, connections_);
      connections_.add(session);
      session->start();
      accept_next();
    });
  }

  /// ComfyUI empties its temp folder when it starts; only previews are ever written there.
  void wipe_previews() const {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folders_.temp, error)) {
      if (entry.path().filename().string().starts_with("ComfyUI_temp_")) std::filesystem::remove(entry.path(), error);
    }
  }

  std::shared_ptr<const node_catalog> catalog_;
  standin_folders folders_;
  server_state state_;
  ws_hub hub_;
  connection_registry connections_;
  server_context context_;
  prompt_worker worker_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_{};
  std::thread io_thread_;
  std::thread worker_thread_;
};

}  // namespace comfyq::testing::standin
