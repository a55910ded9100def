#pragma once
// comfyq's server: the JSON API (/api/v1: job_api.hpp, admin_api.hpp, file_api.hpp, and for
// workers on other machines worker_file_api.hpp), live events, health checks and Prometheus
// metrics (metrics.hpp), the pages (web_pages.hpp, dashboard_api.hpp) and ComfyUI's own API
// per tenant (comfyui_api.hpp), over one store::contract. A few I/O threads accept and serve every
// connection (http_session.hpp); the store's calls, which may block on Redis, run on a pool of
// their own so that they never stall another connection.
//
//   comfyq::store::memory queue;
//   comfyq::server::authenticator users(settings, comfyq::server::htpasswd::load(path));
//   comfyq::server::server web(queue, {.port = 8080, .identify = comfyq::server::identify_with(users)});
//   web.start();   // serves until stop() or destruction

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/server/admin_api.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_api.hpp"
#include "comfyq/server/dashboard_api.hpp"
#include "comfyq/server/detail/constant_time.hpp"
#include "comfyq/server/event_feed.hpp"
#include "comfyq/server/event_stream.hpp"
#include "comfyq/server/file_api.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/http_session.hpp"
#include "comfyq/server/identity.hpp"
#include "comfyq/server/identify_with.hpp"
#include "comfyq/server/job_api.hpp"
#include "comfyq/server/metrics.hpp"
#include "comfyq/server/progress_board.hpp"
#include "comfyq/server/queue_positions.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/recent_errors.hpp"
#include "comfyq/server/request_log.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/server/usage_history.hpp"
#include "comfyq/server/web_pages.hpp"
#include "comfyq/server/worker_file_api.hpp"
#include "comfyq/store/clock.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0: a free port, see server::port()
  unsigned io_threads = 2;
  unsigned store_threads = 8;  ///< the store's calls run here: as many may wait on Redis at once
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds stop_grace{10};  ///< how long stop() lets requests in flight finish
  std::filesystem::path files{};  ///< every tenant's files (file_api.hpp); empty: none kept, the file routes answer 503
  server::identifier identify{};  ///< who sent a request; without one, every route but the open ones answers 401
  /// The token workers on other machines send (Authorization: Bearer) to the worker routes
  /// (worker_file_api.hpp); empty: those routes answer 401.
  std::string worker_token{};
  comfyui::log_sink log{};  ///< gets a record per request answered (request_log.hpp); called on the store threads
  event_feed_options events{};  ///< the one reader of the store's event log (event_feed.hpp)
  event_stream_limits streams{};  ///< each client's event stream (event_stream.hpp)
  /// The pages and the files they load (web_pages.hpp); empty: no pages, only the API.
  std::vector<web_file> pages{};
  /// The static folder of ComfyUI's web UI, served to each participant at /user/<name>/ in
  /// place of the participant's page, which moves to /user/<name>/comfyq/; empty: none.
  std::filesystem::path comfyui_frontend{};
  /// Workflows every participant's ComfyUI lists, read-only, under workflows/workshop/; empty: none.
  std::filesystem::path workshop_workflows{};
  store::clock now = store::system_now;  ///< the store's clock: the time the dashboard's reports are for
};

class server {
 public:
  server(store::contract& store, server_options options)
      : store_(store),
        options_(std::move(options)),
        positions_(store),
        feed_(store, options_.events, &positions_),
        store_pool_(options_.store_threads),
        views_(store, &progress_),
        jobs_(store, views_),
        admin_(store, views_),
        files_(store, options_.files, options_.idle_timeout),
        worker_files_(store, options_.files, options_.idle_timeout),
        dashboard_(store, usage_, errors_, options_.now, !options_.comfyui_frontend.empty()),
        pages_(options_.pages, !options_.comfyui_frontend.empty()),
        comfyui_(store, options_.files, files_, options_.max_body_bytes,
                 {.store = store, .feed = feed_, .store_pool = store_pool_, .progress = progress_, .limits = options_.streams},
                 [this](const std::shared_ptr<comfyui_socket>& socket) {
                   keep_stream(socket);
                   socket->run([this](int change) { stream_clients_ += change; });
                 },
                 {.frontend = options_.comfyui_frontend,
                  .workshop = options_.workshop_workflows,
                  .pages = options_.pages,
                  .stall_limit = options_.idle_timeout}) {
    routes_.add(http::verb::get, "/healthz", access::everyone,
                [](const request_context& c) { return json_response(c.req, http::status::ok, {{"status", "ok"}}); });
    routes_.add(http::verb::get, "/readyz", access::everyone, [this](const request_context& c) { return ready(c); });
    routes_.add(http::verb::get, "/metrics", access::everyone, [this](const request_context& c) { return scrape(c); });
    jobs_.add_routes(routes_);
    admin_.add_routes(routes_);
    files_.add_routes(routes_);
    worker_files_.add_routes(routes_);
    dashboard_.add_routes(routes_);
    pages_.add_routes(routes_);
    comfyui_.add_routes(routes_);
    routes_.add_stream(http::verb::get, "/api/v1/events", access::user,
                       [this](const request_context& c) { return open_stream(c); });
    session_.answer = [this](const request& req, const boost::asio::ip::address& peer) { return answer(req, peer); };
    session_.answer_pool = &store_pool_;
    session_.max_body_bytes = options_.max_body_bytes;
    session_.idle_timeout = options_.idle_timeout;
    session_.in_flight = [this](int change) { in_flight_ += change; };
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server() { stop(); }

  /// Listens and serves on the I/O threads. Throws invalid_input naming "listen" when the
  /// address is not one or the port cannot be had.
  void start() {
    boost::system::error_code ec;
    const boost::asio::ip::address address = boost::asio::ip::make_address(options_.host, ec);
    if (ec) throw invalid_input("listen", "'" + options_.host + "' is not an IP address; use e.g. 127.0.0.1 or 0.0.0.0");
    const boost::asio::ip::tcp::endpoint endpoint{address, options_.port};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.close();
      throw invalid_input("listen", "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (" +
                                        ec.message() + "); choose a free port or stop what listens there");
    }
    // Subscribed before the feed starts: its first read, from the oldest event the log keeps,
    // tells the boards the progress of the jobs that already run, and the usage and errors of
    // the time before this server started.
    boards_subscription_ = feed_.subscribe("", [this](const std::vector<store::logged_event>& batch) {
      progress_.observe(batch);
      usage_.observe(batch);
      errors_.observe(batch);
    }).handle;
    // Likewise the metrics, which learn from it when the jobs that wait or run began, but count
    // only what happens from now on (metrics.hpp).
    try {
      metrics_.count_after(store_.last_event_id());
    } catch (const comfyq::error&) {
      // The store does not answer yet: the metrics count what the kept log holds too.
    }
    metrics_subscription_ = feed_.subscribe("", [this](const std::vector<store::logged_event>& batch) {
      metrics_.observe(batch);
    }).handle;
    feed_.start();
    accept();
    for (unsigned i = 0; i < std::max(1u, options_.io_threads); ++i) io_threads_.emplace_back([this] { io_.run(); });
  }

  /// The port it listens on (the one chosen for port 0).
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  /// Stops accepting, lets the requests in flight finish (up to stop_grace), ends the event
  /// streams, closes every connection. Idempotent.
  void stop() {
    if (io_threads_.empty()) return;
    boost::asio::post(acceptor_.get_executor(), [this] { acceptor_.close(); });  // not during an accept
    const auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    end_streams(deadline);
    feed_.stop();
    work_.reset();
    io_.stop();
    for (std::thread& t : io_threads_) t.join();
    io_threads_.clear();
    store_pool_.stop();
    store_pool_.join();
  }

  /// How many event streams are open now.
  std::size_t stream_clients() const noexcept { return stream_clients_.load(); }

  /// The routes it serves (docs/openapi.json lists the same).
  const std::vector<router::route>& routes() const noexcept { return routes_.routes(); }

  /// The answer to one request: routed, authenticated, handled; a refusal as its JSON error;
  /// on a stream route, the stream that takes the connection over. Carries the request's id
  /// (X-Request-Id) and is logged with it.
  reply answer(const request& req, const boost::asio::ip::address& peer) {
    const auto started = std::chrono::steady_clock::now();
    answered_request done{.id = request_id_of(req), .req = &req, .peer = peer.to_string()};
    stream_handoff handoff;
    response res = [&] {
      try {
        std::string_view target = view(req.target());
        const std::size_t question = target.find('?');
        router::match m = routes_.find(req.method(), target.substr(0, question));
        identity who;
        if (m.found->access == access::worker) {
          authenticate_worker(req);
        } else if (m.found->access != access::everyone) {
          who = authenticate(req, peer, m.found->access);
        }
        request_context context{req, peer, std::move(who), std::move(m.params),
                                question == std::string_view::npos ? std::string_view() : target.substr(question + 1)};
        done.user = context.who.user;
        if (m.found->stream) {
          handoff = m.found->stream(context);
          return response{http::status::ok, req.version()};
        }
        return m.found->handle(context);
      } catch (const api_error& e) {
        return error_response(req, e);
      } catch (const comfyq::error& e) {
        return error_response(req, to_api_error(e));
      } catch (const std::exception& e) {
        done.cause = e.what();
        return error_response(req, api_error(http::status::internal_server_error, "internal",
                                             "the server could not answer this request; its log has the details "
                                             "under request id " + done.id));
      }
    }();
    res.set(request_id_header, done.id);
    done.status = res.result_int();
    done.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    if (options_.log) options_.log(done.record());
    return {std::move(res), std::move(handoff)};
  }

 private:
  identity authenticate(const request& req, const boost::asio::ip::address& peer, access needed) const {
    if (!options_.identify) {
      throw api_error(http::status::unauthorized, "unauthorized", "this server has no way to authenticate users");
    }
    std::variant<identity, api_error> who = options_.identify(req, peer);
    if (const api_error* refusal = std::get_if<api_error>(&who)) throw *refusal;
    identity& id = std::get<identity>(who);
    if (needed == access::admin && !id.admin) {
      throw api_error(http::status::forbidden, "forbidden", "this is for admins; ask the workshop's instructor");
    }
    return id;
  }

  // A worker sends the token it was given with --files-token; a user's credentials are no token.
  void authenticate_worker(const request& req) const {
    if (options_.worker_token.empty()) {
      throw api_error(http::status::unauthorized, "unauthorized",
                      "this server has no worker token, so it takes no remote workers; start it with one "
                      "(comfyq-server serve makes <data>/worker-token)");
    }
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view given = view(req[http::field::authorization]);
    if (!given.starts_with(scheme) || !detail::equal_in_constant_time(given.substr(scheme.size()), options_.worker_token)) {
      throw api_error(http::status::unauthorized, "unauthorized",
                      "this is for workers: send the server's worker token (its <data>/worker-token) as "
                      "\"Authorization: Bearer <token>\", which comfyq-worker does with --files-token")
          .with_header(http::field::www_authenticate, "Bearer realm=\"comfyq-worker\"");
    }
  }

  // GET /api/v1/events: the events the user may see, from the one after Last-Event-ID (or
  // ?after=, for clients that cannot set headers, and WebSockets), or from now on without one;
  // as Server-Sent Events, or WebSocket messages when the request asks for the upgrade.
  stream_handoff open_stream(const request_context& c) {
    const query_parameters params(c.query, {"after"});
    std::string last_event_id = params.get("after").value_or(std::string(view(c.req["Last-Event-ID"])));
    if (boost::beast::websocket::is_upgrade(c.req)) {
      return [this, who = c.who, last_event_id = std::move(last_event_id), upgrade = c.req](
                 boost::beast::tcp_stream&& connection) mutable {
        start_stream(websocket_transport(std::move(connection), std::move(upgrade), options_.streams.keep_alive), who,
                     last_event_id);
      };
    }
    return [this, who = c.who, last_event_id = std::move(last_event_id)](boost::beast::tcp_stream&& connection) {
      start_stream(sse_transport(std::move(connection)), who, last_event_id);
    };
  }

  template <class Transport>
  void start_stream(Transport transport, const identity& who, const std::string& last_event_id) {
    auto stream = std::make_shared<event_stream<Transport>>(std::move(transport), who, options_.streams);
    keep_stream(stream);
    stream->run(feed_, last_event_id, [this](int change) { stream_clients_ += change; });
  }

  // Keeps a stream to end when the server stops.
  void keep_stream(const std::shared_ptr<closable_stream>& stream) {
    const std::lock_guard lock(streams_mutex_);
    std::erase_if(streams_, [](const std::weak_ptr<closable_stream>& s) { return s.expired(); });
    streams_.push_back(stream);
  }

  // Ends every open stream, and waits (until `deadline` at most) for them to be gone.
  void end_streams(std::chrono::steady_clock::time_point deadline) {
    {
      const std::lock_guard lock(streams_mutex_);
      for (const auto& weak : streams_) {
        if (auto stream = weak.lock()) stream->close();
      }
      streams_.clear();
    }
    while (stream_clients_ > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  response ready(const request_context& c) {
    try {
      store_.last_event_id();
      return json_response(c.req, http::status::ok, {{"status", "ready"}});
    } catch (const comfyq::error& e) {
      return json_response(c.req, http::status::service_unavailable, {{"status", "store unreachable"}, {"reason", e.what()}});
    }
  }

  // GET /metrics: on the store's pool like every route, as the snapshot may wait on Redis.
  response scrape(const request_context& c) {
    response res{http::status::ok, c.req.version()};
    res.set(http::field::content_type, metrics_content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(c.req.keep_alive());
    res.body() = metrics_.scrape(store_.snapshot(), stream_clients());
    res.prepare_payload();
    return res;
  }

  void accept() {
    acceptor_.async_accept(boost::asio::make_strand(io_), [this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (!ec) std::make_shared<http_session>(std::move(socket), session_)->run();
      if (acceptor_.is_open()) accept();
    });
  }

  store::contract& store_;
  server_options options_;
  queue_positions positions_;  // before feed_, which derives events with it
  event_feed feed_;  // before io_: the streams that io_'s handlers hold let go of it first
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  // On a strand: an accept's completion (which starts the next accept) and stop()'s close run on
  // whichever I/O thread is free, and must not run at once.
  boost::asio::ip::tcp::acceptor acceptor_{boost::asio::make_strand(io_)};
  std::vector<std::thread> io_threads_;
  boost::asio::thread_pool store_pool_;
  std::atomic<int> in_flight_{0};
  std::mutex streams_mutex_;
  std::vector<std::weak_ptr<closable_stream>> streams_;
  std::atomic<std::size_t> stream_clients_{0};
  session_settings session_;
  router routes_;
  progress_board progress_;
  usage_history usage_;
  recent_errors errors_;
  std::unique_ptr<event_feed::subscription> boards_subscription_;  ///< progress_, usage_ and errors_
  server_metrics metrics_;
  std::unique_ptr<event_feed::subscription> metrics_subscription_;
  job_views views_;
  job_api jobs_;
  admin_api admin_;
  file_api files_;
  worker_file_api worker_files_;
  dashboard_api dashboard_;
  web_pages pages_;
  comfyui_api comfyui_;
};

}  // namespace comfyq::server
