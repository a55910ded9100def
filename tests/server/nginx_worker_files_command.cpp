// A worker on another machine reaching comfyq-server through the site `comfyq-server
// nginx-config` prints, over HTTPS, as a workshop runs it: the site's self-signed certificate
// trusted with files_ca (--files-ca), verified with the host the URL names. A certificate the
// worker does not trust is a setting to fix, said at once, never a server to wait for.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/remote_tenant_files.hpp"
#include "comfyq/manifest.hpp"
#include "comfyq/util/sha256.hpp"
#include "server/api_server.hpp"
#include "server/nginx_prefix.hpp"
#include "server/running_nginx.hpp"
#include "support/expect_error.hpp"
#include "support/read_file.hpp"

using comfyq::comfyui::remote_files_options;
using comfyq::comfyui::remote_tenant_files;

namespace {

using namespace std::chrono_literals;

const std::string token_behind_nginx = "a-worker-token-behind-nginx";

// The server with the tenants' files and a worker token, behind nginx on HTTPS.
struct server_behind_nginx {
  comfyq::testing::nginx_prefix prefix;
  comfyq::testing::running_server server{prefix.path("files"), token_behind_nginx};
  comfyq::comfyui::tenant_directory server_files{prefix.path("files")};
  comfyq::testing::running_nginx nginx{prefix, server.web.port()};

  // A remote worker's options for the site at https://`host`:<port>, trusting `ca_file`.
  remote_files_options worker_options(const std::string& host, const std::string& ca_file) const {
    remote_files_options options =
        remote_files_options::from_url("https://" + host + ":" + std::to_string(nginx.port()));
    options.token = token_behind_nginx;
    options.ca_file = ca_file;
    options.scratch = prefix.path("worker-scratch");
    options.retry_for = 300ms;
    options.backoff = {.initial = 20ms, .max = 100ms, .factor = 2.0};
    return options;
  }
};

// The reason `files` refuses to read an input, which must be files_ca's.
std::string untrusted_reason(remote_tenant_files& files) {
  const auto refused = comfyq::test::expect_error<comfyq::invalid_input>([&] { files.read_input("alice", "cat.png"); });
  CHECK(refused.field() == "files_ca");
  return refused.what();
}

}  // namespace

TEST_CASE("through nginx over https, a remote worker trusting the site's certificate reads inputs and sends outputs",
          "[server][nginx_proxy][remote_files]") {
  server_behind_nginx site;
  const std::string cat("\x89PNG\0cat", 8);
  std::filesystem::create_directories(site.server_files.inputs_of("alice") / "photos");
  std::ofstream(site.server_files.inputs_of("alice") / "photos" / "cat.png", std::ios::binary) << cat;

  SECTION("named by its IP address") {
    remote_tenant_files files(site.worker_options("127.0.0.1", site.prefix.path("cert.pem")));
    CHECK(files.read_input("alice", "photos/cat.png") == cat);
    CHECK_FALSE(files.read_input("alice", "photos/dog.png"));

    const std::string id = site.server.submitted("alice");
    const comfyq::lease lease = *site.server.queue.lease("remote-gpu");
    files.begin_attempt("alice", id, lease.attempt);
    const std::string image(200'000, 'i');
    const comfyq::artifact_origin where{"alice", id, lease.attempt, "out.png"};
    std::ofstream(files.staging_path(where), std::ios::binary) << image;
    files.keep_output(where);
    const comfyq::manifest_entry entry = comfyq::make_manifest_entry(
        where, {.filename = "out.png", .subfolder = "", .type = "output", .node = "9"}, image);
    files.write_manifest("alice", id, lease.attempt, {entry});

    const std::filesystem::path kept = site.server_files.outputs_of("alice", id, lease.attempt);
    CHECK(comfyq::testing::read_file(kept / "out.png") == image);
    CHECK_THAT(comfyq::testing::read_file(kept / "manifest.json"), Catch::Contains(comfyq::util::sha256_hex(image)));
  }
  SECTION("named by its host name, which it also sends as the TLS server name") {
    remote_tenant_files files(site.worker_options("localhost", site.prefix.path("cert.pem")));
    CHECK(files.read_input("alice", "photos/cat.png") == cat);
  }
}

TEST_CASE("through nginx over https, a certificate the worker does not trust is refused at once, naming --files-ca",
          "[server][nginx_proxy][remote_files]") {
  server_behind_nginx site;
  const std::string url = "https://127.0.0.1:" + std::to_string(site.nginx.port());

  SECTION("the system's CAs, which never signed the site's certificate") {
    remote_tenant_files files(site.worker_options("127.0.0.1", ""));
    const std::string reason = untrusted_reason(files);
    CHECK_THAT(reason, Catch::Contains("the certificate of " + url + " is not trusted"));
    CHECK_THAT(reason, Catch::Contains("self-signed"));
    CHECK_THAT(reason, Catch::Contains("--files-ca"));
  }
  SECTION("another certificate than the site's") {
    comfyq::testing::make_throwaway_certificate(site.prefix.path("other-key.pem"), site.prefix.path("other.pem"));
    remote_tenant_files files(site.worker_options("127.0.0.1", site.prefix.path("other.pem")));
    const std::string reason = untrusted_reason(files);
    CHECK_THAT(reason, Catch::Contains(url));
    CHECK_THAT(reason, Catch::Contains("--files-ca"));
  }
  SECTION("the site's certificate, reached by an address it is not made out to") {
    remote_tenant_files files(site.worker_options("127.0.0.2", site.prefix.path("cert.pem")));
    CHECK_THAT(untrusted_reason(files), Catch::Contains("it is not made out to 127.0.0.2"));
  }
}
