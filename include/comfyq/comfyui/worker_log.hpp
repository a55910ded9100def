#pragma once
// What a worker tells its operator: one record per thing that happened, with an event name
// and fields, for a program to print as a JSON line (comfyq-worker does) or to collect.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace comfyq::comfyui {

enum class log_level : std::uint8_t { debug, info, warning, error };

constexpr std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

struct log_record {
  log_level level = log_level::info;
  std::string event{};  ///< what happened, e.g. "job.succeeded", "comfyui.down"
  nlohmann::json fields = nlohmann::json::object();  ///< job, tenant, attempt, reason, ...
};

/// Receives every record; called from the worker's thread.
using log_sink = std::function<void(const log_record&)>;

/// {"level": ..., "event": ..., <fields>}: one line of structured log.
inline nlohmann::json to_json_line(const log_record& record) {
  nlohmann::json line = {{"level", to_string(record.level)}, {"event", record.event}};
  for (const auto& [key, value] : record.fields.items()) line[key] = value;
  return line;
}

}  // namespace comfyq::comfyui
