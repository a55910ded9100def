#pragma once
// The pages people open in a browser: the instructor's dashboard at /admin/, each
// participant's page at /user/<name>/, and the files they load at /ui/<file>. The pages are
// static files the program that serves them gives (comfyq-server embeds its own,
// reference_server/web/, or reads a folder: read_web_files); everything live on them comes from
// the JSON API and the event stream. "/" sends a user to its page.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/media_types.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/router.hpp"

namespace comfyq::server {

/// A page or a file a page loads.
struct web_file {
  std::string name;  ///< admin.html and user.html are the pages; any other is served at /ui/<name>
  std::string content;
};

/// The files of `folder` (not of its subfolders), for a site that serves its own pages in place
/// of the built-in ones. Throws invalid_input naming "pages" when it is no folder or lacks a page.
inline std::vector<web_file> read_web_files(const std::filesystem::path& folder) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    throw invalid_input("pages", "'" + folder.string() + "' is not a folder; give the folder that holds admin.html, "
                                                         "user.html and the files they load");
  }
  std::vector<web_file> files;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files.push_back({entry.path().filename().string(), std::string(std::istreambuf_iterator<char>(in), {})});
    if (!in && !in.eof()) throw invalid_input("pages", "cannot read " + entry.path().string());
  }
  for (std::string_view page : {"admin.html", "user.html"}) {
    if (std::none_of(files.begin(), files.end(), [&](const web_file& f) { return f.name == page; })) {
      throw invalid_input("pages", folder.string() + " has no " + std::string(page) + "; start from a copy of "
                                                                                       "reference_server/web/");
    }
  }
  return files;
}

/// The media type of a page's file: pages, style sheets and scripts, which outputs never are
/// (media_types.hpp leaves them out), and otherwise as an output's.
inline std::string_view media_type_of_page_file(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return media_type_for(name);
}

class web_pages {
 public:
  /// With `comfyui_ui`, ComfyUI's web UI has /user/<name>/ (comfyui_frontend_api.hpp) and the
  /// participant's page is at /user/<name>/comfyq/.
  explicit web_pages(std::vector<web_file> files, bool comfyui_ui = false)
      : files_(std::move(files)), comfyui_ui_(comfyui_ui) {}

  /// Adds the pages' routes; none when there are no files.
  void add_routes(router& routes) {
    if (files_.empty()) return;
    routes.add(http::verb::get, "/", access::user, this, &web_pages::home);
    routes.add(http::verb::get, "/admin", access::admin, this, &web_pages::admin_page);
    routes.add(http::verb::get, comfyui_ui_ ? "/user/{name}/comfyq" : "/user/{name}", access::user, this,
               &web_pages::user_page);
    routes.add(http::verb::get, "/ui/{name...}", access::everyone, this, &web_pages::ui_file);
  }

 private:
  // Where a user goes first: an admin to the dashboard, a participant to its page. The
  // location is relative, so that it holds under whatever prefix a proxy serves the site at.
  response home(const request_context& c) const {
    return redirect(c.req, c.who.admin ? "admin/" : "user/" + c.who.user + "/");
  }

  response admin_page(const request_context& c) const { return page(c, "admin.html"); }

  response user_page(const request_context& c) const {
    const std::string& name = c.params[0];
    if (name != c.who.user && !c.who.admin) {
      throw api_error(http::status::forbidden, "forbidden",
                      "this is " + comfyq::detail::printable(name) + "'s page; yours is /user/" + c.who.user + "/");
    }
    if (!comfyui_ui_) return page(c, "user.html");
    // One folder deeper than the page's links to its files expect.
    response res = page(c, "user.html");
    if (res.result() == http::status::ok) {
      std::string& body = res.body();
      for (std::size_t at = body.find("\"../../ui/"); at != std::string::npos; at = body.find("\"../../ui/", at + 4)) {
        body.insert(at + 1, "../");
      }
      res.prepare_payload();
    }
    return res;
  }

  response ui_file(const request_context& c) const {
    const std::string& name = c.params[0];
    if (name != "admin.html" && name != "user.html") {
      for (const web_file& f : files_) {
        if (f.name == name) return file_response(c.req, f);
      }
    }
    throw api_error(http::status::not_found, "not_found", "no page file '" + comfyq::detail::printable(name) + "'");
  }

  // A page's links are relative to its folder: /admin without the slash is sent to /admin/.
  response page(const request_context& c, std::string_view name) const {
    const std::string_view target = view(c.req.target());
    const std::string_view path = target.substr(0, target.find('?'));
    if (!path.ends_with('/')) {
      const std::size_t last = path.rfind('/');
      return redirect(c.req, std::string(path.substr(last + 1)) + "/" + std::string(c.query.empty() ? "" : "?") +
                                 std::string(c.query));
    }
    for (const web_file& f : files_) {
      if (f.name == name) return file_response(c.req, f);
    }
    throw api_error(http::status::not_found, "not_found", "this server has no " + std::string(name));
  }

  static response file_response(const request& req, const web_file& f) {
    response res{http::status::ok, req.version()};
    res.set(http::field::content_type, std::string(media_type_of_page_file(f.name)));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    // The pages load nothing from elsewhere and run no inline script; outputs shown on them are
    // participants' files, which must never run as the site.
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'");
    res.keep_alive(req.keep_alive());
    res.body() = f.content;
    res.prepare_payload();
    return res;
  }

  static response redirect(const request& req, const std::string& location) {
    response res{http::status::found, req.version()};
    res.set(http::field::location, location);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
  }

  std::vector<web_file> files_;
  bool comfyui_ui_;
};

}  // namespace comfyq::server
