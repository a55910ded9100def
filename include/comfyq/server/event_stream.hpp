#pragma once
// One client's Server-Sent Events stream (GET /api/v1/events): the events of the feed it may
// see, as "id/event/data" frames, from the id it resumes after. It holds no thread: frames wait
// in a queue of their own until the socket takes them, and a client that does not read falls
// behind by at most `max_pending_bytes` before it is dropped, so it cannot grow the server's
// memory. A comment line every `keep_alive` keeps proxies from timing the stream out and finds
// clients that left.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include "comfyq/json.hpp"
#include "comfyq/server/event_feed.hpp"
#include "comfyq/server/identity.hpp"

namespace comfyq::server {

/// Whether `who` may see `e`: an admin everything, a participant its own jobs' events.
inline bool may_see(const identity& who, const event& e) {
  return who.admin || (!e.tenant.empty() && e.tenant == who.user);
}

/// One event as an SSE frame.
inline std::string sse_frame(const store::logged_event& e) {
  nlohmann::json data = e.value;
  return "id: " + e.id + "\nevent: " + std::string(to_string(e.value.type)) + "\ndata: " + data.dump() + "\n\n";
}

struct event_stream_limits {
  std::size_t max_pending_bytes = 1024 * 1024;
  std::chrono::seconds keep_alive{15};
};

class event_stream : public std::enable_shared_from_this<event_stream> {
 public:
  event_stream(boost::beast::tcp_stream&& stream, identity who, event_stream_limits limits)
      : stream_(std::move(stream)), who_(std::move(who)), limits_(limits), timer_(stream_.get_executor()) {}

  /// Starts streaming: the header, the events `feed` keeps after `last_event_id`, then the
  /// feed's new ones. Subscribes on the stream's own executor, so that no delivery can overtake
  /// the header and the backlog.
  void run(event_feed& feed, std::string last_event_id, std::function<void(int)> count) {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this(), &feed, last_event_id = std::move(last_event_id),
                                               count = std::move(count)]() mutable {
      std::weak_ptr<event_stream> weak = self;
      event_feed::subscribed from = feed.subscribe(last_event_id, [weak](const std::vector<store::logged_event>& batch) {
        if (auto alive = weak.lock()) alive->deliver(batch);
      });
      self->subscription_ = std::move(from.handle);
      self->count_ = std::move(count);  // counted once subscribed: nothing from now on is missed
      if (self->count_) self->count_(+1);
      self->enqueue("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n"
                    "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n");
      if (from.gap) self->enqueue("event: gap\ndata: {}\n\n");
      self->deliver_here(from.backlog);
      self->keep_alive();
    });
  }

  ~event_stream() {
    if (count_) count_(-1);
  }

  /// Ends the stream (the server stops).
  void close() {
    boost::asio::post(stream_.get_executor(), [self = shared_from_this()] { self->shut(); });
  }

 private:
  // On the feed's thread: hand the batch to the stream's own executor.
  void deliver(const std::vector<store::logged_event>& batch) {
    std::vector<store::logged_event> visible;
    for (const auto& e : batch) {
      if (may_see(who_, e.value)) visible.push_back(e);
    }
    if (visible.empty()) return;
    boost::asio::post(stream_.get_executor(),
                      [self = shared_from_this(), visible = std::move(visible)] { self->deliver_here(visible); });
  }

  void deliver_here(const std::vector<store::logged_event>& events) {
    for (const auto& e : events) {
      if (may_see(who_, e.value)) enqueue(sse_frame(e));
    }
  }

  void enqueue(std::string frame) {
    if (closed_) return;
    pending_bytes_ += frame.size();
    pending_.push_back(std::move(frame));
    if (pending_bytes_ > limits_.max_pending_bytes) return shut();  // it does not read: drop it
    if (!writing_) write_next();
  }

  void write_next() {
    if (pending_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    boost::asio::async_write(stream_.socket(), boost::asio::buffer(pending_.front()),
                             [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                               if (ec) return self->shut();
                               self->pending_bytes_ -= self->pending_.front().size();
                               self->pending_.pop_front();
                               self->write_next();
                             });
  }

  void keep_alive() {
    timer_.expires_after(limits_.keep_alive);
    timer_.async_wait([self = shared_from_this()](boost::beast::error_code ec) {
      if (ec || self->closed_) return;
      self->enqueue(": keep-alive\n\n");
      self->keep_alive();
    });
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    subscription_.reset();
    timer_.cancel();
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  boost::beast::tcp_stream stream_;
  identity who_;
  event_stream_limits limits_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<event_feed::subscription> subscription_;
  std::deque<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::function<void(int)> count_;
};

}  // namespace comfyq::server
