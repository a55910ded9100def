// GET /api/v1/events over a real server: a participant's stream carries its own jobs' events
// and no one else's, an admin's every event; a client that comes back with Last-Event-ID gets
// what it missed; one that does not read is dropped; stop() ends every stream.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api_server.hpp"
#include "sse_client.hpp"

namespace http = boost::beast::http;
using comfyq::testing::running_server;
using comfyq::testing::sse_client;
using namespace std::chrono_literals;

namespace {

sse_client events_of(running_server& s, const std::string& user, const std::string& last_event_id = "") {
  std::vector<std::pair<std::string, std::string>> headers{{"X-Test-User", user}};
  if (!last_event_id.empty()) headers.emplace_back("Last-Event-ID", last_event_id);
  return sse_client(s.web.port(), "/api/v1/events", headers);
}

// The id of the event a submission of alice's is logged as, as a stream of hers saw it before
// she left.
std::string id_seen_by_a_client_that_leaves(running_server& s) {
  sse_client first = events_of(s, "alice");
  s.wait_for_streams(1);
  s.submitted("alice");
  const auto seen = first.next_logged();
  REQUIRE(seen);
  return seen->id;
}


}  // namespace

TEST_CASE("a participant's event stream has its own jobs' events only, an admin's has everyone's", "[server][events]") {
  running_server s;
  sse_client alice = events_of(s, "alice");
  sse_client admin = events_of(s, "admin");
  CHECK(alice.head().starts_with("HTTP/1.1 200"));
  CHECK(alice.head().find("text/event-stream") != std::string::npos);
  s.wait_for_streams(2);

  const std::string bobs = s.submitted("bob");
  const std::string alices = s.submitted("alice");
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + alices + "/cancel", "alice").status == 200);

  const auto first = alice.next_logged();
  REQUIRE(first);
  CHECK(first->event == "submitted");
  CHECK(nlohmann::json::parse(first->data).at("job") == alices);
  const auto second = alice.next_logged();
  REQUIRE(second);
  CHECK(second->event == "cancelled");
  CHECK_FALSE(alice.next_logged(300ms));  // bob's submission never reaches alice

  const auto all_first = admin.next_logged();
  REQUIRE(all_first);
  CHECK(nlohmann::json::parse(all_first->data).at("job") == bobs);
}

TEST_CASE("a client back with Last-Event-ID gets the events it missed, then the new ones", "[server][events]") {
  running_server s;
  const std::string last_seen = id_seen_by_a_client_that_leaves(s);
  const std::string missed = s.submitted("alice");
  sse_client again = events_of(s, "alice", last_seen);
  const auto caught_up = again.next_logged();  // once the backlog is out, the stream is subscribed
  REQUIRE(caught_up);
  CHECK(caught_up->event == "submitted");
  CHECK(nlohmann::json::parse(caught_up->data).at("job") == missed);
  const std::string later = s.submitted("alice");
  const auto live = again.next_logged();
  REQUIRE(live);
  CHECK(nlohmann::json::parse(live->data).at("job") == later);
}

TEST_CASE("a client back after a restart on a fresh memory store gets the new run's events, not silence",
          "[server][events]") {
  std::string last_seen;
  {
    running_server before;
    last_seen = id_seen_by_a_client_that_leaves(before);
  }
  std::this_thread::sleep_for(5ms);  // the new run's ids start from its clock at start
  running_server after;
  sse_client again = events_of(after, "alice", last_seen);
  after.wait_for_streams(1);
  const std::string new_job = after.submitted("alice");
  const auto arrived = again.next_logged();
  REQUIRE(arrived);
  CHECK(nlohmann::json::parse(arrived->data).at("job") == new_job);
}

TEST_CASE("a participant's stream gets its jobs' queue positions as they change, and no one else's",
          "[server][events][positions]") {
  running_server s;
  sse_client alice = events_of(s, "alice");
  s.wait_for_streams(1);
  const std::string bobs = s.submitted("bob");
  const std::string alices = s.submitted("alice");

  // Every frame alice gets is about her own job; the positions say it waits behind bob's.
  const auto position_of_alices = [&] {
    while (const auto frame = alice.next()) {
      const nlohmann::json data = nlohmann::json::parse(frame->data);
      REQUIRE(data.at("job") == alices);
      REQUIRE(data.at("tenant") == "alice");
      if (frame->event == "position_changed") {
        CHECK(frame->id.empty());  // derived from the queue, not a logged event to resume from
        return data.at("data");
      }
    }
    FAIL("no position came");
    return nlohmann::json();
  };
  const nlohmann::json waiting = position_of_alices();
  CHECK(waiting.at("position") == 2);
  CHECK(waiting.at("queued") == 2);

  // Bob's job starts: alice's moves up.
  const auto lease = s.queue.lease("gpu0");
  REQUIRE(lease);
  REQUIRE(lease->job_id == bobs);
  const nlohmann::json next_up = position_of_alices();
  CHECK(next_up.at("position") == 1);
  CHECK(next_up.at("queued") == 1);
  CHECK(next_up.contains("eta_ms"));  // a worker is up now: the queue has an expected start

  // A stream that opens now starts with the job's current place.
  sse_client later = events_of(s, "alice");
  const auto first = later.next();
  REQUIRE(first);
  CHECK(first->event == "position_changed");
  CHECK(nlohmann::json::parse(first->data).at("data").at("position") == 1);

  // The job view says the same.
  CHECK(nlohmann::json::parse(s.call(http::verb::get, "/api/v1/jobs/" + alices, "alice").body).at("position") == 1);
}

TEST_CASE("an event stream needs a user, and names a wrong parameter", "[server][events]") {
  running_server s;
  CHECK(s.call(http::verb::get, "/api/v1/events", "").status == 401);
  CHECK(comfyq::testing::refusal(s.call(http::verb::get, "/api/v1/events?since=1", "alice"), 422).at("field") == "since");
}

TEST_CASE("a client that does not read its stream is dropped, and stop() ends the streams of the others",
          "[server][events]") {
  comfyq::store::memory queue;
  comfyq::server::server web(queue, {.port = 0,
                                     .identify = comfyq::testing::users_by_test_header(),
                                     .streams = {.max_pending_bytes = 64 * 1024}});
  web.start();
  sse_client reader(web.port(), "/api/v1/events", {{"X-Test-User", "admin"}});
  sse_client sleeper(web.port(), "/api/v1/events", {{"X-Test-User", "admin"}});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (web.stream_clients() != 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  REQUIRE(web.stream_clients() == 2);

  // Progress events of 16 KiB each, far more than the socket buffers and the 64 KiB allowed
  // to wait: the client that reads keeps up, the one that does not falls behind and is dropped.
  const std::string id = queue.submit({.tenant = "alice", .workflow = "{}"});
  const auto lease = queue.lease("w1");
  REQUIRE(lease);
  const nlohmann::json big{{"node", "3"}, {"text", std::string(16 * 1024, 'x')}};
  // The reader takes each frame before the next event: it never falls behind.
  REQUIRE(reader.next_logged());  // the submission
  REQUIRE(reader.next_logged());  // the lease
  for (int n = 0; n < 2000 && web.stream_clients() == 2; ++n) {
    queue.report_progress(id, lease->token, big);
    REQUIRE(reader.next_logged());
  }
  CHECK(web.stream_clients() == 1);

  web.stop();
  CHECK(web.stream_clients() == 0);
  CHECK(reader.ended());
}
