#pragma once
// A tenant's ComfyUI WebSocket (/ws?clientId=, per comfyui_api.hpp): ComfyUI's messages about
// the tenant's jobs (comfyui_socket_messages.hpp), and nothing of anyone else's.
//
// Two executors share the work. The socket's own strand on the I/O threads reads the client and
// writes the frames, one at a time, from a queue that a client that does not read can grow by at
// most `max_pending_bytes` before it is dropped (frame_queue.hpp). A strand on the store's pool
// translates the events, as the end of a job is read from the store, which may wait on Redis.
// The feed hands each batch of the tenant's events to that strand, so that they are translated
// in the log's order.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/server/comfyui_socket_messages.hpp"
#include "comfyq/server/event_feed.hpp"
#include "comfyq/server/event_stream.hpp"
#include "comfyq/server/frame_queue.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/progress_board.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

/// Whose socket it is and what it says of the server.
struct comfyui_socket_setup {
  std::string tenant;
  std::string sid;  ///< the client's id (clientId), echoed in the first status message
  std::size_t max_upload_bytes = 0;
};

/// What a socket needs of the server; all of it outlives the socket.
struct comfyui_socket_host {
  store::contract& store;
  event_feed& feed;
  boost::asio::thread_pool& store_pool;
  const progress_board& progress;
  event_stream_limits limits;
};

class comfyui_socket final : public closable_stream, public std::enable_shared_from_this<comfyui_socket> {
 public:
  comfyui_socket(boost::beast::tcp_stream&& stream, request upgrade, const comfyui_socket_host& host,
                 comfyui_socket_setup setup)
      : socket_(std::move(stream)),
        upgrade_(std::move(upgrade)),
        pending_(host.limits.max_pending_bytes),
        host_(host),
        setup_(std::move(setup)),
        work_(boost::asio::make_strand(host.store_pool)),
        messages_(setup_.max_upload_bytes) {
    boost::beast::websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = 2 * host.limits.keep_alive;  // a ping after keep_alive, closed without an answer by then
    timeouts.keep_alive_pings = true;
    socket_.set_option(timeouts);
    socket_.read_message_max(64 * 1024);  // the client has nothing to say but its feature flags
  }

  ~comfyui_socket() override {
    if (count_) count_(-1);
  }

  /// Accepts the upgrade, greets the client and follows the tenant's events; `count` hears +1
  /// now and -1 when the socket is gone.
  void run(std::function<void(int)> count) {
    count_ = std::move(count);
    if (count_) count_(+1);
    socket_.async_accept(upgrade_, [self = shared_from_this()](boost::beast::error_code ec) {
      if (ec) return self->shut();
      self->open_ = true;
      boost::asio::post(self->work_, [self] { self->begin(); });
      self->read_client();
    });
  }

  void close() override {
    boost::asio::post(socket_.get_executor(), [self = shared_from_this()] { self->shut(); });
  }

 private:
  // ---- on the store's pool (work_) ----------------------------------------------------------

  // Subscribes first, then reads the tenant's jobs: a job that changes in between is seen twice,
  // which the messages take, rather than not at all.
  void begin() {
    std::weak_ptr<comfyui_socket> weak = shared_from_this();
    event_feed::subscribed from = host_.feed.subscribe(
        "", [weak, tenant = setup_.tenant, work = work_](const std::vector<store::logged_event>& batch) {
          std::vector<event> mine = of_tenant(batch, tenant);
          if (mine.empty()) return;
          boost::asio::post(work, [weak, mine = std::move(mine)] {
            if (auto self = weak.lock()) self->translate(mine);
          });
        });
    subscription_ = std::move(from.handle);
    std::vector<comfyui_frame> frames =
        messages_.greeting(setup_.sid, active_jobs(), [this](std::string_view id) { return host_.progress.of(id); });
    for (const event& e : of_tenant(from.backlog, setup_.tenant)) append(frames, messages_.on_event(e, finder()));
    send(std::move(frames));
  }

  void translate(const std::vector<event>& events) {
    if (!subscription_) return;  // shut
    std::vector<comfyui_frame> frames;
    for (const event& e : events) append(frames, messages_.on_event(e, finder()));
    send(std::move(frames));
  }

  void heard(const std::string& text) { send(messages_.on_client_text(text)); }

  // The tenant's jobs that wait or run; none when the store does not answer now.
  std::vector<job> active_jobs() {
    std::vector<job> active;
    job_query query{.tenant = setup_.tenant, .states = {job_state::queued, job_state::running}, .limit = max_job_page};
    try {
      do {
        job_page page = host_.store.list_jobs(query);
        active.insert(active.end(), std::make_move_iterator(page.jobs.begin()),
                      std::make_move_iterator(page.jobs.end()));
        query.after = std::move(page.next);
      } while (!query.after.empty());
    } catch (const comfyq::error&) {
    }
    return active;
  }

  comfyui_socket_messages::job_finder finder() {
    return [this](std::string_view id) -> std::optional<job> {
      try {
        return host_.store.find(id);
      } catch (const comfyq::error&) {
        return std::nullopt;  // the messages go out without what the job would have added
      }
    };
  }

  static std::vector<event> of_tenant(const std::vector<store::logged_event>& batch, const std::string& tenant) {
    std::vector<event> mine;
    for (const store::logged_event& e : batch) {
      if (e.value.tenant == tenant) mine.push_back(e.value);
    }
    return mine;
  }

  static void append(std::vector<comfyui_frame>& to, std::vector<comfyui_frame> more) {
    to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }

  void send(std::vector<comfyui_frame> frames) {
    if (frames.empty()) return;
    boost::asio::post(socket_.get_executor(), [self = shared_from_this(), frames = std::move(frames)]() mutable {
      for (comfyui_frame& f : frames) self->enqueue(std::move(f));
    });
  }

  // ---- on the socket's strand ----------------------------------------------------------------

  void read_client() {
    socket_.async_read(incoming_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
      if (ec) return self->shut();
      if (self->socket_.got_text()) {
        boost::asio::post(
            self->work_, [self, text = boost::beast::buffers_to_string(self->incoming_.data())] { self->heard(text); });
      }
      self->incoming_.clear();
      self->read_client();
    });
  }

  void enqueue(comfyui_frame frame) {
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
    socket_.binary(pending_.front().binary);
    socket_.async_write(boost::asio::buffer(pending_.front().bytes),
                        [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                          if (ec) return self->shut();
                          self->pending_.pop();
                          self->write_next();
                        });
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    boost::asio::post(work_, [self = shared_from_this()] { self->subscription_.reset(); });
    boost::beast::error_code ignored;
    boost::beast::get_lowest_layer(socket_).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    boost::beast::get_lowest_layer(socket_).socket().close(ignored);
  }

  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_;
  request upgrade_;
  boost::beast::flat_buffer incoming_;
  frame_queue<comfyui_frame> pending_;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;

  const comfyui_socket_host& host_;
  comfyui_socket_setup setup_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> work_;
  comfyui_socket_messages messages_;
  std::unique_ptr<event_feed::subscription> subscription_;
  std::function<void(int)> count_;
};

}  // namespace comfyq::server
