#pragma once
// What a worker tells its operator: one record per thing that happened, with an event name
// and fields, for a program to print as a JSON line (comfyq-worker does) or to collect.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
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

/// The level a program's --log-level names: "debug", "info", "warning" or "error".
constexpr std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (auto level : {log_level::debug, log_level::info, log_level::warning, log_level::error}) {
    if (to_string(level) == text) return level;
  }
  return std::nullopt;
}

/// A sink that writes the records at `threshold` and above to `out` as JSON lines, each with
/// the wall-clock time ("ts_ms", milliseconds since the epoch). Several threads may log at
/// once: lines never interleave. `out` must outlive the sink.
inline log_sink print_json_lines(std::ostream& out, log_level threshold = log_level::info) {
  return [&out, threshold, lock = std::make_shared<std::mutex>()](const log_record& record) {
    if (record.level < threshold) return;
    nlohmann::json line = to_json_line(record);
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    line["ts_ms"] = now.time_since_epoch().count();
    const std::string text = line.dump() + '\n';
    const std::lock_guard hold(*lock);
    out << text << std::flush;
  };
}

}  // namespace comfyq::comfyui
