#pragma once
// What a worker publishes about itself: the ComfyUI it drives, that ComfyUI's version, GPUs
// and node set (/object_info, kept once under its sha256), and its own condition. A store keeps
// the latest registration of each worker for the dashboard; liveness and the lease a worker
// holds the store knows itself.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq {

/// What a worker says about its own condition (liveness and its lease the store knows itself).
enum class worker_condition : std::uint8_t {
  ready,         ///< takes work
  draining,      ///< finishing what it runs, taking nothing new (shutting down)
  comfyui_down,  ///< its ComfyUI does not answer; it takes nothing until it does
};

constexpr std::string_view to_string(worker_condition condition) noexcept {
  switch (condition) {
    case worker_condition::ready: return "ready";
    case worker_condition::draining: return "draining";
    case worker_condition::comfyui_down: return "comfyui_down";
  }
  return "unknown";
}

constexpr std::optional<worker_condition> parse_worker_condition(std::string_view text) noexcept {
  for (auto c : {worker_condition::ready, worker_condition::draining, worker_condition::comfyui_down}) {
    if (to_string(c) == text) return c;
  }
  return std::nullopt;
}

/// What a worker publishes about itself when it starts and whenever it changes.
struct worker_info {
  std::string id{};
  std::string comfyui{};          ///< the ComfyUI it drives, "127.0.0.1:8188"
  std::string comfyui_version{};  ///< from its /system_stats, "" while unknown
  std::string gpu{};              ///< device names from /system_stats, e.g. "cuda:0 NVIDIA H100 80GB HBM3"
  worker_condition condition = worker_condition::ready;
  std::string object_info{};      ///< sha256 (hex) of its ComfyUI's /object_info document, "" while unknown

  bool operator==(const worker_info&) const = default;
};

/// True if `text` is a SHA-256 digest as comfyq writes it: 64 lowercase hex digits.
constexpr bool is_sha256(std::string_view text) noexcept {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace detail {

/// Longest accepted comfyui, comfyui_version and gpu text.
inline constexpr std::size_t max_worker_text = 256;

// Printable ASCII only: the text goes into events as JSON and onto the dashboard as is.
inline void validate_worker_text(std::string_view field, std::string_view text) {
  bool kept = text.size() <= max_worker_text;
  for (char c : text) kept = kept && c >= 0x20 && c < 0x7f;
  if (kept) return;
  throw invalid_input(std::string(field), "'" + printable(text) + "' is not at most " +
                                              std::to_string(max_worker_text) +
                                              " printable ASCII characters; replace or drop the others");
}

inline void validate_sha256(std::string_view field, std::string_view text) {
  if (is_sha256(text)) return;
  throw invalid_input(std::string(field), "'" + printable(text) + "' is not a sha256; use the 64 lowercase hex " +
                                              "digits of the document's SHA-256");
}

}  // namespace detail

/// Throws invalid_input naming the first field of `worker` that a store cannot keep.
inline void validate_worker_info(const worker_info& worker) {
  validate_id("worker.id", worker.id);
  detail::validate_worker_text("worker.comfyui", worker.comfyui);
  detail::validate_worker_text("worker.comfyui_version", worker.comfyui_version);
  detail::validate_worker_text("worker.gpu", worker.gpu);
  if (to_string(worker.condition) == "unknown") {
    throw invalid_input("worker.condition", "is not a worker condition; use ready, draining or comfyui_down");
  }
  if (!worker.object_info.empty()) detail::validate_sha256("worker.object_info", worker.object_info);
}

/// Throws invalid_input unless `sha256` is a digest and the digest of `document`.
inline void validate_object_info(std::string_view sha256, std::string_view document) {
  detail::validate_sha256("sha256", sha256);
  std::string actual = util::sha256_hex(document);
  if (actual == sha256) return;
  throw invalid_input("document", "its sha256 is " + actual + ", not " + std::string(sha256) +
                                      "; put the document under the sha256 of its bytes");
}

}  // namespace comfyq
