// Stopping a server while clients keep connecting: the I/O threads accept connections right up
// to the moment the listening socket closes, and stop() still returns.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <optional>
#include <thread>

#include "comfyq/server/server.hpp"
#include "comfyq/store/memory.hpp"
#include "support/http_call.hpp"

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using comfyq::testing::http_call;

TEST_CASE("a server stopped while clients keep connecting stops", "[server]") {
  comfyq::store::memory queue;
  for (int round = 0; round < 5; ++round) {
    std::optional<comfyq::server::server> web;
    web.emplace(queue, comfyq::server::server_options{.port = 0, .io_threads = 4, .stop_grace = 2s});
    web->start();
    const std::uint16_t port = web->port();
    std::atomic<bool> stopped{false};
    // Connects again and again until told to stop; counts the answers (Catch2's assertions are
    // for the test's own thread). Once the server stops, calls fail: connecting is refused, or a
    // connection it took before is closed unanswered when the server goes.
    std::future<int> connecting = std::async(std::launch::async, [&] {
      int answered = 0;
      while (!stopped.load()) {
        try {
          if (http_call(port, http::verb::get, "/healthz").status == 200) ++answered;
        } catch (const std::exception&) {
        }
      }
      return answered;
    });
    std::this_thread::sleep_for(100ms);
    web->stop();
    stopped = true;
    web.reset();
    CHECK(connecting.get() > 0);
  }
}
