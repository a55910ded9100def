#pragma once
// One client's event stream (GET /api/v1/events): the events of the feed it may see, from the id
// it resumes after, as Server-Sent Events or WebSocket messages (event_transports.hpp). It holds
// no thread: frames wait in a queue of their own until the socket takes them (frame_queue.hpp),
// and a client that does not read falls behind by at most `max_pending_bytes` before it is
// dropped. Every `keep_alive` the stream shows it is alive, which keeps proxies
// from timing it out and finds clients that left.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "comfyq/server/event_feed.hpp"
#include "comfyq/server/event_transports.hpp"
#include "comfyq/server/frame_queue.hpp"
#include "comfyq/server/identity.hpp"

namespace comfyq::server {

/// Whether `who` may see `e`: an admin everything, a participant its own jobs' events.
inline bool may_see(const identity& who, const event& e) {
  return who.admin || (!e.tenant.empty() && e.tenant == who.user);
}

struct event_stream_limits {
  std::size_t max_pending_bytes = 1024 * 1024;
  std::chrono::seconds keep_alive{15};
};

/// What the server holds of an open stream, whatever its transport: a way to end it.
class closable_stream {
 public:
  virtual ~closable_stream() = default;
  /// Ends the stream (the server stops).
  virtual void close() = 0;
};

template <class Transport>
class event_stream final : public closable_stream, public std::enable_shared_from_this<event_stream<Transport>> {
 public:
  event_stream(Transport transport, identity who, event_stream_limits limits)
      : transport_(std::move(transport)), who_(std::move(who)), limits_(limits), timer_(transport_.get_executor()) {}

  /// Starts streaming: the events `feed` keeps after `last_event_id`, then the feed's new ones.
  /// Subscribes on the stream's own executor, so that no delivery can overtake the backlog, and
  /// before the transport opens, so that nothing is missed meanwhile.
  void run(event_feed& feed, std::string last_event_id, std::function<void(int)> count) {
    boost::asio::post(transport_.get_executor(), [self = this->shared_from_this(), &feed,
                                                  last_event_id = std::move(last_event_id),
                                                  count = std::move(count)]() mutable {
      std::weak_ptr<event_stream> weak = self;
      event_feed::subscribed from = feed.subscribe(last_event_id, [weak](const std::vector<store::logged_event>& batch) {
        if (auto alive = weak.lock()) alive->deliver(batch);
      });
      self->subscription_ = std::move(from.handle);
      self->count_ = std::move(count);  // counted once subscribed: nothing from now on is missed
      if (self->count_) self->count_(+1);
      if (std::string greeting = self->transport_.greeting(); !greeting.empty()) self->enqueue(std::move(greeting));
      if (from.gap) self->enqueue(Transport::gap_frame());
      self->deliver_here(from.backlog);
      self->transport_.open([self](bool opened) {
        if (!opened) return self->shut();
        self->open_ = true;
        self->transport_.watch([self] { self->shut(); });
        self->keep_alive();
        self->write_next();
      });
    });
  }

  ~event_stream() override {
    if (count_) count_(-1);
  }

  void close() override {
    boost::asio::post(transport_.get_executor(), [self = this->shared_from_this()] { self->shut(); });
  }

 private:
  // On the feed's thread: hand the batch to the stream's own executor.
  void deliver(const std::vector<store::logged_event>& batch) {
    std::vector<store::logged_event> visible;
    for (const auto& e : batch) {
      if (may_see(who_, e.value)) visible.push_back(e);
    }
    if (visible.empty()) return;
    boost::asio::post(transport_.get_executor(),
                      [self = this->shared_from_this(), visible = std::move(visible)] { self->deliver_here(visible); });
  }

  void deliver_here(const std::vector<store::logged_event>& events) {
    for (const auto& e : events) {
      if (may_see(who_, e.value)) enqueue(Transport::frame(e));
    }
  }

  void enqueue(std::string frame) {
    if (closed_) return;
    if (!pending_.push(std::move(frame))) return shut();  // it does not read: drop it
    if (!writing_) write_next();
  }

  void write_next() {
    if (pending_.empty() || closed_ || !open_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    transport_.write(pending_.front(), [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t) {
      if (ec) return self->shut();
      self->pending_.pop();
      self->write_next();
    });
  }

  void keep_alive() {
    const std::optional<std::string> frame = Transport::keep_alive_frame();
    if (!frame) return;  // the transport keeps the stream alive itself
    timer_.expires_after(limits_.keep_alive);
    timer_.async_wait([self = this->shared_from_this(), frame = *frame](boost::beast::error_code ec) {
      if (ec || self->closed_) return;
      self->enqueue(frame);
      self->keep_alive();
    });
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    subscription_.reset();
    timer_.cancel();
    transport_.close();
  }

  Transport transport_;
  identity who_;
  event_stream_limits limits_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<event_feed::subscription> subscription_;
  frame_queue<std::string> pending_{limits_.max_pending_bytes};
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
  std::function<void(int)> count_;
};

}  // namespace comfyq::server
