#pragma once
// multipart/form-data bodies (ComfyUI's POST /upload/image): the fields by name, with the file
// name of file fields.

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace comfyq::server {

struct form_field {
  std::string name{};
  std::optional<std::string> filename{};  ///< set for file fields
  std::string value{};
};

namespace detail {

/// The value of `key="..."` (or key=token) in a header such as Content-Disposition.
inline std::optional<std::string> header_parameter(std::string_view header, std::string_view key) {
  std::size_t at = 0;
  while ((at = header.find(key, at)) != std::string_view::npos) {
    const bool starts_word = at == 0 || header[at - 1] == ';' || header[at - 1] == ' ';
    at += key.size();
    if (!starts_word || at >= header.size() || header[at] != '=') continue;
    ++at;
    if (at < header.size() && header[at] == '"') {
      const std::size_t end = header.find('"', at + 1);
      return std::string(header.substr(at + 1, end - at - 1));
    }
    return std::string(header.substr(at, header.find(';', at) - at));
  }
  return std::nullopt;
}

}  // namespace detail

/// The fields of a multipart body; empty when `content_type` has no boundary.
inline std::vector<form_field> parse_multipart(std::string_view content_type, std::string_view body) {
  std::vector<form_field> fields;
  const auto boundary = detail::header_parameter(content_type, "boundary");
  if (!boundary) return fields;
  const std::string delimiter = "--" + *boundary;
  std::size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") break;  // closing delimiter
    const std::size_t headers_start = body.find("\r\n", at);
    const std::size_t headers_end = body.find("\r\n\r\n", at);
    const std::size_t next = body.find("\r\n" + delimiter, headers_end);
    if (headers_start == std::string_view::npos || headers_end == std::string_view::npos || next == std::string_view::npos) {
      break;
    }
    form_field field;
    const std::string_view headers =
        headers_end > headers_start ? body.substr(headers_start + 2, headers_end - headers_start - 2) : std::string_view();
    for (std::size_t line_start = 0; line_start < headers.size();) {
      const std::size_t line_end = std::min(headers.find("\r\n", line_start), headers.size());
      const std::string_view line = headers.substr(line_start, line_end - line_start);
      std::string lower(line.substr(0, line.find(':')));
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-disposition") {
        field.name = detail::header_parameter(line, "name").value_or("");
        field.filename = detail::header_parameter(line, "filename");
      }
      line_start = line_end + 2;
    }
    field.value = std::string(body.substr(headers_end + 4, next - headers_end - 4));
    fields.push_back(std::move(field));
    at = next + 2;
  }
  return fields;
}

}  // namespace comfyq::server
