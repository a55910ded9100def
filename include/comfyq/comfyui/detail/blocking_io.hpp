#pragma once
// How comfyq's HTTP clients (of ComfyUI, of the server's files) make blocking calls with
// deadlines. Beast's synchronous calls cannot time out, so each call starts Beast's
// asynchronous operations, every one with a deadline (beast::tcp_stream::expires_after), and
// the calling thread runs the client's own io_context until they complete.

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "comfyq/comfyui/client_options.hpp"

namespace comfyq::comfyui::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

/// Runs `io` until every operation started on it has completed; their deadlines bound the wait.
inline void run_until_done(net::io_context& io) {
  io.restart();
  io.run();
}

/// Connects `stream` to `host`:`port` within `timeout`; the error, if any.
inline beast::error_code connect(net::io_context& io, beast::tcp_stream& stream, const std::string& host,
                                 unsigned short port, std::chrono::milliseconds timeout) {
  beast::error_code failure;
  // The name lookup is the system resolver's (Asio cannot bound it); for the usual 127.0.0.1 or
  // localhost it needs no network.
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host, std::to_string(port), failure);
  if (failure) return failure;
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code error, const tcp::endpoint&) { failure = error; });
  run_until_done(io);
  return failure;
}

/// Connects `stream` to the ComfyUI of `options` within options.connect_timeout; the error, if any.
inline beast::error_code connect(net::io_context& io, beast::tcp_stream& stream, const client_options& options) {
  return connect(io, stream, options.host, options.port, options.connect_timeout);
}

/// Why a call failed, in words; Beast's own text for a deadline ("The socket was timed out")
/// does not say how long it waited.
inline std::string describe(const beast::error_code& error, std::chrono::milliseconds waited) {
  if (error == beast::error::timeout) return "no answer within " + std::to_string(waited.count()) + " ms";
  return error.message();
}

/// The text of comfyui_unavailable: where, what failed, what became of the request, what to check.
inline std::string unavailable_message(const client_options& options, std::string_view failure,
                                       std::string_view consequence) {
  return "ComfyUI at " + options.address() + ": " + std::string(failure) + std::string(consequence) +
         ". Is ComfyUI running and listening on that address? Check the address the worker was given, and "
         "ComfyUI's log.";
}

}  // namespace comfyq::comfyui::detail
