// Every answered request is logged once with its id, which the response carries back; the log
// holds no query string, and an internal error's cause goes to the log, not to the client.
#include <catch2/catch.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_server.hpp"
#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/server/request_log.hpp"

namespace http = boost::beast::http;

namespace {

struct collected_log {
  std::mutex mutex;
  std::vector<comfyq::comfyui::log_record> records;
  comfyq::comfyui::log_sink sink() {
    return [this](const comfyq::comfyui::log_record& r) {
      const std::lock_guard lock(mutex);
      records.push_back(r);
    };
  }
  std::vector<comfyq::comfyui::log_record> taken() {
    const std::lock_guard lock(mutex);
    return records;
  }
};

}  // namespace

TEST_CASE("a response carries its request id, the caller's when it looks like one, and the log has it",
          "[server][log]") {
  collected_log log;
  comfyq::store::memory queue;
  comfyq::server::server web(queue, {.port = 0, .identify = comfyq::testing::users_by_test_header(), .log = log.sink()});
  web.start();

  const auto made = comfyq::testing::http_call(web.port(), http::verb::get, "/api/v1/jobs?state=queued",
                                               {{"X-Test-User", "alice"}});
  const std::string made_id(made.headers["X-Request-Id"]);
  CHECK(made_id.size() == 16);
  const auto given = comfyq::testing::http_call(web.port(), http::verb::get, "/api/v1/jobs/nosuchjob",
                                                {{"X-Test-User", "alice"}, {"X-Request-Id", "nginx-4f2a.7"}});
  CHECK(given.headers["X-Request-Id"] == "nginx-4f2a.7");
  const auto unfit = comfyq::testing::http_call(web.port(), http::verb::get, "/healthz", {{"X-Request-Id", "a b"}});
  CHECK(unfit.headers["X-Request-Id"] != "a b");
  web.stop();

  const auto records = log.taken();
  REQUIRE(records.size() == 3);
  CHECK(records[0].event == "http.request");
  CHECK(records[0].fields.at("request_id") == made_id);
  CHECK(records[0].fields.at("path") == "/api/v1/jobs");  // no query string
  CHECK(records[0].fields.at("status") == 200);
  CHECK(records[0].fields.at("user") == "alice");
  CHECK(records[0].fields.at("method") == "GET");
  CHECK(records[1].fields.at("request_id") == "nginx-4f2a.7");
  CHECK(records[1].fields.at("status") == 404);
  CHECK_FALSE(records[2].fields.contains("user"));
}

TEST_CASE("an internal error tells the client its request id and the log its cause", "[server][log]") {
  collected_log log;
  comfyq::store::memory queue;
  comfyq::server::server web(queue, {.port = 0,
                                     .identify = [](const comfyq::server::request&, const boost::asio::ip::address&)
                                         -> std::variant<comfyq::server::identity, comfyq::server::api_error> {
                                       throw std::runtime_error("the user directory is gone");
                                     },
                                     .log = log.sink()});
  web.start();
  const auto answer = comfyq::testing::http_call(web.port(), http::verb::get, "/api/v1/jobs");
  web.stop();
  CHECK(answer.status == 500);
  CHECK(answer.body.find("the user directory is gone") == std::string::npos);
  const std::string id(answer.headers["X-Request-Id"]);
  CHECK(answer.body.find(id) != std::string::npos);
  const auto records = log.taken();
  REQUIRE(records.size() == 1);
  CHECK(records[0].level == comfyq::comfyui::log_level::error);
  CHECK(records[0].fields.at("cause") == "the user directory is gone");
}
