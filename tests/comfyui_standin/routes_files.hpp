#pragma once
// GET /view (a file from output, input or temp) and POST /upload/image (multipart, into
// input/temp/output, optionally a subfolder), with ComfyUI's path checks, status codes
// and duplicate-name rules. /view's preview= and channel= transcoding is not simulated:
// it serves the file as stored.

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>

#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/multipart.hpp"
#include "comfyui_standin/python_path.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

namespace files_detail {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// mimetypes.guess_type as aiohttp uses it; html, js and css are served as octet-stream.
inline std::string content_type_for(const std::string& name) {
  const std::string extension = std::filesystem::path(name).extension().string();
  static const std::pair<const char*, const char*> known[] = {
      {".png", "image/png"},   {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"}, {".webp", "image/webp"},
      {".gif", "image/gif"},   {".bmp", "image/bmp"},   {".svg", "image/svg+xml"}, {".mp4", "video/mp4"},
      {".webm", "video/webm"}, {".flac", "audio/flac"}, {".mp3", "audio/mpeg"},  {".opus", "audio/ogg"},
      {".wav", "audio/x-wav"}, {".json", "application/json"}, {".txt", "text/plain"}, {".glb", "model/gltf-binary"},
  };
  for (const auto& [suffix, type] : known) {
    if (extension == suffix) return type;
  }
  return "application/octet-stream";
}

/// An HTTP date (RFC 7231) for Last-Modified.
inline std::string http_date(std::filesystem::file_time_type time) {
  const auto system = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::file_clock::to_sys(time));
  const std::time_t seconds = std::chrono::system_clock::to_time_t(system);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return buffer;
}

/// os.path.splitext
inline std::pair<std::string, std::string> split_extension(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  const std::size_t slash = name.rfind('/');
  if (dot == std::string::npos || dot == 0 || (slash != std::string::npos && dot < slash) ||
      name.find_first_not_of('.', slash == std::string::npos ? 0 : slash + 1) >= dot) {
    return {name, ""};
  }
  return {name.substr(0, dot), name.substr(dot)};
}

}  // namespace files_detail

inline http_response get_view(const server_context& context, const http_request& request, const request_target& target) {
  using namespace files_detail;
  const auto filename = target.param("filename");
  if (!filename) return empty_response(request, http::status::not_found);
  auto [name, folder] = context.folders.split_annotation(*filename);
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) {
    return empty_response(request, http::status::bad_request);
  }
  if (!folder) folder = context.folders.by_type(target.param("type").value_or("output"));
  if (!folder) return empty_response(request, http::status::bad_request);
  if (const auto subfolder = target.param("subfolder")) {
    const std::string full = pypath::normpath(pypath::join(*folder, *subfolder));
    if (pypath::commonpath(full, *folder) != *folder) return empty_response(request, http::status::forbidden);
    folder = full;
  }
  const std::string file_name = pypath::basename(name);
  const std::string path = pypath::join(*folder, file_name);
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return empty_response(request, http::status::not_found);

  http_response response = make_response(request, http::status::ok, read_bytes(path), content_type_for(file_name));
  const auto modified = std::filesystem::last_write_time(path, error);
  std::ostringstream etag;
  etag << '"' << std::hex << modified.time_since_epoch().count() << '-' << response.body().size() << '"';
  response.set(http::field::content_disposition, "filename=\"" + file_name + "\"");
  response.set(http::field::etag, etag.str());
  response.set(http::field::last_modified, http_date(modified));
  response.set(http::field::accept_ranges, "bytes");
  return response;
}

inline http_response post_upload_image(const server_context& context, const http_request& request) {
  using namespace files_detail;
  const auto fields = parse_multipart(std_view(request[http::field::content_type]), request.body());
  const auto field = [&](std::string_view name) -> const form_field* {
    for (const auto& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  const form_field* type_field = field("type");
  const std::string type = type_field ? type_field->value : "input";
  const auto upload_folder = context.folders.by_type(type);
  if (!upload_folder) return internal_error(request);  // ComfyUI fails on an unknown type
  const form_field* image = field("image");
  if (image == nullptr || !image->filename || image->filename->empty()) {
    return empty_response(request, http::status::bad_request);
  }
  const form_field* subfolder_field = field("subfolder");
  const std::string subfolder = subfolder_field ? subfolder_field->value : "";
  const std::string folder = pypath::normpath(pypath::join(*upload_folder, pypath::normpath(subfolder)));
  std::string file_name = *image->filename;
  std::string path = pypath::normpath(pypath::join(folder, file_name));
  if (pypath::commonpath(*upload_folder, path) != *upload_folder) return empty_response(request, http::status::bad_request);
  std::error_code error;
  std::filesystem::create_directories(folder, error);

  const form_field* overwrite = field("overwrite");
  bool duplicate = false;
  if (!(overwrite && (overwrite->value == "true" || overwrite->value == "1"))) {
    const auto [stem, extension] = split_extension(file_name);
    for (int i = 1; std::filesystem::exists(path, error); ++i) {
      if (read_bytes(path) == image->value) {
        duplicate = true;
        break;
      }
      file_name = stem + " (" + std::to_string(i) + ")" + extension;
      path = pypath::join(folder, file_name);
    }
  }
  if (!duplicate) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(image->value.data(), static_cast<std::streamsize>(image->value.size()));
    if (!out) return internal_error(request);
  }
  return json_response(request, json{{"name", file_name}, {"subfolder", subfolder}, {"type", type}});
}

}  // namespace comfyq::testing::standin
