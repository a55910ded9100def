#pragma once
// The tenants' files on comfyq-server, for a worker on another machine (comfyq-worker
// --files-url): inputs are read from the server's worker routes, outputs written to a local
// scratch folder and sent there one by one, each with its sha256, then the manifest.
//
//     comfyq::comfyui::remote_files_options where = comfyq::comfyui::remote_files_options::from_url(url);
//     where.token = token;                                   // the server's <data>/worker-token
//     where.ca_file = "/etc/comfyq/server.pem";              // https with a self-signed certificate
//     where.scratch = "/var/tmp/comfyq-worker";
//     comfyq::comfyui::remote_tenant_files files(where);
//     comfyq::comfyui::worker worker(queue, comfyui, files, files, {.id = "gpu0"});
//
// A server that cannot be reached, or answers 502, 503 or 504, is tried again for up to
// retry_for; after that the call throws files_server_unreachable, and the job runs again (see
// job_run). An https:// server is spoken to over TLS; one whose certificate is not trusted
// (see remote_files_options::ca_file) throws invalid_input naming files_ca at once. A server
// that says the job runs another attempt now throws lease_lost: another worker owns it. The
// server keeps each file whole or not at all, so a worker killed mid-send leaves nothing
// half-written there.

#include "comfyq/comfyui/detail/files_call.hpp"  // first: it includes <utility> before Asio

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/backoff.hpp"
#include "comfyq/comfyui/detail/url_encoding.hpp"
#include "comfyq/comfyui/remote_files_options.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::comfyui {

class remote_tenant_files final : public input_store, public output_store {
  using clock = std::chrono::steady_clock;
  using verb = boost::beast::http::verb;

 public:
  /// Throws invalid_input for options no worker can use, a ca_file without a certificate
  /// included. Connects to nothing yet.
  explicit remote_tenant_files(remote_files_options options)
      : options_((options.validate(), std::move(options))),
        tls_(options_.https ? std::optional<boost::asio::ssl::context>(detail::tls_client_context(options_))
                            : std::nullopt),
        staging_(options_.scratch),
        random_(std::random_device{}()) {}

  const remote_files_options& options() const noexcept { return options_; }

  std::optional<std::string> read_input(std::string_view tenant, std::string_view path) override {
    validate_id("tenant", tenant);
    const std::string target = "/api/v1/worker/inputs/" + std::string(tenant) + "/" +
                               encoded_path(checked_relative_path(path, "input path", "give a path inside the tenant's inputs"));
    detail::files_answer answer = call({.verb = verb::get, .path = target}, options_.max_input_bytes);
    if (answer.status == 200) return std::move(answer.body);
    if (answer.status == 404) return std::nullopt;
    refuse(answer, "GET " + target);
  }

  /// Asks the server once, as a worker starts, whether it takes this worker's token. Throws
  /// invalid_input naming files_token when it does not, files_url when the URL leads to no
  /// comfyq-server (files_ca for a certificate not trusted); returns why not when the server
  /// cannot be reached now, which the calls of the jobs wait out later.
  std::optional<std::string> check_server() {
    const std::string target = "/api/v1/worker/check";
    detail::files_answer answer;
    try {
      answer = detail::files_call(options_, tls_ ? &*tls_ : nullptr, {.verb = verb::get, .path = target},
                                  max_answer_bytes);
    } catch (const detail::files_server_unreachable& e) {
      return e.what();
    }
    if (answer.status == 200) return std::nullopt;
    if (unavailable(answer.status)) {  // comfyq-server's own reason, or a proxy's page
      return "the files server at " + options_.url() + " answered GET " + target + " with " +
             std::to_string(answer.status) + ": " +
             error_of(answer).value("message", "is the comfyq-server behind the proxy up?");
    }
    if (answer.status == 404) {
      throw invalid_input("files_url", options_.url() + " has no comfyq-server worker routes (GET " + target +
                                           " answered 404); give the address comfyq-server answers at, with the "
                                           "prefix it is served under, if any");
    }
    refuse(answer, "GET " + target);
  }

  /// An attempt begun again after its answer was lost finds the folder it made: that is its own.
  void begin_attempt(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    const std::string target = attempt_path(tenant, job, attempt);
    bool sent_before = false;
    const detail::files_answer answer = call({.verb = verb::post, .path = target}, max_answer_bytes, &sent_before);
    const bool exists = answer.status == 409 && error_of(answer).value("code", "") == "exists";
    if (exists && !sent_before) {
      throw std::filesystem::filesystem_error(
          "the outputs of job '" + std::string(job) + "' attempt " + std::to_string(attempt) +
              " would go into a folder the files server has already; it is kept as it is (another queue may have "
              "used the same job id)",
          options_.url() + target, std::make_error_code(std::errc::file_exists));
    }
    if (answer.status != 201 && !exists) refuse(answer, "POST " + target);
    staging_.discard(tenant, job, attempt);  // what an earlier life of this worker left here
    staging_.begin_attempt(tenant, job, attempt);
  }

  /// A file in the local scratch folder, sent on by keep_output().
  std::filesystem::path staging_path(const artifact_origin& where) override { return staging_.staging_path(where); }

  /// Sends the staged file with its sha256 (the server keeps it only when they match), then
  /// removes it here.
  void keep_output(const artifact_origin& where) override {
    staging_.keep_output(where);  // says so when it was not written
    const std::filesystem::path file = staged(where);
    std::string bytes = read_whole(file);
    const std::string sha256 = util::sha256_hex(bytes);
    const std::string target = attempt_path(where.tenant, where.job, where.attempt) + "/files/" + encoded_path(where.name);
    const detail::files_answer answer =
        call({.verb = verb::put,
              .path = target,
              .body = std::move(bytes),
              .headers = {{"X-Content-SHA256", sha256},
                          {"Content-Type", "application/octet-stream"}}},
             max_answer_bytes);
    if (answer.status != 201) refuse(answer, "PUT " + target);
    std::filesystem::remove(file);
  }

  void write_manifest(std::string_view tenant, std::string_view job, std::uint32_t attempt,
                      const std::vector<manifest_entry>& entries) override {
    const std::string target = attempt_path(tenant, job, attempt) + "/manifest";
    const detail::files_answer answer = call({.verb = verb::put,
                                              .path = target,
                                              .body = nlohmann::json{{"outputs", entries}}.dump(),
                                              .headers = {{"Content-Type", "application/json"}}},
                                             max_answer_bytes);
    if (answer.status != 200) refuse(answer, "PUT " + target);
    staging_.discard(tenant, job, attempt);
  }

  /// The server refuses to forget the attempt whose outputs a succeeded job kept; those stay.
  void discard(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    const std::string target = attempt_path(tenant, job, attempt);
    const detail::files_answer answer = call({.verb = verb::delete_, .path = target}, max_answer_bytes);
    staging_.discard(tenant, job, attempt);
    if (answer.status != 200 && answer.status != 409) refuse(answer, "DELETE " + target);
  }

 private:
  static constexpr std::uint64_t max_answer_bytes = 1 << 20;  // the JSON of an acknowledgement or a refusal

  // The call, tried again while the server cannot be reached or says it is unavailable, for up
  // to retry_for. `sent_before` learns whether an earlier try went out before it failed.
  detail::files_answer call(const detail::files_request& request, std::uint64_t max_body, bool* sent_before = nullptr) {
    const auto deadline = clock::now() + options_.retry_for;
    comfyq::backoff waits(options_.backoff);
    for (;;) {
      try {
        detail::files_answer answer = detail::files_call(options_, tls_ ? &*tls_ : nullptr, request, max_body);
        if (!unavailable(answer.status) || clock::now() >= deadline) return answer;
      } catch (const detail::files_server_unreachable& e) {
        if (sent_before && e.request_sent()) *sent_before = true;
        if (clock::now() >= deadline) throw;
      }
      const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
      std::this_thread::sleep_for(std::min<clock::duration>(waits.next(unit), deadline - clock::now()));
    }
  }

  static bool unavailable(unsigned status) { return status == 502 || status == 503 || status == 504; }

  static nlohmann::json error_of(const detail::files_answer& answer) {
    const nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
    if (body.is_object() && body.contains("error") && body.at("error").is_object()) return body.at("error");
    return nlohmann::json::object();
  }

  // Throws what a refusal means here: a lost lease, a token the server does not take, or a
  // failure that says what the server said.
  [[noreturn]] void refuse(const detail::files_answer& answer, const std::string& what) const {
    const nlohmann::json error = error_of(answer);
    const std::string said = error.value("message", answer.body.substr(0, 300));
    if (answer.status == 409 && error.value("code", "") == "conflict") {
      throw lease_lost("lease", "the files server refused " + what + ": " + said);
    }
    if (answer.status == 401) {
      throw invalid_input("files_token", "the files server at " + options_.url() + " refused it (" + said +
                                             "); give the token in the server's <data>/worker-token");
    }
    throw std::runtime_error("the files server at " + options_.url() + " answered " + what + " with " +
                              std::to_string(answer.status) + ": " + said);
  }

  static std::string attempt_path(std::string_view tenant, std::string_view job, std::uint32_t attempt) {
    validate_id("tenant", tenant);
    validate_id("job", job);
    return "/api/v1/worker/outputs/" + std::string(tenant) + "/" + std::string(job) + "/" + std::to_string(attempt);
  }

  // Each folder of a checked relative path percent-encoded, the '/' between them kept.
  static std::string encoded_path(std::string_view path) {
    std::string out;
    for (std::size_t begin = 0; begin <= path.size();) {
      const std::size_t end = std::min(path.find('/', begin), path.size());
      out += (begin == 0 ? "" : "/") + detail::url_encode(path.substr(begin, end - begin));
      begin = end + 1;
    }
    return out;
  }

  std::filesystem::path staged(const artifact_origin& where) const {
    return staging_.outputs_of(where.tenant, where.job, where.attempt) /
           checked_relative_path(where.name, "output name", "give a path inside the attempt's folder");
  }

  static std::string read_whole(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) throw std::system_error(errno, std::generic_category(), "reading " + file.string());
    return bytes;
  }

  remote_files_options options_;
  std::optional<boost::asio::ssl::context> tls_;  // for an https server: whom it trusts, loaded once
  tenant_directory staging_;  // the scratch folder, laid out as the server's
  std::minstd_rand random_;
};

}  // namespace comfyq::comfyui
