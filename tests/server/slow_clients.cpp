// Clients that hold a connection without using it: one that sends half a request and goes
// quiet, one that stops reading a large download. Each is dropped after the idle timeout, and
// the server goes on serving everyone else.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "api_server.hpp"
#include "support/http_call.hpp"
#include "support/scratch_folder.hpp"

namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;

// A server whose idle timeout is 1 s, with a files folder.
struct impatient_server {
  comfyq::testing::scratch_folder scratch;
  comfyq::store::memory queue;
  comfyq::server::server web{queue,
                             {.port = 0,
                              .idle_timeout = 1s,
                              .files = scratch.path() / "files",
                              .identify = comfyq::testing::users_by_test_header()}};
  impatient_server() { web.start(); }

  bool serves() const { return comfyq::testing::http_call(web.port(), http::verb::get, "/healthz").status == 200; }
};

// Everything the server sends until it closes the connection, or 10 s pass.
std::size_t read_until_closed(tcp::socket& socket) {
  std::size_t total = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  char chunk[64 * 1024];
  boost::system::error_code ec;
  while (!ec && std::chrono::steady_clock::now() < deadline) total += socket.read_some(boost::asio::buffer(chunk), ec);
  return total;
}

TEST_CASE("a client that sends half a request and goes quiet is closed after the idle timeout", "[server][slow_clients]") {
  impatient_server s;
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), s.web.port()});
  boost::asio::write(socket, boost::asio::buffer(std::string("GET /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n")));
  const auto started = std::chrono::steady_clock::now();
  read_until_closed(socket);
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited >= 900ms);
  CHECK(waited < 8s);  // closed by the server, not by the test's own limit
  CHECK(s.serves());
}

TEST_CASE("a download whose client stops reading is dropped after the idle timeout", "[server][slow_clients]") {
  impatient_server s;
  const std::filesystem::path big = s.scratch.path() / "files" / "alice" / "inputs" / "big.bin";
  std::filesystem::create_directories(big.parent_path());
  const std::size_t size = std::size_t{64} << 20;  // far more than the sockets' buffers hold
  std::ofstream(big, std::ios::binary) << std::string(size, 'b');

  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.set_option(boost::asio::socket_base::receive_buffer_size(64 * 1024));
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), s.web.port()});
  boost::asio::write(socket, boost::asio::buffer(std::string(
                                 "GET /api/v1/inputs/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test-User: alice\r\n\r\n")));
  std::this_thread::sleep_for(3s);  // reads nothing: the server's writes stall
  CHECK(s.serves());                // others are served meanwhile
  const std::size_t received = read_until_closed(socket);
  CHECK(received > 0);
  CHECK(received < size);  // the server gave up on it rather than wait
}

}  // namespace
