#pragma once
// The files of ComfyUI's API per tenant: GET /view of the tenant's outputs and inputs, and
// POST /upload/image and /upload/mask into its inputs, kept and served by the JSON API's file
// routes (file_api.hpp), so that both APIs see the same files.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/ids.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/file_api.hpp"
#include "comfyq/server/multipart.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class comfyui_file_api {
 public:
  /// `file_routes` keeps and serves the tenants' files; both must outlive it.
  comfyui_file_api(store::contract& store, const file_api& file_routes) : store_(store), file_routes_(file_routes) {}

  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/view", access::user, this, &comfyui_file_api::view_file);
      routes.add(http::verb::post, base + "/upload/image", access::user, this, &comfyui_file_api::upload);
      routes.add(http::verb::post, base + "/upload/mask", access::user, this, &comfyui_file_api::upload);
    }
  }

 private:
  // GET /view?filename=&subfolder=&type=: one of the tenant's outputs (subfolder "<prompt_id>[/<folder>]",
  // as its history names it) or inputs. ComfyUI's errors, with JSON bodies: 404 for no such file,
  // 400 for a file name that climbs or an unknown type, 403 for a subfolder that does.
  stream_handoff view_file(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    const query_parameters params(c.query, {"filename", "subfolder", "type"}, unknown_parameters::ignored);
    std::string filename = params.get("filename").value_or("");
    std::string type = params.get("type").value_or("output");
    for (const char* annotated : {"output", "input", "temp"}) {
      const std::string suffix = std::string(" [") + annotated + "]";
      if (filename.ends_with(suffix)) {
        filename.resize(filename.size() - suffix.size());
        type = annotated;
      }
    }
    if (filename.empty()) throw api_error(http::status::not_found, "not_found", "give the file: ?filename=", "filename");
    if (filename.starts_with('/') || filename.find("..") != std::string::npos) {
      throw api_error(http::status::bad_request, "invalid_input", "filename may not start with '/' or hold '..'",
                      "filename");
    }
    const std::string subfolder = params.get("subfolder").value_or("");
    if (climbs(subfolder)) {
      throw api_error(http::status::forbidden, "forbidden", "subfolder may not climb out of your files", "subfolder");
    }
    if (type == "input") return file_routes_.send_input(c, tenant, subfolder.empty() ? filename : subfolder + "/" + filename);
    if (type == "output") {
      const std::size_t slash = subfolder.find('/');
      const std::string id = subfolder.substr(0, slash);
      const std::optional<job> j = is_valid_id(id) ? store_.find(id) : std::nullopt;
      if (j && j->tenant == tenant) {
        return file_routes_.send_output(c, *j, slash == std::string::npos ? filename : subfolder.substr(slash + 1) + "/" + filename);
      }
      throw api_error(http::status::not_found, "not_found",
                      "no output of yours in subfolder '" + comfyq::detail::printable(subfolder) +
                          "'; an output's subfolder is its prompt_id, as GET /history names it",
                      "subfolder");
    }
    if (type == "temp") {
      throw api_error(http::status::not_found, "not_found", "previews are not kept; outputs are (type=output)", "type");
    }
    throw api_error(http::status::bad_request, "invalid_input", "type is output, input or temp", "type");
  }

  // POST /upload/image and /upload/mask (multipart: image, subfolder, overwrite): into the
  // tenant's inputs, where its workflows' LoadImage finds it by "subfolder/name". A name taken
  // by other bytes becomes "name (1).png", as in ComfyUI; taken by the same bytes, it is kept.
  response upload(const request_context& c) {
    const std::string& tenant = comfyui_tenant(c);
    comfyui_same_origin(c);
    const std::vector<form_field> fields = parse_multipart(view(c.req[http::field::content_type]), c.req.body());
    const auto field = [&](std::string_view name) -> const form_field* {
      const auto found = std::find_if(fields.begin(), fields.end(), [&](const form_field& f) { return f.name == name; });
      return found == fields.end() ? nullptr : &*found;
    };
    const form_field* image = field("image");
    if (image == nullptr || !image->filename || image->filename->empty()) {
      throw api_error(http::status::bad_request, "invalid_input",
                      "send the file as the multipart/form-data field \"image\", with its file name", "image");
    }
    if (const form_field* type = field("type"); type != nullptr && type->value != "input") {
      throw api_error(http::status::bad_request, "invalid_input",
                      "uploads go to your inputs: leave type out, or send \"input\"", "type");
    }
    const std::string subfolder = field("subfolder") != nullptr ? field("subfolder")->value : "";
    if (climbs(subfolder) || climbs(*image->filename)) {
      throw api_error(http::status::bad_request, "invalid_input", "the file may not climb out of your inputs",
                      "subfolder");
    }
    const form_field* overwrite = field("overwrite");
    const bool replace = overwrite != nullptr && (overwrite->value == "true" || overwrite->value == "1");
    std::string name = *image->filename;
    std::filesystem::path file = file_routes_.input_path(tenant, joined(subfolder, name), "image");
    bool same_bytes = false;
    for (int i = 1; !replace && std::filesystem::exists(file); ++i) {
      std::ifstream in(file, std::ios::binary);
      if (std::string(std::istreambuf_iterator<char>(in), {}) == image->value) {
        same_bytes = true;
        break;
      }
      const std::size_t dot = image->filename->rfind('.');
      const bool has_extension = dot != std::string::npos && dot > 0;
      name = image->filename->substr(0, has_extension ? dot : std::string::npos) + " (" + std::to_string(i) + ")" +
             (has_extension ? image->filename->substr(dot) : "");
      file = file_routes_.input_path(tenant, joined(subfolder, name), "image");
    }
    if (!same_bytes) file_routes_.place_input(tenant, file, image->value, joined(subfolder, name));
    return comfyui_json_response(c.req, http::status::ok, {{"name", name}, {"subfolder", subfolder}, {"type", "input"}});
  }

  static std::string joined(const std::string& folder, const std::string& name) {
    return folder.empty() ? name : folder + "/" + name;
  }

  static bool climbs(const std::string& path) {
    if (path.starts_with('/')) return true;
    for (const auto& part : std::filesystem::path(path)) {
      if (part == "..") return true;
    }
    return false;
  }

  store::contract& store_;
  const file_api& file_routes_;
};

}  // namespace comfyq::server
