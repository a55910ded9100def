#pragma once
// A server on loopback over the memory store, as the JSON API's tests use it: users name
// themselves in a header ("X-Test-User: alice"; "admin" is the admin), so that a test can act
// as anyone without passwords.

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/server/server.hpp"
#include "comfyq/store/memory.hpp"
#include "support/http_call.hpp"

namespace comfyq::testing {

inline comfyq::server::identifier users_by_test_header() {
  return [](const comfyq::server::request& req, const boost::asio::ip::address&)
             -> std::variant<comfyq::server::identity, comfyq::server::api_error> {
    std::string user(req["X-Test-User"]);
    if (user.empty()) {
      return comfyq::server::api_error(boost::beast::http::status::unauthorized, "unauthorized", "log in");
    }
    return comfyq::server::identity{.user = user, .admin = user == "admin"};
  };
}

/// A workflow the memory store accepts: an image made and saved.
inline const nlohmann::json workflow = {
    {"8", {{"class_type", "EmptyImage"}, {"inputs", {{"width", 64}, {"height", 64}, {"batch_size", 1}, {"color", 0}}}}},
    {"9", {{"class_type", "SaveImage"}, {"inputs", {{"filename_prefix", "out"}, {"images", {"8", 0}}}}}}};

struct running_server {
  comfyq::store::memory queue;
  comfyq::server::server web;
  /// With `files`, the folder of the tenants' files; without, the file routes answer 503. With
  /// `worker_token`, workers on other machines send their outputs there.
  explicit running_server(std::filesystem::path files = {}, std::string worker_token = {})
      : running_server(comfyq::store::memory_options{}, std::move(files), std::move(worker_token)) {}
  /// The same on a queue with `options` (a clock the test moves).
  explicit running_server(comfyq::store::memory_options options, std::filesystem::path files = {},
                          std::string worker_token = {})
      : queue(options),
        web(queue, {.port = 0,
                    .max_body_bytes = 1 << 20,
                    .files = std::move(files),
                    .identify = users_by_test_header(),
                    .worker_token = std::move(worker_token),
                    .now = options.clock}) {
    web.start();
  }

  /// A server with `options`, on a free port, its users named by the test header.
  explicit running_server(comfyq::server::server_options options) : web(queue, for_tests(std::move(options))) {
    web.start();
  }

  static comfyq::server::server_options for_tests(comfyq::server::server_options options) {
    options.port = 0;
    options.max_body_bytes = 1 << 20;
    options.identify = users_by_test_header();
    return options;
  }

  /// Waits until the server counts `n` open event streams (a stream is counted once it is
  /// subscribed); fails the test after 10 s.
  void wait_for_streams(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (web.stream_clients() != n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(web.stream_clients() == n);
  }

  http_answer call(boost::beast::http::verb method, const std::string& target, const std::string& user,
                   const std::string& body = {}, const std::string& type = "application/json") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!user.empty()) headers.emplace_back("X-Test-User", user);
    if (!body.empty()) headers.emplace_back("Content-Type", type);
    return http_call(web.port(), method, target, headers, body);
  }
  http_answer post(const std::string& target, const std::string& user, const std::string& body,
                   const std::string& type = "application/json") {
    return call(boost::beast::http::verb::post, target, user, body, type);
  }
  http_answer submit(const std::string& user, const nlohmann::json& body) {
    return call(boost::beast::http::verb::post, "/api/v1/jobs", user, body.dump());
  }
  /// Submits `workflow` as `user` and returns the new job's id.
  std::string submitted(const std::string& user) {
    const http_answer made = submit(user, {{"workflow", workflow}});
    INFO(made.body);
    REQUIRE(made.status == 201);
    return made.json().at("id");
  }
};

/// The error object of a refusal, after checking its status.
inline nlohmann::json refusal(const http_answer& answer, unsigned status) {
  INFO(answer.body);
  REQUIRE(answer.status == status);
  return answer.json().at("error");
}

}  // namespace comfyq::testing
