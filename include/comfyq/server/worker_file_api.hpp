#pragma once
// The tenants' files for workers on other machines (comfyq-worker --files-url): they read a
// job's inputs and send its outputs here, into the server's tenant_directory, as a worker on
// the server's own disk would write them.
//
//   GET    /api/v1/worker/inputs/{tenant}/{path...}                      an input, streamed
//   POST   /api/v1/worker/outputs/{tenant}/{job}/{attempt}               begin the attempt's folder
//   PUT    /api/v1/worker/outputs/{tenant}/{job}/{attempt}/files/{name...}  one output (X-Content-SHA256)
//   PUT    /api/v1/worker/outputs/{tenant}/{job}/{attempt}/manifest      {"outputs": [manifest entries]}
//   DELETE /api/v1/worker/outputs/{tenant}/{job}/{attempt}               forget the attempt
//
// Only a worker calls them, with the server's worker token (access::worker). An attempt's
// files are taken only while the job runs that attempt: a worker that lost its lease gets 409
// and keeps nothing. Each file appears whole, with the sha256 its worker computed, or not at
// all; a manifest is kept only when every file it lists is there as it says.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/detail/synced_file.hpp"
#include "comfyq/server/download.hpp"
#include "comfyq/server/json_body.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::server {

/// The header an output's upload carries its sha256 in (lowercase hex).
inline constexpr const char* content_sha256_header = "X-Content-SHA256";

class worker_file_api {
 public:
  /// `files` is the folder of every tenant's files (empty: none kept, the routes answer 503); an
  /// input download whose client takes nothing for `stall_limit` is dropped.
  worker_file_api(store::contract& store, std::filesystem::path files, std::chrono::seconds stall_limit)
      : store_(store), stall_limit_(stall_limit) {
    if (!files.empty()) files_.emplace(std::move(files));
  }

  void add_routes(router& routes) {
    routes.add(http::verb::get, "/api/v1/worker/check", access::worker, this, &worker_file_api::check);
    routes.add(http::verb::get, "/api/v1/worker/inputs/{tenant}/{path...}", access::worker, this,
               &worker_file_api::download_input);
    routes.add(http::verb::post, "/api/v1/worker/outputs/{tenant}/{job}/{attempt}", access::worker, this,
               &worker_file_api::begin_attempt);
    routes.add(http::verb::put, "/api/v1/worker/outputs/{tenant}/{job}/{attempt}/files/{name...}", access::worker, this,
               &worker_file_api::put_output);
    routes.add(http::verb::put, "/api/v1/worker/outputs/{tenant}/{job}/{attempt}/manifest", access::worker, this,
               &worker_file_api::put_manifest);
    routes.add(http::verb::delete_, "/api/v1/worker/outputs/{tenant}/{job}/{attempt}", access::worker, this,
               &worker_file_api::discard);
  }

 private:
  // The attempt a route names: its folder checked (ids, attempt number) before anything else.
  struct attempt_ref {
    std::string tenant{};
    std::string job{};
    std::uint32_t number = 0;
    std::filesystem::path folder{};
  };

  comfyui::tenant_directory& files() {
    if (!files_) {
      throw api_error(http::status::service_unavailable, "unavailable",
                      "this server keeps no files; start it with a data folder (--data)");
    }
    return *files_;
  }

  attempt_ref attempt_of(const request_context& c) {
    attempt_ref a{.tenant = c.params[0], .job = c.params[1]};
    const std::string& text = c.params[2];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), a.number);
    if (error != std::errc{} || end != text.data() + text.size() || a.number == 0) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "'" + comfyq::detail::printable(text) + "' is not an attempt number; give the lease's attempt, 1 or more",
                      "attempt");
    }
    a.folder = files().outputs_of(a.tenant, a.job, a.number);
    return a;
  }

  // Outputs are taken only from the attempt the job runs now: any other is a worker that lost
  // its lease (expired, or the job was given to another), whose files must not be kept.
  void require_running(const attempt_ref& a) {
    const std::optional<job> j = store_.find(a.job);
    if (!j || j->tenant != a.tenant) {
      throw api_error(http::status::not_found, "not_found", "tenant '" + a.tenant + "' has no job '" + a.job + "'", "job");
    }
    if (j->state != job_state::running || j->attempt != a.number) {
      throw api_error(http::status::conflict, "conflict",
                      "job '" + a.job + "' is " + std::string(to_string(j->state)) + " at attempt " +
                          std::to_string(j->attempt) + ", not running attempt " + std::to_string(a.number) +
                          ": another worker owns the job now, or it ended; keep nothing of this attempt",
                      "attempt");
    }
  }

  stream_handoff download_input(const request_context& c) {
    const std::filesystem::path file =
        files().inputs_of(c.params[0]) /
        checked_relative_path(c.params[1], "path", "give the path the workflow loads, inside the tenant's inputs");
    std::error_code ec;
    const std::uint64_t size = std::filesystem::is_regular_file(file, ec) ? std::filesystem::file_size(file, ec) : 0;
    if (ec || !std::filesystem::is_regular_file(file)) {
      throw api_error(http::status::not_found, "not_found",
                      "tenant '" + c.params[0] + "' has no input '" + c.params[1] + "'", "path");
    }
    return send_download(c.req, std::make_unique<file_source>(file, size), {.file_name = file.filename().string()},
                         stall_limit_);
  }

  // What a worker asks at start: its token is right (or the router said 401), and files are kept.
  response check(const request_context& c) {
    files();
    return json_response(c.req, http::status::ok, {{"status", "ok"}});
  }

  response begin_attempt(const request_context& c) {
    const attempt_ref a = attempt_of(c);
    require_running(a);
    try {
      files().begin_attempt(a.tenant, a.job, a.number);
    } catch (const std::filesystem::filesystem_error& e) {
      if (e.code() != std::errc::file_exists) throw;
      throw api_error(http::status::conflict, "exists", e.what(), "attempt");
    }
    return json_response(c.req, http::status::created, {{"tenant", a.tenant}, {"job", a.job}, {"attempt", a.number}});
  }

  // The body is the whole file; it is kept only when its sha256 is the one its worker computed.
  response put_output(const request_context& c) {
    const attempt_ref a = attempt_of(c);
    const std::string& name = c.params[3];
    const std::filesystem::path file =
        a.folder / checked_relative_path(name, "name", "give the output's name inside the attempt's folder");
    const std::string expected(view(c.req[content_sha256_header]));
    if (expected.empty()) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "send the body's sha256 (lowercase hex) in " + std::string(content_sha256_header), "sha256");
    }
    const std::string actual = util::sha256_hex(c.req.body());
    if (actual != expected) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "the body's sha256 is " + actual + ", not the " + comfyq::detail::printable(expected) + " that " +
                          std::string(content_sha256_header) + " says; nothing was kept: send the file again",
                      "sha256");
    }
    require_running(a);
    if (!std::filesystem::is_directory(a.folder)) {
      throw api_error(http::status::not_found, "not_found",
                      "attempt " + std::to_string(a.number) + " of job '" + a.job + "' was not begun; POST " +
                          "/api/v1/worker/outputs/" + a.tenant + "/" + a.job + "/" + std::to_string(a.number) + " first",
                      "attempt");
    }
    if (const std::error_code ec = detail::place_synced(files().root() / a.tenant / ".partial", file, c.req.body())) {
      throw api_error(http::status::conflict, "conflict",
                      "'" + name + "' cannot be made: a part of it is a file or folder already (" + ec.message() + ")",
                      "name");
    }
    return json_response(c.req, http::status::created,
                         {{"name", name}, {"size", c.req.body().size()}, {"sha256", actual}});
  }

  response put_manifest(const request_context& c) {
    const attempt_ref a = attempt_of(c);
    const nlohmann::json body = json_object_body(c.req, {"outputs"});
    if (!body.contains("outputs")) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "is missing; send {\"outputs\": [...]} with an entry per file kept", "outputs");
    }
    require_type(body.at("outputs"), "outputs", [](const nlohmann::json& v) { return v.is_array(); }, "an array");
    std::vector<manifest_entry> entries;
    try {
      entries = body.at("outputs").get<std::vector<manifest_entry>>();
    } catch (const comfyq::invalid_input& e) {
      throw api_error(http::status::unprocessable_entity, "invalid_input", e.what(), "outputs");
    }
    require_running(a);
    for (std::size_t i = 0; i < entries.size(); ++i) check_kept(a, entries[i], "outputs[" + std::to_string(i) + "]");
    files().write_manifest(a.tenant, a.job, a.number, entries);
    return json_response(c.req, http::status::ok, {{"outputs", entries.size()}});
  }

  // A manifest entry's file is in the attempt's folder with the size and sha256 it names.
  void check_kept(const attempt_ref& a, const manifest_entry& entry, const std::string& field) {
    const std::filesystem::path file =
        a.folder / checked_relative_path(entry.name, field + ".name", "name a file sent to this attempt");
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    if (ec || size != entry.size) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "'" + entry.name + "' is " + (ec ? "not there" : std::to_string(size) + " bytes") + ", not " +
                          std::to_string(entry.size) + " bytes; send the file before the manifest that lists it",
                      field + ".size");
    }
    util::sha256 digest;
    file_reader reader(file, size);
    while (const std::optional<std::string> chunk = reader.next()) digest.update(*chunk);
    if (const std::string actual = digest.hex_digest(); actual != entry.sha256) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "'" + entry.name + "' has sha256 " + actual + ", not " + entry.sha256 +
                          "; send the file again",
                      field + ".sha256");
    }
  }

  // Any attempt but the one whose outputs a succeeded job kept: those are the job's result.
  response discard(const request_context& c) {
    const attempt_ref a = attempt_of(c);
    const std::optional<job> j = store_.find(a.job);
    if (j && j->tenant == a.tenant && j->state == job_state::succeeded && j->attempt == a.number) {
      throw api_error(http::status::conflict, "conflict",
                      "job '" + a.job + "' succeeded with attempt " + std::to_string(a.number) +
                          ", whose outputs are its result; they are kept",
                      "attempt");
    }
    files().discard(a.tenant, a.job, a.number);
    return json_response(c.req, http::status::ok, {{"discarded", true}});
  }

  store::contract& store_;
  std::optional<comfyui::tenant_directory> files_;
  std::chrono::seconds stall_limit_;
};

}  // namespace comfyq::server
