#pragma once
// The whole error vocabulary of comfyq, in one place.
//
// Callers catch at the level they care about, without parsing strings:
//   comfyq::error                  anything comfyq throws
//   ├─ invalid_input               the caller's input is wrong: fix it, never retry as is
//   ├─ not_found                   no such job, tenant or worker
//   ├─ lease_lost                  the lease (fencing token) is not held any more: stop working on the job
//   ├─ conflict                    the job's state does not allow this (retrying a running job): look again
//   ├─ quota_exceeded              a cap refuses this now (max_queued): retry later
//   ├─ store_unavailable           the store cannot be reached: retry later
//   ├─ comfyui_protocol_error      ComfyUI answered outside its protocol: check what runs on that port
//   └─ comfyui_unavailable         ComfyUI cannot be reached or does not answer in time: retry later
// Normal outcomes ("no job to lease", "already finished") are values, never exceptions.
// Every message starts with a stable id, "[comfyq.<code>]", and names the offending field.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace comfyq {

/// Stable error codes; `to_string` gives the id used in messages.
enum class errc : int {
  invalid_input = 1,
  not_found,
  lease_lost,
  quota_exceeded,
  store_unavailable,
  comfyui_protocol,
  comfyui_unavailable,
  conflict,
};

constexpr std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_input: return "invalid_input";
    case errc::not_found: return "not_found";
    case errc::lease_lost: return "lease_lost";
    case errc::quota_exceeded: return "quota_exceeded";
    case errc::store_unavailable: return "store_unavailable";
    case errc::comfyui_protocol: return "comfyui_protocol";
    case errc::comfyui_unavailable: return "comfyui_unavailable";
    case errc::conflict: return "conflict";
  }
  return "unknown";
}

/// Base of every exception comfyq throws.
class error : public std::runtime_error {
 public:
  errc code() const noexcept { return code_; }
  /// The input field the error is about ("tenant", "workflow.3.inputs.image"), or empty.
  const std::string& field() const noexcept { return field_; }
  /// What went wrong and how to fix it: what() without the error's id and field.
  const std::string& message() const noexcept { return message_; }

 protected:
  error(errc code, std::string field, const std::string& message)
      : std::runtime_error(format(code, field, message)), code_(code), field_(std::move(field)), message_(message) {}

 private:
  static std::string format(errc code, const std::string& field, const std::string& message) {
    std::string text = "[comfyq.";
    text += to_string(code);
    text += "] ";
    if (!field.empty()) {
      text += field;
      text += ": ";
    }
    text += message;
    return text;
  }

  errc code_;
  std::string field_;
  std::string message_;
};

/// The caller's input is wrong; the message names the field and says how to fix it.
class invalid_input : public error {
 public:
  invalid_input(std::string field, const std::string& message)
      : error(errc::invalid_input, std::move(field), message) {}
};

/// The job, tenant or worker named does not exist (or was evicted from the history).
class not_found : public error {
 public:
  not_found(std::string field, const std::string& message) : error(errc::not_found, std::move(field), message) {}
};

/// The fencing token is stale: another lease owns the job, or the job is no longer running.
class lease_lost : public error {
 public:
  lease_lost(std::string field, const std::string& message) : error(errc::lease_lost, std::move(field), message) {}
};

/// The job is not in a state that allows the call (only a queued job changes lanes, only a
/// failed or dead one is retried); nothing was changed. The message says which state it is in.
class conflict : public error {
 public:
  conflict(std::string field, const std::string& message) : error(errc::conflict, std::move(field), message) {}
};

/// A per-tenant cap refuses the request now; nothing was changed.
class quota_exceeded : public error {
 public:
  quota_exceeded(std::string field, const std::string& message)
      : error(errc::quota_exceeded, std::move(field), message) {}
};

/// The store (e.g. Redis) cannot be reached; the operation may or may not have happened only
/// where the store's documentation says so.
class store_unavailable : public error {
 public:
  explicit store_unavailable(const std::string& message) : error(errc::store_unavailable, "", message) {}
};

/// ComfyUI sent something its protocol does not allow (`field()` names the part, e.g.
/// "ws.progress.value"): a different ComfyUI version, or not ComfyUI at all on that port.
class comfyui_protocol_error : public error {
 public:
  comfyui_protocol_error(std::string field, const std::string& message)
      : error(errc::comfyui_protocol, std::move(field), message) {}
};

/// ComfyUI cannot be reached (refused, reset, no answer in time, the WebSocket dropped). The
/// message names host:port and says whether the request was sent: one that was may or may
/// not have been carried out, and request_sent() says so to code.
class comfyui_unavailable : public error {
 public:
  enum class request : bool { not_sent, sent };

  explicit comfyui_unavailable(const std::string& message, request what = request::not_sent)
      : error(errc::comfyui_unavailable, "", message), sent_(what == request::sent) {}

  /// True when the request went out before the failure: ComfyUI may have carried it out.
  bool request_sent() const noexcept { return sent_; }

 private:
  bool sent_;
};

}  // namespace comfyq
