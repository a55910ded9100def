#pragma once
// What ComfyUI's web UI keeps per user, per tenant (comfyui_api.hpp): its saved workflows and
// files (GET /userdata, GET /v2/userdata, GET, POST and DELETE /userdata/{file}, POST
// /userdata/{file}/move/{dest}), its settings (GET and POST /settings, /settings/{id}) and who
// it is (GET /users), in the tenant's own folder (<files>/<tenant>/userdata), which outlives
// the server.
//
// The workshop's workflows (a folder the server is given) appear read-only in every tenant's
// userdata as workflows/workshop/: a tenant opens them and saves a copy under another name;
// writing, moving or deleting one is refused with 403.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/detail/synced_file.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"

namespace comfyq::server {

/// Where the workshop's shared workflows appear in each tenant's userdata.
inline constexpr std::string_view workshop_workflows_folder = "workflows/workshop";

class comfyui_userdata_api {
 public:
  /// `files`: every tenant's files (empty: none kept, these routes answer 503); `workshop`: the
  /// workshop's workflows, shown to every tenant (empty: none).
  comfyui_userdata_api(std::filesystem::path files, std::filesystem::path workshop) : workshop_(std::move(workshop)) {
    if (!files.empty()) files_.emplace(std::move(files));
  }

  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/users", access::user, this, &comfyui_userdata_api::users);
      routes.add(http::verb::get, base + "/settings", access::user, this, &comfyui_userdata_api::settings);
      routes.add(http::verb::post, base + "/settings", access::user, this, &comfyui_userdata_api::merge_settings);
      routes.add(http::verb::get, base + "/settings/{id}", access::user, this, &comfyui_userdata_api::setting);
      routes.add(http::verb::post, base + "/settings/{id}", access::user, this, &comfyui_userdata_api::set_setting);
      routes.add(http::verb::get, base + "/userdata", access::user, this, &comfyui_userdata_api::list);
      routes.add(http::verb::get, base + "/v2/userdata", access::user, this, &comfyui_userdata_api::list_v2);
      routes.add(http::verb::get, base + "/userdata/{file}", access::user, this, &comfyui_userdata_api::read);
      routes.add(http::verb::post, base + "/userdata/{file}", access::user, this, &comfyui_userdata_api::write);
      routes.add(http::verb::delete_, base + "/userdata/{file}", access::user, this, &comfyui_userdata_api::remove);
      routes.add(http::verb::post, base + "/userdata/{file}/move/{dest}", access::user, this,
                 &comfyui_userdata_api::move);
    }
  }

 private:
  // A file of the tenant's userdata, as a route names it: where it is, and whether it is the
  // workshop's (read-only).
  struct place {
    std::string path;  // relative to the userdata, with '/'
    std::filesystem::path file;
    bool shared = false;
  };

  // GET /users: one user per tenant, the tenant itself; ComfyUI's single-user answer.
  response users(const request_context& c) {
    comfyui_tenant(c);
    return comfyui_json_response(c.req, http::status::ok, {{"storage", "server"}, {"migrated", true}});
  }

  // GET /settings: the tenant's settings, {} before any.
  response settings(const request_context& c) {
    return comfyui_json_response(c.req, http::status::ok, read_settings(comfyui_tenant(c)));
  }

  // GET /settings/{id}: one setting, null when unset.
  response setting(const request_context& c) {
    const ordered_json all = read_settings(comfyui_tenant(c));
    const auto found = all.find(c.params[1]);
    return comfyui_json_response(c.req, http::status::ok, found == all.end() ? ordered_json() : *found);
  }

  // POST /settings: the body's settings over the tenant's.
  response merge_settings(const request_context& c) {
    comfyui_same_origin(c);
    const std::string& tenant = comfyui_tenant(c);
    ordered_json all = read_settings(tenant);
    ordered_json changed = comfyui_json_body(c);
    for (auto& [id, value] : changed.items()) all[id] = std::move(value);
    save(tenant, settings_file, all.dump(4));
    return comfyui_empty_ok(c.req);
  }

  // POST /settings/{id}: one setting; the body is its JSON value.
  response set_setting(const request_context& c) {
    comfyui_same_origin(c);
    const std::string& tenant = comfyui_tenant(c);
    ordered_json value = ordered_json::parse(c.req.body(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) throw api_error(http::status::bad_request, "invalid_json", "the body is not JSON");
    ordered_json all = read_settings(tenant);
    all[c.params[1]] = std::move(value);
    save(tenant, settings_file, all.dump(4));
    return comfyui_empty_ok(c.req);
  }

  // GET /userdata?dir=&recurse=&full_info=&split=: the files in a folder of the userdata.
  response list(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"dir", "recurse", "full_info", "split"}, unknown_parameters::ignored);
    const std::string dir = params.get("dir").value_or("");
    if (dir.empty())
      throw api_error(http::status::bad_request, "missing_dir", "say which folder: ?dir=workflows", "dir");
    const place folder = locate(tenant, dir, "dir");
    const bool recurse = params.get("recurse") == "true";
    const bool full_info = params.get("full_info") == "true";
    const bool split = params.get("split") == "true";
    std::vector<std::pair<std::string, std::filesystem::path>> found;  // path below dir, file
    collect(folder.file, recurse, found);
    // The workshop's workflows, in a folder below this one.
    const std::string shared_below = below(std::string(workshop_workflows_folder), folder.path);
    if (recurse && !folder.shared && !workshop_.empty() && !shared_below.empty()) {
      collect(workshop_, true, found, shared_below);
    }
    if (found.empty() && !std::filesystem::is_directory(folder.file)) {
      throw api_error(http::status::not_found, "not_found",
                      "no folder '" + comfyq::detail::printable(dir) + "' of yours", "dir");
    }
    ordered_json listed = ordered_json::array();
    for (const auto& [path, file] : found) {
      if (full_info) {
        listed.push_back(file_info(path, file));
      } else if (split) {
        ordered_json parts = ordered_json::array({path});
        for (const auto& part : std::filesystem::path(path)) parts.push_back(part.string());
        listed.push_back(std::move(parts));
      } else {
        listed.push_back(path);
      }
    }
    return comfyui_json_response(c.req, http::status::ok, listed);
  }

  // GET /v2/userdata?path=: the folders and files below a folder, with their paths from the
  // userdata's root; folders first, then by name.
  response list_v2(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"path"}, unknown_parameters::ignored);
    const std::string path = params.get("path").value_or("");
    const place folder = path.empty() ? place{"", userdata().userdata_of(tenant)} : locate(tenant, path, "path");
    ordered_json entries = ordered_json::array();
    const auto add_below = [&](const std::filesystem::path& root, const std::string& shown_root) {
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(root, ec); !ec && it != std::filesystem::end(it);
           it.increment(ec)) {
        const std::string relative = it->path().lexically_relative(root).generic_string();
        const std::string shown = shown_root.empty() ? relative : shown_root + "/" + relative;
        if (it->is_directory()) {
          entries.push_back({{"name", it->path().filename().string()}, {"path", shown}, {"type", "directory"}});
        } else if (it->is_regular_file()) {
          ordered_json entry = file_info(shown, it->path());
          entries.push_back({{"name", it->path().filename().string()},
                             {"path", shown},
                             {"type", "file"},
                             {"size", entry["size"]},
                             {"modified", entry["modified"]}});
        }
      }
    };
    const bool exists = std::filesystem::is_directory(folder.file);
    if (exists) add_below(folder.file, folder.path);
    if (!folder.shared && !workshop_.empty()) {
      const std::string shared_below = below(std::string(workshop_workflows_folder), folder.path);
      if (!shared_below.empty() || folder.path == workshop_workflows_folder) {
        // The workshop folder itself, and the folders on the way to it, as folders of the listing.
        std::string on_the_way = folder.path;
        for (const auto& part : std::filesystem::path(shared_below)) {
          on_the_way = on_the_way.empty() ? part.string() : on_the_way + "/" + part.string();
          const bool listed = std::any_of(entries.begin(), entries.end(),
                                          [&](const ordered_json& e) { return e["path"] == on_the_way; });
          if (!listed) entries.push_back({{"name", part.string()}, {"path", on_the_way}, {"type", "directory"}});
        }
        add_below(workshop_, std::string(workshop_workflows_folder));
      }
    }
    if (!exists && !folder.shared && !path.empty() && entries.empty()) {
      throw api_error(http::status::not_found, "not_found",
                      "no folder '" + comfyq::detail::printable(path) + "' of yours", "path");
    }
    std::sort(entries.begin(), entries.end(), [](const ordered_json& a, const ordered_json& b) {
      const bool a_file = a["type"] == "file";
      const bool b_file = b["type"] == "file";
      if (a_file != b_file) return b_file;
      return lower(a["name"].get<std::string>()) < lower(b["name"].get<std::string>());
    });
    return comfyui_json_response(c.req, http::status::ok, entries);
  }

  // GET /userdata/{file}: the file as it was saved (workflows and settings: small enough to
  // answer whole).
  response read(const request_context& c) {
    const place at = locate(comfyui_tenant(c), c.params[1], "file");
    std::ifstream in(at.file, std::ios::binary);
    if (!in || !std::filesystem::is_regular_file(at.file)) {
      throw api_error(http::status::not_found, "not_found",
                      "no file '" + comfyq::detail::printable(at.path) + "' of yours", "file");
    }
    response res{http::status::ok, c.req.version()};
    res.set(http::field::content_type, std::string(content_type_of(at.path)));
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(c.req.keep_alive());
    res.body().assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    res.prepare_payload();
    return res;
  }

  // POST /userdata/{file}?overwrite=&full_info=: the body, saved whole as the file; its path
  // (or its details) back. 409 when it exists and overwrite=false.
  response write(const request_context& c) {
    comfyui_same_origin(c);
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"overwrite", "full_info"}, unknown_parameters::ignored);
    const place at = writable(tenant, c.params[1], "file");
    if (params.get("overwrite") == "false" && std::filesystem::exists(at.file)) {
      throw api_error(
          http::status::conflict, "file_exists",
          "'" + comfyq::detail::printable(at.path) + "' exists; save under another name, or with overwrite=true",
          "file");
    }
    save(tenant, at.path, c.req.body());
    return saved(c, at, params.get("full_info") == "true");
  }

  // DELETE /userdata/{file}: 204.
  response remove(const request_context& c) {
    comfyui_same_origin(c);
    const place at = writable(comfyui_tenant(c), c.params[1], "file");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(at.file) || !std::filesystem::remove(at.file, ec) || ec) {
      throw api_error(http::status::not_found, "not_found",
                      "no file '" + comfyq::detail::printable(at.path) + "' of yours", "file");
    }
    response res{http::status::no_content, c.req.version()};
    res.keep_alive(c.req.keep_alive());
    res.prepare_payload();
    return res;
  }

  // POST /userdata/{file}/move/{dest}?overwrite=&full_info=: renames the file.
  response move(const request_context& c) {
    comfyui_same_origin(c);
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"overwrite", "full_info"}, unknown_parameters::ignored);
    const place from = writable(tenant, c.params[1], "file");
    const place to = writable(tenant, c.params[2], "dest");
    if (!std::filesystem::is_regular_file(from.file)) {
      throw api_error(http::status::not_found, "not_found",
                      "no file '" + comfyq::detail::printable(from.path) + "' of yours", "file");
    }
    if (params.get("overwrite") == "false" && std::filesystem::exists(to.file)) {
      throw api_error(
          http::status::conflict, "file_exists",
          "'" + comfyq::detail::printable(to.path) + "' exists; move to another name, or with overwrite=true", "dest");
    }
    std::error_code ec;
    std::filesystem::create_directories(to.file.parent_path(), ec);
    if (!ec) std::filesystem::rename(from.file, to.file, ec);
    if (ec) {
      throw api_error(http::status::conflict, "conflict",
                      "'" + comfyq::detail::printable(to.path) + "' cannot be made (" + ec.message() + ")", "dest");
    }
    return saved(c, to, params.get("full_info") == "true");
  }

  // ---- helpers -------------------------------------------------------------------------------

  static constexpr std::string_view settings_file = "comfy.settings.json";
  static constexpr std::string_view path_advice = "give a path inside your userdata, e.g. \"workflows/mine.json\"";

  const comfyui::tenant_directory& userdata() const {
    if (!files_) {
      throw api_error(http::status::service_unavailable, "unavailable",
                      "this server keeps no files; start it with a data folder (--data)");
    }
    return *files_;
  }

  // The file or folder `path` (percent-decoded already) of the tenant's userdata; 403, as in
  // ComfyUI, for a path that climbs out of it.
  place locate(const std::string& tenant, const std::string& path, const char* field) const {
    std::string relative;
    try {
      relative = checked_relative_path(path, field, path_advice);
    } catch (const invalid_input& e) {
      throw api_error(http::status::forbidden, "forbidden", e.what(), field);
    }
    relative = std::filesystem::path(relative).lexically_normal().generic_string();
    while (!relative.empty() && relative.back() == '/') relative.pop_back();
    if (!workshop_.empty()) {
      if (relative == workshop_workflows_folder) return {relative, workshop_, true};
      if (const std::string inside = below(relative, std::string(workshop_workflows_folder)); !inside.empty()) {
        return {relative, workshop_ / inside, true};
      }
    }
    return {relative, userdata().userdata_of(tenant) / relative, false};
  }

  // As locate, for a change: the workshop's workflows are refused.
  place writable(const std::string& tenant, const std::string& path, const char* field) const {
    place at = locate(tenant, path, field);
    if (at.shared) {
      throw api_error(http::status::forbidden, "read_only",
                      "'" + comfyq::detail::printable(at.path) +
                          "' is one of the workshop's workflows, which every participant shares: save your own copy "
                          "under another name (Workflow -> Save As)",
                      field);
    }
    return at;
  }

  // `path` below `folder` ("a/b/c" below "a" is "b/c"), "" when it is not below it.
  static std::string below(const std::string& path, const std::string& folder) {
    if (folder.empty()) return path;
    if (path.size() <= folder.size() || !path.starts_with(folder) || path[folder.size()] != '/') return {};
    return path.substr(folder.size() + 1);
  }

  static std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return text;
  }

  // The files in `folder` (and below it with `recurse`), as paths below it behind `shown_root`.
  static void collect(const std::filesystem::path& folder, bool recurse,
                      std::vector<std::pair<std::string, std::filesystem::path>>& found,
                      const std::string& shown_root = {}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) return;
    const auto add = [&](const std::filesystem::directory_entry& entry) {
      if (!entry.is_regular_file()) return;
      const std::string relative = entry.path().lexically_relative(folder).generic_string();
      found.emplace_back(shown_root.empty() ? relative : shown_root + "/" + relative, entry.path());
    };
    if (recurse) {
      for (auto it = std::filesystem::recursive_directory_iterator(folder, ec); !ec && it != std::filesystem::end(it);
           it.increment(ec)) {
        add(*it);
      }
    } else {
      for (auto it = std::filesystem::directory_iterator(folder, ec); !ec && it != std::filesystem::end(it);
           it.increment(ec)) {
        add(*it);
      }
    }
    std::sort(found.begin(), found.end());
  }

  // {path, size, modified, created}, the times in seconds as ComfyUI gives them.
  static ordered_json file_info(const std::string& path, const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    const auto written = std::filesystem::last_write_time(file, ec);
    const double seconds =
        ec ? 0.0 : std::chrono::duration<double>(std::chrono::file_clock::to_sys(written).time_since_epoch()).count();
    return {{"path", path}, {"size", ec ? 0 : size}, {"modified", seconds}, {"created", seconds}};
  }

  ordered_json read_settings(const std::string& tenant) const {
    std::ifstream in(userdata().userdata_of(tenant) / settings_file);
    if (!in) return ordered_json::object();
    ordered_json all = ordered_json::parse(in, nullptr, /*allow_exceptions=*/false);
    return all.is_object() ? all : ordered_json::object();  // a damaged file: start again, as ComfyUI does
  }

  // Writes `bytes` whole as `path` of the tenant's userdata.
  void save(const std::string& tenant, std::string_view path, std::string_view bytes) const {
    const std::filesystem::path file = userdata().userdata_of(tenant) / std::string(path);
    if (const std::error_code ec = detail::place_synced(userdata().root() / tenant / ".partial", file, bytes)) {
      throw api_error(http::status::conflict, "conflict",
                      "'" + comfyq::detail::printable(path) + "' cannot be made: a part of it is a file already (" +
                          ec.message() + ")",
                      "file");
    }
  }

  static response saved(const request_context& c, const place& at, bool full_info) {
    return comfyui_json_response(c.req, http::status::ok,
                                 full_info ? file_info(at.path, at.file) : ordered_json(at.path));
  }

  static std::string_view content_type_of(std::string_view path) {
    if (path.ends_with(".json")) return "application/json";
    if (path.ends_with(".css")) return "text/css";
    return "application/octet-stream";
  }

  std::optional<comfyui::tenant_directory> files_;
  std::filesystem::path workshop_;
};

}  // namespace comfyq::server
