// GET /api/v1/events as a WebSocket: the same events as the SSE stream, a JSON message each with
// its id; a client back with ?after=<the last id> gets what it missed; stop() ends the stream.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api_server.hpp"
#include "test_websocket.hpp"

namespace http = boost::beast::http;
using comfyq::testing::running_server;
using namespace std::chrono_literals;

namespace {

// A WebSocket client of /api/v1/events, each read bounded.
class events_socket {
 public:
  events_socket(std::uint16_t port, const std::string& user, const std::string& target = "/api/v1/events")
      : socket_(port, user, target) {}

  /// The next message that is not a queue position (as sse_client::next_logged).
  std::optional<nlohmann::json> next_logged(std::chrono::milliseconds timeout = 10s) {
    while (std::optional<comfyq::testing::test_websocket::message> message = socket_.next(timeout)) {
      nlohmann::json event = nlohmann::json::parse(message->bytes);
      if (event.value("type", "") != "position_changed") return event;
    }
    return std::nullopt;
  }

 private:
  comfyq::testing::test_websocket socket_;
};

}  // namespace

TEST_CASE("a participant's WebSocket carries its own jobs' events with their ids, an admin's everyone's",
          "[server][events]") {
  running_server s;
  events_socket alice(s.web.port(), "alice");
  events_socket admin(s.web.port(), "admin");
  s.wait_for_streams(2);

  const std::string bobs = s.submitted("bob");
  const std::string alices = s.submitted("alice");
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + alices + "/cancel", "alice").status == 200);

  const auto first = alice.next_logged();
  REQUIRE(first);
  CHECK(first->at("type") == "submitted");
  CHECK(first->at("job") == alices);
  CHECK_FALSE(first->at("id").get<std::string>().empty());
  const auto second = alice.next_logged();
  REQUIRE(second);
  CHECK(second->at("type") == "cancelled");

  const auto all_first = admin.next_logged();
  REQUIRE(all_first);
  CHECK(all_first->at("job") == bobs);
  CHECK_FALSE(alice.next_logged(300ms));  // bob's submission never reaches alice
}

TEST_CASE("a WebSocket back with ?after= the last id gets the events it missed, then the new ones", "[server][events]") {
  running_server s;
  std::string last_seen;
  {
    events_socket first(s.web.port(), "alice");
    s.wait_for_streams(1);
    s.submitted("alice");
    const auto seen = first.next_logged();
    REQUIRE(seen);
    last_seen = seen->at("id");
  }
  const std::string missed = s.submitted("alice");
  events_socket again(s.web.port(), "alice", "/api/v1/events?after=" + last_seen);
  const auto caught_up = again.next_logged();
  REQUIRE(caught_up);
  CHECK(caught_up->at("job") == missed);
  const std::string later = s.submitted("alice");
  const auto next = again.next_logged();
  REQUIRE(next);
  CHECK(next->at("job") == later);
}

TEST_CASE("stopping the server ends its WebSocket streams", "[server][events]") {
  running_server s;
  events_socket alice(s.web.port(), "alice");
  s.wait_for_streams(1);
  std::thread stopper([&] { s.web.stop(); });
  CHECK_FALSE(alice.next_logged(10s));  // the stream ended, well before the wait's end
  stopper.join();
  CHECK(s.web.stream_clients() == 0);
}
