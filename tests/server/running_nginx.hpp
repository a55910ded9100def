#pragma once
// A real nginx serving the site `comfyq-server nginx-config` prints for a prefix (nginx_prefix.hpp)
// in front of an upstream on loopback, in the foreground as one process (so that killing it
// leaves nothing behind), and curl to send it requests over HTTPS.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/nginx_prefix.hpp"
#include "support/child_process.hpp"
#include "support/program_run.hpp"

namespace comfyq::testing {

/// A port nothing listens on now (the kernel's next ephemeral one).
inline unsigned short free_port() {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(probe);
  return ntohs(address.sin_port);
}

inline bool accepts_connections(unsigned short port) {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool connected = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(probe);
  return connected;
}

/// curl's answer: the HTTP status (0 when none came) and the body.
struct curl_answer {
  int status = 0;
  std::string body;
  std::string errors;
};

/// The curl program, or a failed test saying how to install it.
inline std::string curl_program() {
  const std::string curl = find_program("curl");
  INFO("curl sends the test's requests: run scripts/install-deps");
  REQUIRE_FALSE(curl.empty());
  return curl;
}

class running_nginx {
 public:
  running_nginx(const nginx_prefix& prefix, unsigned short upstream_port)
      : log_(prefix.path("nginx.log")), nginx_(start(prefix, upstream_port, port_, log_)) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!accepts_connections(port_) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO("nginx's log: " << std::ifstream(log_).rdbuf());
    REQUIRE(accepts_connections(port_));
  }

  unsigned short port() const { return port_; }

  /// The site's URL of `path` ("/api/v1/jobs").
  std::string url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port_) + path; }

  /// curl's run of `path` with `more` arguments (--user, --header, --request, --data-binary, ...).
  program_result curl_run(const std::string& path, std::vector<std::string> more) const {
    std::vector<std::string> arguments{"--silent", "--show-error", "--insecure", "--max-time", "30"};
    arguments.insert(arguments.end(), more.begin(), more.end());
    arguments.push_back(url(path));
    return run_program(curl_program(), arguments);
  }

  /// The status and body of `path` with `more` arguments.
  curl_answer curl(const std::string& path, std::vector<std::string> more) const {
    more.insert(more.end(), {"--write-out", "\n%{http_code}"});
    const program_result run = curl_run(path, std::move(more));
    const std::size_t last = run.out.rfind('\n');
    if (last == std::string::npos) return {0, run.out, run.err};
    return {std::stoi(run.out.substr(last + 1)), run.out.substr(0, last), run.err};
  }

 private:
  static child_process start(const nginx_prefix& prefix, unsigned short upstream_port, unsigned short port,
                             const std::string& log) {
    std::vector<std::string> flags = prefix.site_flags(port, upstream_port);
    flags.insert(flags.end(), {"--redirect-port", "0"});
    prefix.write_site(flags);
    std::vector<std::string> arguments = prefix.nginx_arguments();
    arguments.insert(arguments.end(), {"-g", "daemon off; master_process off;"});
    return child_process(nginx_prefix::nginx(), arguments, log);
  }

  unsigned short port_ = free_port();
  std::string log_;
  child_process nginx_;
};

}  // namespace comfyq::testing
