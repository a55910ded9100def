#pragma once
// A participant's files under /api/v1, in its own folder of the server's tenant_directory:
//
//   GET    /api/v1/inputs                       what it uploaded
//   PUT    /api/v1/inputs/{path...}             upload (raw bytes); its workflows load it by that path
//   GET    /api/v1/inputs/{path...}             download one
//   DELETE /api/v1/inputs/{path...}
//   GET    /api/v1/jobs/{id}/outputs/{name...}  one output of a succeeded job
//   GET    /api/v1/jobs/{id}/outputs.zip        all of a job's outputs
//   GET    /api/v1/outputs.zip                  all of the tenant's (an admin: ?tenant=)
//
// Another tenant's job answers 404, as one that does not exist. A path that climbs, is absolute,
// holds NUL or a control character, or is longer than file systems keep is refused with 422
// before it meets the file system. An upload appears whole or not at all.

#include <algorithm>
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
#include "comfyq/job_query.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/detail/synced_file.hpp"
#include "comfyq/server/download.hpp"
#include "comfyq/server/job_api.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::server {

class file_api {
 public:
  /// `files` is the folder of every tenant's files (empty: this server keeps none, and the file
  /// routes answer 503); a download whose client takes nothing for `stall_limit` is dropped.
  file_api(store::contract& store, std::filesystem::path files, std::chrono::seconds stall_limit)
      : store_(store), stall_limit_(stall_limit) {
    if (!files.empty()) files_.emplace(std::move(files));
  }

  void add_routes(router& routes) {
    routes.add(http::verb::get, "/api/v1/inputs", access::user, this, &file_api::list_inputs);
    routes.add(http::verb::put, "/api/v1/inputs/{path...}", access::user, this, &file_api::upload_input);
    routes.add(http::verb::get, "/api/v1/inputs/{path...}", access::user, this, &file_api::download_input);
    routes.add(http::verb::delete_, "/api/v1/inputs/{path...}", access::user, this, &file_api::delete_input);
    routes.add(http::verb::get, "/api/v1/jobs/{id}/outputs/{name...}", access::user, this, &file_api::download_output);
    routes.add(http::verb::get, "/api/v1/jobs/{id}/outputs.zip", access::user, this, &file_api::download_job_zip);
    routes.add(http::verb::get, "/api/v1/outputs.zip", access::user, this, &file_api::download_tenant_zip);
  }

  // ---- what ComfyUI's API per tenant (comfyui_api.hpp) serves its /view and uploads with ----

  /// `tenant`'s input `path`, checked to stay inside its inputs (api_error 422 naming `field`).
  std::filesystem::path input_path(const std::string& tenant, const std::string& path, const char* field) const {
    return files().inputs_of(tenant) / checked_relative_path(path, field, path_advice);
  }

  /// Places `bytes` at `file` (an input_path of `tenant`) whole or not at all: written beside
  /// the tenant's inputs, synced, then renamed into place.
  void place_input(const std::string& tenant, const std::filesystem::path& file, std::string_view bytes,
                   const std::string& shown_as) const {
    if (const std::error_code ec = detail::place_synced(files().root() / tenant / ".partial", file, bytes)) {
      throw api_error(http::status::conflict, "conflict",
                      "'" + shown_as + "' cannot be made: a part of it is a file already (" + ec.message() + ")", "path");
    }
  }

  /// The download of `tenant`'s input `path`; api_error 404 when it has none such.
  stream_handoff send_input(const request_context& c, const std::string& tenant, const std::string& path) const {
    const std::filesystem::path file = input_path(tenant, path, "path");
    std::error_code ec;
    const std::uint64_t size = std::filesystem::is_regular_file(file, ec) ? std::filesystem::file_size(file, ec) : 0;
    if (ec || !std::filesystem::is_regular_file(file)) {
      throw api_error(http::status::not_found, "not_found", "no input '" + comfyq::detail::printable(path) + "' of yours",
                      "path");
    }
    return send(c, std::make_unique<file_source>(file, size), {.file_name = file.filename().string()});
  }

  /// The download of output `name` of job `j`, which the caller may see; api_error 404 when it
  /// has none such, 409 when it has none yet.
  stream_handoff send_output(const request_context& c, const job& j, std::string_view name) const {
    for (const manifest_entry& output : outputs_of(j)) {
      if (output.name != name) continue;
      return send(c, std::make_unique<file_source>(output_file(j, output), output.size),
                  {.content_type = output.media_type.empty() ? "application/octet-stream" : output.media_type,
                   .file_name = std::filesystem::path(name).filename().string()});
    }
    throw api_error(http::status::not_found, "not_found",
                    "job '" + j.id + "' has no output '" + comfyq::detail::printable(name) +
                        "'; its outputs are listed in GET /api/v1/jobs/" + j.id,
                    "name");
  }

 private:
  static constexpr std::string_view path_advice = "give a path inside your inputs, e.g. \"cat.png\" or \"photos/cat.png\"";

  const comfyui::tenant_directory& files() const {
    if (!files_) {
      throw api_error(http::status::service_unavailable, "unavailable",
                      "this server keeps no files; start it with a data folder (--data)");
    }
    return *files_;
  }

  // The input file a route names, checked to stay inside the caller's inputs.
  std::filesystem::path input_file(const request_context& c) const { return input_path(c.who.user, c.params[0], "path"); }

  response list_inputs(const request_context& c) {
    const std::filesystem::path folder = files().inputs_of(c.who.user);
    nlohmann::json inputs = nlohmann::json::array();
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(folder, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || it->is_symlink()) continue;
      inputs.push_back({{"path", std::filesystem::relative(it->path(), folder).generic_string()},
                        {"size", it->file_size()},
                        {"modified_ms", modified_ms(it->last_write_time())}});
    }
    std::sort(inputs.begin(), inputs.end(), [](const auto& a, const auto& b) { return a["path"] < b["path"]; });
    return json_response(c.req, http::status::ok, {{"inputs", std::move(inputs)}});
  }

  // Written beside the tenant's inputs, synced, then renamed into place.
  response upload_input(const request_context& c) {
    const std::filesystem::path file = input_file(c);
    if (std::filesystem::is_directory(file)) {
      throw api_error(http::status::conflict, "conflict", "'" + c.params[0] + "' is a folder of your inputs", "path");
    }
    const bool replaced = std::filesystem::exists(file);
    place_input(c.who.user, file, c.req.body(), c.params[0]);
    return json_response(c.req, replaced ? http::status::ok : http::status::created,
                         {{"path", c.params[0]}, {"size", c.req.body().size()}, {"sha256", util::sha256_hex(c.req.body())}});
  }

  stream_handoff download_input(const request_context& c) { return send_input(c, c.who.user, c.params[0]); }

  response delete_input(const request_context& c) {
    const std::filesystem::path file = input_file(c);
    if (!std::filesystem::is_regular_file(file) || !std::filesystem::remove(file)) {
      throw api_error(http::status::not_found, "not_found", "no input '" + c.params[0] + "' of yours", "path");
    }
    return json_response(c.req, http::status::ok, {{"path", c.params[0]}, {"deleted", true}});
  }

  stream_handoff download_output(const request_context& c) { return send_output(c, visible_job(store_, c), c.params[1]); }

  stream_handoff download_job_zip(const request_context& c) {
    const job j = visible_job(store_, c);
    archive members;
    add_to(members, j, "");
    return send_zip(c, std::move(members), j.id + ".zip");
  }

  // Every succeeded job's outputs, one folder per job.
  stream_handoff download_tenant_zip(const request_context& c) {
    const query_parameters params(c.query, {"tenant"});
    std::string tenant = c.who.user;
    if (const std::optional<std::string> other = params.get("tenant")) {
      if (!c.who.admin && *other != c.who.user) {
        throw api_error(http::status::forbidden, "forbidden", "only an admin downloads another tenant's outputs", "tenant");
      }
      tenant = *other;
    }
    archive members;
    job_query query{.tenant = tenant, .states = {job_state::succeeded}, .limit = max_job_page};
    do {
      const job_page page = store_.list_jobs(query);
      for (const job& j : page.jobs) add_to(members, j, j.id + "/");
      query.after = page.next;
    } while (!query.after.empty());
    return send_zip(c, std::move(members), tenant + "-outputs.zip");
  }

  struct archive {
    std::vector<zip_member> members;
    std::vector<std::filesystem::path> files;
  };

  void add_to(archive& a, const job& j, const std::string& folder) const {
    for (const manifest_entry& output : outputs_of(j)) {
      std::filesystem::path file = output_file(j, output);
      std::error_code ec;
      const auto modified = std::filesystem::last_write_time(file, ec);
      a.members.push_back({folder + output.name, output.size,
                           ec ? std::chrono::system_clock::time_point{} : to_system_clock(modified)});
      a.files.push_back(std::move(file));
    }
  }

  // A succeeded job's outputs; a job without them yet (or ever) is a conflict, not a missing job.
  static const std::vector<manifest_entry>& outputs_of(const job& j) {
    if (j.state != job_state::succeeded) {
      throw api_error(http::status::conflict, "conflict",
                      "job '" + j.id + "' is " + std::string(to_string(j.state)) +
                          ": only a succeeded job has outputs to download",
                      "id");
    }
    return j.outputs;
  }

  // Where the server keeps an output, which must be there as the manifest says.
  std::filesystem::path output_file(const job& j, const manifest_entry& output) const {
    std::filesystem::path file = files().outputs_of(j.tenant, j.id, j.attempt) /
                                 checked_relative_path(output.name, "name", "the manifest names files inside the job");
    std::error_code ec;
    if (std::filesystem::file_size(file, ec) != output.size || ec) {
      throw api_error(http::status::not_found, "not_found",
                      "output '" + output.name + "' of job '" + j.id +
                          "' is not on this server (its worker keeps its files elsewhere, or they were removed)",
                      "name");
    }
    return file;
  }

  stream_handoff send_zip(const request_context& c, archive a, const std::string& name) const {
    return send(c, std::make_unique<zip_source>(zip_layout(std::move(a.members)), std::move(a.files)),
                {.content_type = "application/zip", .file_name = name});
  }

  stream_handoff send(const request_context& c, std::unique_ptr<body_source> source, download_head head) const {
    return send_download(c.req, std::move(source), std::move(head), stall_limit_);
  }

  static std::chrono::system_clock::time_point to_system_clock(std::filesystem::file_time_type t) {
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t));
  }
  static std::int64_t modified_ms(std::filesystem::file_time_type t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to_system_clock(t).time_since_epoch()).count();
  }

  store::contract& store_;
  std::optional<comfyui::tenant_directory> files_;
  std::chrono::seconds stall_limit_;
};

}  // namespace comfyq::server
