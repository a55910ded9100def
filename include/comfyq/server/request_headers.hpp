#pragma once
// A request's header fields as the auth decisions read them: plain (name, value) views, so the
// decisions stay free of any HTTP library. Field names compare without regard to case.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace comfyq::server {

/// One header field of a request, as received.
struct header_field {
  std::string_view name;
  std::string_view value;
};

/// True if `a` and `b` differ at most in the case of ASCII letters: how HTTP compares field
/// names and authentication schemes.
constexpr bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// The values of every field named `name`, in the order received (a field may be repeated).
inline std::vector<std::string_view> header_values(std::span<const header_field> headers, std::string_view name) {
  std::vector<std::string_view> values;
  for (const header_field& field : headers) {
    if (equals_ignoring_case(field.name, name)) values.push_back(field.value);
  }
  return values;
}

}  // namespace comfyq::server
