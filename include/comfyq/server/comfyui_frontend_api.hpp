#pragma once
// ComfyUI's web UI per tenant (comfyui_api.hpp): the frontend's static files from a folder the
// server is given (the static folder of the comfyui_frontend_package that pip installs with
// ComfyUI), at /user/<name>/ and, for the few requests that ignore the base path (favicons), at
// /assets/ too; the workshop's workflows as templates (GET /workflow_templates,
// /api/workflow_templates/workshop/<file>); and comfyq's own frontend extension, which shows a
// waiting job's place in the queue (GET /extensions lists it).
//
// Without a frontend folder, /user/<name>/ is comfyq's participant page (web_pages.hpp), which
// says how to enable the UI; with one, that page moves to /user/<name>/comfyq/.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/media_types.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/download.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/server/web_pages.hpp"

namespace comfyq::server {

/// Where the web UI loads comfyq's extension from, below the tenant's address.
inline constexpr std::string_view comfyui_extension_path = "/extensions/comfyq/queue_position.js";
/// The page file that holds the extension (web_pages.hpp).
inline constexpr std::string_view comfyui_extension_file = "comfyui_queue_position.js";

class comfyui_frontend_api {
 public:
  /// `frontend`: the web UI's static folder (empty: none); `workshop`: the workshop's workflows
  /// (empty: none); `pages`: the page files, which hold the extension; a download whose client
  /// takes nothing for `stall_limit` is dropped.
  comfyui_frontend_api(std::filesystem::path frontend, std::filesystem::path workshop,
                       const std::vector<web_file>& pages, std::chrono::seconds stall_limit)
      : frontend_(std::move(frontend)), workshop_(std::move(workshop)), stall_limit_(stall_limit) {
    for (const web_file& f : pages) {
      if (f.name == comfyui_extension_file) extension_ = f;
    }
  }

  /// Adds the routes; the frontend's files last, as they take every other GET below a tenant.
  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/extensions", access::user, this, &comfyui_frontend_api::extensions);
      routes.add(http::verb::get, base + "/workflow_templates", access::user, this, &comfyui_frontend_api::templates);
    }
    routes.add(http::verb::get, "/user/{name}/api/workflow_templates/workshop/{file...}", access::user, this,
               &comfyui_frontend_api::template_file);
    routes.add(http::verb::get, "/user/{name}" + std::string(comfyui_extension_path), access::user, this,
               &comfyui_frontend_api::extension);
    if (frontend_.empty()) return;
    routes.add(http::verb::get, "/user/{name}", access::user, this, &comfyui_frontend_api::index);
    routes.add(http::verb::get, "/assets/{file...}", access::user, this, &comfyui_frontend_api::root_asset);
    routes.add(http::verb::get, "/user/{name}/{file...}", access::user, this, &comfyui_frontend_api::static_file);
  }

 private:
  // GET /extensions: comfyq's extension, as a URL below the tenant's address.
  response extensions(const request_context& c) const {
    comfyui_tenant(c);
    ordered_json listed = ordered_json::array();
    if (extension_) listed.push_back(comfyui_extension_path);
    return comfyui_json_response(c.req, http::status::ok, listed);
  }

  response extension(const request_context& c) const {
    comfyui_tenant(c);
    if (!extension_) throw api_error(http::status::not_found, "not_found", "this server has no frontend extension");
    response res{http::status::ok, c.req.version()};
    res.set(http::field::content_type, "text/javascript; charset=utf-8");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(c.req.keep_alive());
    res.body() = extension_->content;
    res.prepare_payload();
    return res;
  }

  // GET /workflow_templates: {"workshop": [names]}, the workshop's workflows; {} without any.
  response templates(const request_context& c) const {
    comfyui_tenant(c);
    ordered_json listed = ordered_json::object();
    std::vector<std::string> names;
    std::error_code ec;
    if (!workshop_.empty()) {
      for (auto it = std::filesystem::directory_iterator(workshop_, ec); !ec && it != std::filesystem::end(it);
           it.increment(ec)) {
        if (it->is_regular_file() && it->path().extension() == ".json") names.push_back(it->path().stem().string());
      }
    }
    std::sort(names.begin(), names.end());
    if (!names.empty()) listed["workshop"] = names;
    return comfyui_json_response(c.req, http::status::ok, listed);
  }

  stream_handoff template_file(const request_context& c) const {
    comfyui_tenant(c);
    if (workshop_.empty())
      throw api_error(http::status::not_found, "not_found", "this workshop has no shared workflows");
    return file_below(c, workshop_, c.params[1]);
  }

  // GET /user/<name>/: the web UI's page. Its links are relative to its folder: /user/<name>
  // without the slash is sent to /user/<name>/.
  stream_handoff index(const request_context& c) const {
    const std::string& tenant = comfyui_tenant(c);
    const std::string_view target = view(c.req.target());
    if (!target.substr(0, target.find('?')).ends_with('/')) {
      throw api_error(http::status::found, "moved", "ComfyUI is at /user/" + tenant + "/")
          .with_header(http::field::location, tenant + "/");
    }
    return file_below(c, frontend_, "index.html");
  }

  stream_handoff static_file(const request_context& c) const {
    comfyui_tenant(c);
    return file_below(c, frontend_, c.params[1]);
  }

  stream_handoff root_asset(const request_context& c) const { return file_below(c, frontend_ / "assets", c.params[0]); }

  // The file `path` of `folder`; 404 JSON for none, or for a path that climbs out.
  stream_handoff file_below(const request_context& c, const std::filesystem::path& folder,
                            const std::string& path) const {
    const auto missing = [&] {
      return api_error(http::status::not_found, "not_found", "no such file: " + comfyq::detail::printable(path));
    };
    std::filesystem::path file;
    try {
      file = folder / checked_relative_path(path, "path", "ask for a file of the web UI");
    } catch (const invalid_input&) {
      throw missing();
    }
    std::error_code ec;
    const std::uint64_t size = std::filesystem::is_regular_file(file, ec) ? std::filesystem::file_size(file, ec) : 0;
    if (ec || !std::filesystem::is_regular_file(file)) throw missing();
    return send_download(c.req, std::make_unique<file_source>(file, size),
                         {.content_type = std::string(media_type_of_page_file(file.filename().string()))},
                         stall_limit_);
  }

  std::filesystem::path frontend_;
  std::filesystem::path workshop_;
  std::optional<web_file> extension_;
  std::chrono::seconds stall_limit_;
};

}  // namespace comfyq::server
