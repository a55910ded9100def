// A worker's files on comfyq-server, from another machine: inputs read and outputs sent through
// the worker routes, each whole or not at all; a lost lease, a wrong token and a server out of
// reach each said as what they mean for the job.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "comfyq/comfyui/remote_tenant_files.hpp"
#include "comfyq/manifest.hpp"
#include "comfyq/util/sha256.hpp"
#include "server/api_server.hpp"
#include "server/zip_reading.hpp"
#include "support/expect_error.hpp"
#include "support/read_file.hpp"
#include "support/scratch_folder.hpp"

namespace {

using namespace std::chrono_literals;
using comfyq::comfyui::remote_files_options;
using comfyq::comfyui::remote_tenant_files;
using comfyq::test::expect_error;
namespace http = boost::beast::http;

const std::string token = "a-worker-token-of-the-tests";

remote_files_options options_for(std::uint16_t port, const std::filesystem::path& scratch, std::string with = token) {
  remote_files_options options = remote_files_options::from_url("http://127.0.0.1:" + std::to_string(port));
  options.token = std::move(with);
  options.scratch = scratch;
  options.retry_for = 300ms;
  options.backoff = {.initial = 20ms, .max = 100ms, .factor = 2.0};
  return options;
}

// A server with the tenants' files, a remote worker's store on it, and a job of alice's leased.
struct remote_fixture {
  comfyq::testing::scratch_folder scratch;
  comfyq::testing::running_server s{scratch.path() / "files", token};
  comfyq::comfyui::tenant_directory server_files{scratch.path() / "files"};
  remote_tenant_files files{options_for(s.web.port(), scratch.path() / "worker-scratch")};
  std::string id = s.submitted("alice");
  comfyq::lease lease = *s.queue.lease("remote-gpu");

  comfyq::artifact_origin origin(const std::string& name) const { return {"alice", id, lease.attempt, name}; }

  // Writes `bytes` where the worker stages `name`, and keeps it.
  comfyq::manifest_entry keep(const std::string& name, const std::string& bytes) {
    const comfyq::artifact_origin where = origin(name);
    std::ofstream(files.staging_path(where), std::ios::binary) << bytes;
    files.keep_output(where);
    return comfyq::make_manifest_entry(where, {.filename = name, .subfolder = "", .type = "output", .node = "9"}, bytes);
  }
};

}  // namespace

TEST_CASE("outputs sent by a remote worker download from the server as the participant's", "[worker][files][remote_files]") {
  remote_fixture f;
  const std::string image(70'000, 'r');
  const std::string video(5'000, 'v');
  f.files.begin_attempt("alice", f.id, f.lease.attempt);
  const std::vector<comfyq::manifest_entry> manifest{f.keep("out.png", image), f.keep("clips/out.mp4", video)};
  CHECK_FALSE(std::filesystem::exists(f.files.staging_path(f.origin("out.png"))));  // sent, so gone here
  f.files.write_manifest("alice", f.id, f.lease.attempt, manifest);
  f.s.queue.complete(f.id, f.lease.token, manifest);

  const auto zip = f.s.call(http::verb::get, "/api/v1/jobs/" + f.id + "/outputs.zip", "alice");
  REQUIRE(zip.status == 200);
  const auto members = comfyq::testing::unzipped(zip.body, f.scratch.path());
  CHECK(members.at("out.png") == comfyq::util::sha256_hex(image));
  CHECK(members.at("clips/out.mp4") == comfyq::util::sha256_hex(video));
  CHECK(comfyq::testing::read_file(f.server_files.outputs_of("alice", f.id, f.lease.attempt) / "manifest.json")
            .find(comfyq::util::sha256_hex(image)) != std::string::npos);
}

TEST_CASE("a remote worker reads a tenant's inputs, and learns which are missing", "[worker][files][remote_files]") {
  remote_fixture f;
  const std::string cat("\x89PNG\0cat", 8);
  std::filesystem::create_directories(f.server_files.inputs_of("alice") / "photos");
  std::ofstream(f.server_files.inputs_of("alice") / "photos" / "my cat.png", std::ios::binary) << cat;

  CHECK(f.files.read_input("alice", "photos/my cat.png") == cat);
  CHECK_FALSE(f.files.read_input("alice", "photos/dog.png"));
  CHECK_FALSE(f.files.read_input("bob", "photos/my cat.png"));
  CHECK(expect_error<comfyq::invalid_input>([&] { f.files.read_input("alice", "../bob/x.png"); }).field() == "input path");
}

TEST_CASE("an attempt begun twice, or sent after the lease was lost, keeps nothing", "[worker][files][remote_files]") {
  remote_fixture f;
  f.files.begin_attempt("alice", f.id, f.lease.attempt);
  const auto twice = expect_error<std::filesystem::filesystem_error>([&] { f.files.begin_attempt("alice", f.id, f.lease.attempt); });
  CHECK(twice.code() == std::errc::file_exists);

  f.s.queue.release(f.id, f.lease.token);
  CHECK_THROWS_AS(f.keep("out.png", "late"), comfyq::lease_lost);
  CHECK_THROWS_AS(f.files.write_manifest("alice", f.id, f.lease.attempt, {}), comfyq::lease_lost);
  CHECK(std::filesystem::is_empty(f.server_files.outputs_of("alice", f.id, f.lease.attempt)));
}

TEST_CASE("a wrong worker token is said to be wrong, naming the setting", "[worker][files][remote_files]") {
  remote_fixture f;
  remote_tenant_files wrong(options_for(f.s.web.port(), f.scratch.path() / "other", "not-the-token"));
  CHECK(expect_error<comfyq::invalid_input>([&] { wrong.read_input("alice", "cat.png"); }).field() == "files_token");
}

TEST_CASE("a worker's first question finds a wrong token or URL at once, and a server not up yet is only said",
          "[worker][files][remote_files]") {
  remote_fixture f;
  CHECK_FALSE(f.files.check_server());

  remote_tenant_files wrong_token(options_for(f.s.web.port(), f.scratch.path() / "token", "not-the-token"));
  CHECK(expect_error<comfyq::invalid_input>([&] { (void)wrong_token.check_server(); }).field() == "files_token");

  remote_files_options under_a_prefix =
      remote_files_options::from_url("http://127.0.0.1:" + std::to_string(f.s.web.port()) + "/comfyq");
  under_a_prefix.token = token;
  under_a_prefix.scratch = f.scratch.path() / "prefix";
  remote_tenant_files wrong_url(under_a_prefix);
  const auto no_routes = expect_error<comfyq::invalid_input>([&] { (void)wrong_url.check_server(); });
  CHECK(no_routes.field() == "files_url");
  CHECK_THAT(std::string(no_routes.what()), Catch::Contains("404"));

  std::uint16_t closed_port = 0;
  {
    comfyq::testing::running_server gone;
    closed_port = gone.web.port();
  }
  remote_tenant_files not_up(options_for(closed_port, f.scratch.path() / "closed"));
  const std::optional<std::string> why = not_up.check_server();
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("cannot connect"));
}

TEST_CASE("a server without files answers a worker's first question 503", "[worker][files][remote_files]") {
  comfyq::testing::scratch_folder scratch;
  comfyq::testing::running_server no_files({}, token);
  remote_tenant_files files(options_for(no_files.web.port(), scratch.path()));
  const std::optional<std::string> why = files.check_server();
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("503") && Catch::Contains("keeps no files"));
}

TEST_CASE("a files server out of reach is tried again, then said to be out of reach", "[worker][files][remote_files]") {
  comfyq::testing::scratch_folder scratch;
  std::uint16_t closed_port = 0;
  {
    comfyq::testing::running_server gone;
    closed_port = gone.web.port();
  }
  remote_tenant_files files(options_for(closed_port, scratch.path()));
  const auto started = std::chrono::steady_clock::now();
  const auto e = expect_error<comfyq::comfyui::detail::files_server_unreachable>([&] { files.read_input("alice", "cat.png"); });
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK_FALSE(e.request_sent());
  CHECK_THAT(std::string(e.what()), Catch::Contains("--files-url"));
}

TEST_CASE("an upload cut off mid-body leaves nothing on the server", "[worker][files][remote_files]") {
  remote_fixture f;
  f.files.begin_attempt("alice", f.id, f.lease.attempt);
  const std::string half(50'000, 'h');
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), f.s.web.port()});
    const std::string head = "PUT /api/v1/worker/outputs/alice/" + f.id + "/" + std::to_string(f.lease.attempt) +
                             "/files/out.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                             "\r\nX-Content-SHA256: " + comfyq::util::sha256_hex(half + half) +
                             "\r\nContent-Length: " + std::to_string(2 * half.size()) + "\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(head + half));
  }  // the worker dies here, half of its file sent
  std::this_thread::sleep_for(200ms);
  CHECK(std::filesystem::is_empty(f.server_files.outputs_of("alice", f.id, f.lease.attempt)));
  const auto partial = f.server_files.root() / "alice" / ".partial";
  CHECK((!std::filesystem::exists(partial) || std::filesystem::is_empty(partial)));
}

TEST_CASE("the files server's URL is http or https, with or without a prefix", "[worker][files][remote_files]") {
  const remote_files_options behind_nginx = remote_files_options::from_url("http://gpu-host.lan/comfyq/");
  CHECK(behind_nginx.host == "gpu-host.lan");
  CHECK(behind_nginx.port == 80);
  CHECK(behind_nginx.prefix == "/comfyq");
  CHECK_FALSE(behind_nginx.https);
  CHECK(remote_files_options::from_url("http://10.0.0.5:8080").url() == "http://10.0.0.5:8080");

  const remote_files_options with_tls = remote_files_options::from_url("https://workshop.example/comfyq/");
  CHECK(with_tls.https);
  CHECK(with_tls.host == "workshop.example");
  CHECK(with_tls.port == 443);
  CHECK(with_tls.prefix == "/comfyq");
  CHECK(with_tls.url() == "https://workshop.example:443/comfyq");
  CHECK(remote_files_options::from_url(with_tls.url()).url() == with_tls.url());
  CHECK(remote_files_options::from_url("https://10.0.0.5:8443").port == 8443);

  for (const char* wrong : {"ftp://10.0.0.5", "10.0.0.5:8080", "http://:8080", "https://:443", "http://host:0",
                            "https://host:70000", "http://host/x?y", "https://host/x#y"}) {
    INFO(wrong);
    CHECK(expect_error<comfyq::invalid_input>([&] { remote_files_options::from_url(wrong, "files_url"); }).field() ==
          "files_url");
  }
  CHECK_THAT(expect_error<comfyq::invalid_input>([] { remote_files_options::from_url("ftp://x"); }).what(),
             Catch::Contains("https://"));
}

TEST_CASE("a files_ca that cannot be read, or holds no certificate, is refused before any call", "[worker][files][remote_files]") {
  comfyq::testing::scratch_folder scratch;
  remote_files_options options = remote_files_options::from_url("https://10.0.0.5");
  options.token = token;
  options.scratch = scratch.path() / "worker-scratch";
  options.validate();  // the system's CAs

  for (const std::filesystem::path& unreadable : {scratch.path() / "missing.pem", scratch.path()}) {
    INFO(unreadable);
    options.ca_file = unreadable;
    const auto refused = expect_error<comfyq::invalid_input>([&] { options.validate(); });
    CHECK(refused.field() == "files_ca");
    CHECK_THAT(refused.what(), Catch::Contains(unreadable.string()));
  }

  options.ca_file = scratch.path() / "not-a-certificate.pem";
  std::ofstream(options.ca_file) << "not a certificate\n";
  options.validate();  // readable: what it holds is the TLS client's to judge
  CHECK(expect_error<comfyq::invalid_input>([&] { remote_tenant_files{options}; }).field() == "files_ca");

  remote_files_options plain = options_for(1, scratch.path());
  plain.ca_file = options.ca_file;
  CHECK_THAT(expect_error<comfyq::invalid_input>([&] { plain.validate(); }).what(), Catch::Contains("https://"));
}
