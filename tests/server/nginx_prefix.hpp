#pragma once
// A private nginx prefix for the site comfyq-server nginx-config prints: a throwaway
// self-signed certificate for localhost and 127.0.0.1, two participants and an admin made by comfyq-server init, and an
// nginx.conf that includes site.conf and keeps every file nginx writes inside the prefix. A test that cannot find nginx
// or openssl fails, saying which package to install.

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "server/comfyq_server.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

namespace comfyq::testing {

/// Writes a throwaway self-signed certificate for localhost and 127.0.0.1 to `cert`, its key to
/// `key`, as a workshop might make its own; a client verifies it when it trusts `cert`.
inline void make_throwaway_certificate(const std::string& key, const std::string& cert) {
  const std::string openssl = find_program("openssl");
  INFO("openssl makes the test's certificate: run scripts/install-deps");
  REQUIRE_FALSE(openssl.empty());
  const program_result certificate =
      run_program(openssl, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert});
  INFO(certificate.err);
  REQUIRE(certificate.exit_code == 0);
}

class nginx_prefix {
 public:
  nginx_prefix() {
    make_throwaway_certificate(path("key.pem"), path("cert.pem"));
    const program_result init = run_comfyq_server({"init", "--users", "2", "--data", path("data")});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
    std::filesystem::create_directories(folder_.path() / "temp");
    std::ofstream(folder_.path() / "nginx.conf") << "pid nginx.pid;\n"
                                                    "error_log stderr;\n"
                                                    "events {}\n"
                                                    "http {\n"
                                                    "    access_log off;\n"
                                                    "    client_body_temp_path temp/body;\n"
                                                    "    proxy_temp_path temp/proxy;\n"
                                                    "    fastcgi_temp_path temp/fastcgi;\n"
                                                    "    uwsgi_temp_path temp/uwsgi;\n"
                                                    "    scgi_temp_path temp/scgi;\n"
                                                    "    include site.conf;\n"
                                                    "}\n";
  }

  std::string path(const std::string& name) const { return (folder_.path() / name).string(); }

  /// The nginx-config flags for this prefix's certificate and htpasswd, HTTPS on `listen_port`.
  std::vector<std::string> site_flags(unsigned short listen_port, unsigned short upstream_port) const {
    return {"nginx-config",
            "--server-name",
            "localhost",
            "--cert",
            path("cert.pem"),
            "--key",
            path("key.pem"),
            "--upstream",
            "127.0.0.1:" + std::to_string(upstream_port),
            "--htpasswd",
            path("data/htpasswd"),
            "--listen-port",
            std::to_string(listen_port)};
  }

  /// Writes site.conf as `comfyq-server nginx-config` prints it for `flags`.
  void write_site(std::vector<std::string> flags) const {
    const program_result site = run_comfyq_server(std::move(flags));
    INFO(site.err);
    REQUIRE(site.exit_code == 0);
    std::ofstream(folder_.path() / "site.conf") << site.out;
  }

  /// The nginx program, or a failed test saying how to install it.
  static std::string nginx() {
    const std::string found = find_program("nginx");
    INFO("nginx (Debian package nginx-light) runs the site: run scripts/install-deps");
    REQUIRE_FALSE(found.empty());
    return found;
  }

  /// nginx's arguments to use this prefix, its errors on standard error.
  std::vector<std::string> nginx_arguments() const {
    return {"-p", folder_.path().string() + "/", "-c", "nginx.conf", "-e", "stderr"};
  }

 private:
  scratch_folder folder_;
};

}  // namespace comfyq::testing
