#pragma once
// What the tests of a serving comfyq-server share: the port it prints, the passwords its first
// start hands out, the example workflow, and waiting for a job to get somewhere.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/http_call.hpp"

namespace comfyq::testing {

inline std::string contents(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The password credentials.txt gives `user`.
inline std::string password_of(const std::filesystem::path& credentials, const std::string& user) {
  std::istringstream lines(contents(credentials));
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(user + ":")) return line.substr(user.size() + 1);
  }
  FAIL("no line for " << user << " in " << credentials);
  return {};
}

/// The Authorization header of `user` of the server whose data folder is `data`.
inline std::string login_of(const std::filesystem::path& data, const std::string& user) {
  return basic(user, password_of(data / "credentials.txt", user));
}

/// The port in the first line the server prints: "comfyq-server is listening on http://127.0.0.1:PORT/".
inline std::uint16_t listening_port(child_process& server) {
  const std::string line = server.first_line();
  INFO(line);
  const std::string marker = "http://127.0.0.1:";
  const std::size_t at = line.find(marker);
  REQUIRE(at != std::string::npos);
  return static_cast<std::uint16_t>(std::stoi(line.substr(at + marker.size())));
}

/// Asks for the job until `done` says yes about it, for at most 30 s.
template <class Done>
nlohmann::json wait_for_job(std::uint16_t port, const std::string& id, const std::string& authorization, Done done) {
  namespace http = boost::beast::http;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  nlohmann::json job;
  do {
    const auto answer = http_call(port, http::verb::get, "/api/v1/jobs/" + id, {{"Authorization", authorization}});
    REQUIRE(answer.status == 200);
    job = answer.json();
    if (done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  FAIL("job " << id << " did not get there in 30 s: " << job.dump());
  return job;
}

/// examples/workflows/txt2img.json, which runs on the demo backend.
inline nlohmann::json txt2img() { return nlohmann::json::parse(contents(COMFYQ_EXAMPLE_WORKFLOWS "/txt2img.json")); }

/// A POST /api/v1/jobs of txt2img as the user `authorization` logs in as.
inline http_answer submit_txt2img(std::uint16_t port, const std::string& authorization) {
  namespace http = boost::beast::http;
  return http_call(port, http::verb::post, "/api/v1/jobs",
                   {{"Authorization", authorization}, {"Content-Type", "application/json"}},
                   nlohmann::json{{"workflow", txt2img()}}.dump());
}

}  // namespace comfyq::testing
