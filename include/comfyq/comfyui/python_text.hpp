#pragma once
// Text the way ComfyUI's Python writes it: json.dumps (", " and ": " separators, non-ASCII
// escaped) for every HTTP body and WebSocket frame, and str()/repr() for the values it quotes in
// error details. Whatever imitates ComfyUI to its clients (comfyq-server's per-tenant API, the
// tests' stand-in) writes with these, so that lengths and bytes stay close to ComfyUI's own.

#include <string>

#include <nlohmann/json.hpp>

namespace comfyq::comfyui {

/// JSON as ComfyUI reads and echoes it: Python dicts keep insertion order, and ComfyUI echoes
/// graphs as they were sent.
using ordered_json = nlohmann::ordered_json;

inline void append_python_json(std::string& out, const ordered_json& value) {
  if (value.is_object()) {
    out += '{';
    const char* separator = "";
    for (const auto& [key, item] : value.items()) {
      out += separator;
      out += ordered_json(key).dump(-1, ' ', true);
      out += ": ";
      append_python_json(out, item);
      separator = ", ";
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    const char* separator = "";
    for (const auto& item : value) {
      out += separator;
      append_python_json(out, item);
      separator = ", ";
    }
    out += ']';
  } else {
    out += value.dump(-1, ' ', true);
  }
}

/// json.dumps(value) with Python's default separators.
inline std::string python_dumps(const ordered_json& value) {
  std::string out;
  append_python_json(out, value);
  return out;
}

/// repr(value) of the Python object json.loads would have made.
inline std::string python_repr(const ordered_json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    const char quote = text.find('\'') != std::string::npos && text.find('"') == std::string::npos ? '"' : '\'';
    std::string out(1, quote);
    for (const char c : text) {
      if (c == quote || c == '\\') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    return out + quote;
  }
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_null()) return "None";
  if (value.is_array()) {
    std::string out = "[";
    const char* separator = "";
    for (const auto& item : value) {
      out += separator + python_repr(item);
      separator = ", ";
    }
    return out + "]";
  }
  if (value.is_object()) {
    std::string out = "{";
    const char* separator = "";
    for (const auto& [key, item] : value.items()) {
      out += separator + python_repr(ordered_json(key)) + ": " + python_repr(item);
      separator = ", ";
    }
    return out + "}";
  }
  return value.dump();
}

/// str(value): strings as they are, everything else as repr().
inline std::string python_str(const ordered_json& value) {
  return value.is_string() ? value.get<std::string>() : python_repr(value);
}

}  // namespace comfyq::comfyui
