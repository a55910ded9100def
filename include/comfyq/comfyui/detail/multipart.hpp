#pragma once
// multipart/form-data bodies, the encoding of POST /upload/image.

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace comfyq::comfyui::detail {

/// One field of a form; a file field has a file name.
struct form_field {
  std::string_view name;
  std::string_view value;
  std::string_view filename{};
};

/// A form ready to send: its body and the Content-Type that names its boundary.
struct multipart_form {
  std::string content_type;
  std::string body;
};

/// Encodes `fields`. Names and file names go into quoted headers as they are: the caller
/// refuses those holding '"', CR or LF.
inline multipart_form encode_multipart(const std::vector<form_field>& fields) {
  // A random boundary, lengthened until no value contains it (an image may hold any bytes).
  std::mt19937_64 random{std::random_device{}()};
  std::string boundary = "comfyq-form-";
  const auto occurs = [&] {
    for (const auto& field : fields) {
      if (field.value.find(boundary) != std::string_view::npos) return true;
    }
    return false;
  };
  do {
    boundary += std::to_string(random());
  } while (occurs());

  multipart_form form{"multipart/form-data; boundary=" + boundary, ""};
  for (const auto& field : fields) {
    form.body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + std::string(field.name) + "\"";
    if (!field.filename.empty()) {
      form.body += "; filename=\"" + std::string(field.filename) + "\"\r\nContent-Type: application/octet-stream";
    }
    form.body += "\r\n\r\n";
    form.body += field.value;
    form.body += "\r\n";
  }
  form.body += "--" + boundary + "--\r\n";
  return form;
}

}  // namespace comfyq::comfyui::detail
