#pragma once
// JSON forms of the job model, events, snapshots and settings: what the Redis store and the
// HTTP server exchange. nlohmann::json finds the conversions by argument-dependent lookup:
//
//   nlohmann::json j = job;                    // to_json
//   auto back = j.get<comfyq::job>();          // from_json: equal to `job`
//
// Enums are their to_string names ("fair_share"). Durations are integer milliseconds in fields
// named *_ms ("charged_ms"), instants integer milliseconds since the Unix epoch
// ("submitted_at_ms"). A max_running or max_queued of `unlimited` is null; an empty optional
// (a queue position's eta_ms) is left out.
//
// Reading never lets a nlohmann exception through: a missing required field, a value of the
// wrong type and an unknown enum name throw comfyq::invalid_input naming the field, with its
// path below the top ("outputs.2.size", "tenants.0.config.weight"). Fields it does not know
// are ignored. Required are what identifies a value and what it always carries: every field
// of a manifest entry, a lease, a lease status and the snapshots; a job's fields from its
// submission (id, tenant, workflow, shape, priority, state, seq, submitted_at_ms); an event's
// type and at_ms; a submit request's workflow. Everything else may be left out and keeps its
// default: settings (scheduler_config, tenant_config), the rest of a submit request (the
// server may fill in the tenant), what a job gains as it runs, an event's details.
//
// Each type lists its fields once (`fields` below); writing and reading both follow that list,
// so a value always reads back equal to what was written.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/scheduler_config.hpp"
#include "comfyq/snapshot.hpp"

// Helpers in a namespace of their own: names like `cap` and `fields` stay out of comfyq::detail.
namespace comfyq::detail::json_io {

using json = nlohmann::json;

/// Durations and instants become integer milliseconds: the one conversion used for every *_ms field.
inline std::int64_t to_ms(duration d) noexcept { return d.count(); }
inline std::int64_t to_ms(time_point t) noexcept { return t.time_since_epoch().count(); }

/// A per-tenant cap (max_running, max_queued), written as null when it is `unlimited`.
template <class Count>
struct cap {
  Count& count;
};
template <class Count>
cap(Count&) -> cap<Count>;

/// T or const T: one field list serves writing (const) and reading.
template <class T, class Model>
concept maybe_const = std::same_as<std::remove_const_t<T>, Model>;

/// A value for an error message: scalars as JSON text (shortened), containers by their type.
inline std::string describe(const json& value) {
  if (value.is_structured()) return std::string(value.is_object() ? "an object" : "an array");
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// ---- reading one value ------------------------------------------------------------------

inline void read_value(const json& value, std::string& out, const std::string& field) {
  if (!value.is_string()) throw invalid_input(field, "must be a string, got " + describe(value));
  out = value.get_ref<const std::string&>();
}

inline void read_value(const json& value, bool& out, const std::string& field) {
  if (!value.is_boolean()) throw invalid_input(field, "must be true or false, got " + describe(value));
  out = value.get<bool>();
}

inline void read_value(const json& value, double& out, const std::string& field) {
  if (!value.is_number()) throw invalid_input(field, "must be a number, got " + describe(value));
  out = value.get<double>();
}

template <class Unsigned>
  requires std::unsigned_integral<Unsigned> && (!std::same_as<Unsigned, bool>)
void read_value(const json& value, Unsigned& out, const std::string& field) {
  constexpr std::uint64_t max = std::numeric_limits<Unsigned>::max();
  const bool in_range = value.is_number_unsigned()  ? value.get<std::uint64_t>() <= max
                        : value.is_number_integer() ? value.get<std::int64_t>() >= 0 &&
                                                          static_cast<std::uint64_t>(value.get<std::int64_t>()) <= max
                                                    : false;
  if (!in_range) {
    throw invalid_input(field, "must be a whole number from 0 to " + std::to_string(max) + ", got " + describe(value));
  }
  out = static_cast<Unsigned>(value.get<std::uint64_t>());
}

inline std::int64_t read_milliseconds(const json& value, const std::string& field) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (value.is_number_integer() && !(value.is_number_unsigned() && value.get<std::uint64_t>() > max)) {
    return value.get<std::int64_t>();
  }
  throw invalid_input(field, "must be a whole number of milliseconds, got " + describe(value));
}

inline void read_value(const json& value, duration& out, const std::string& field) {
  out = duration{read_milliseconds(value, field)};
}

inline void read_value(const json& value, time_point& out, const std::string& field) {
  out = time_point{duration{read_milliseconds(value, field)}};
}

/// Absent or null: no time.
inline void read_value(const json& value, std::optional<time_point>& out, const std::string& field) {
  if (value.is_null()) {
    out.reset();
  } else {
    read_value(value, out.emplace(), field);
  }
}

inline void read_value(const json& value, cap<std::uint32_t> out, const std::string& field) {
  if (value.is_null()) {
    out.count = unlimited;
  } else {
    read_value(value, out.count, field);
  }
}

inline void read_value(const json& value, json& out, const std::string&) { out = value; }

/// Every value of a comfyq enum: they count up from 0 and to_string names no others.
template <class Enum, class Visit>
void for_each_value(Visit&& visit) {
  using underlying = std::underlying_type_t<Enum>;
  for (underlying i = 0; i < std::numeric_limits<underlying>::max(); ++i) {
    if (to_string(static_cast<Enum>(i)) == "unknown") return;
    visit(static_cast<Enum>(i));
  }
}

/// The enum value named by `value`; `what` is what the enum is called in messages ("policy").
template <class Enum>
Enum read_enum(const json& value, const std::string& field, const char* what) {
  std::optional<Enum> found;
  std::string names;
  for_each_value<Enum>([&](Enum candidate) {
    if (value.is_string() && value.get_ref<const std::string&>() == to_string(candidate)) found = candidate;
    names += names.empty() ? "" : ", ";
    names += to_string(candidate);
  });
  if (found) return *found;
  throw invalid_input(field, describe(value) + " is not a " + what + "; use one of: " + names);
}

inline void read_value(const json& value, job_state& out, const std::string& field) {
  out = read_enum<job_state>(value, field, "job state");
}
inline void read_value(const json& value, policy& out, const std::string& field) {
  out = read_enum<policy>(value, field, "policy");
}
inline void read_value(const json& value, worker_state& out, const std::string& field) {
  out = read_enum<worker_state>(value, field, "worker state");
}
inline void read_value(const json& value, event_type& out, const std::string& field) {
  out = read_enum<event_type>(value, field, "event type");
}

class object_reader;

/// Types with a field list: tenant_config, job, the snapshots, ...
template <class Model>
concept has_fields = requires(object_reader& reader, Model& model) { fields(reader, model); };

template <has_fields Model>
void read_value(const json& value, Model& out, const std::string& field);

template <class Item>
void read_value(const json& value, std::vector<Item>& out, const std::string& field);

// ---- one object's fields -----------------------------------------------------------------

/// Reads the fields of one JSON object; `field` is the object's own path ("" at the top).
class object_reader {
 public:
  object_reader(const json& object, const std::string& field)
      : object_(object), prefix_(field.empty() ? field : field + ".") {
    if (!object.is_object()) throw invalid_input(field, "must be a JSON object, got " + describe(object));
  }

  template <class T>
  void required(const char* key, T&& out) {
    auto it = object_.find(key);
    if (it == object_.end()) throw invalid_input(prefix_ + key, "is missing; it is required");
    read_value(*it, out, prefix_ + key);
  }

  template <class T>
  void optional(const char* key, T&& out) {
    auto it = object_.find(key);
    if (it != object_.end()) read_value(*it, out, prefix_ + key);
  }

 private:
  const json& object_;
  std::string prefix_;
};

/// Writes the fields of one JSON object; required and optional fields are all written.
class object_writer {
 public:
  explicit object_writer(json& out) : out_(out) { out_ = json::object(); }

  template <class T>
  void required(const char* key, const T& value) {
    put(key, value);
  }
  template <class T>
  void optional(const char* key, const T& value) {
    put(key, value);
  }

 private:
  template <class T>
  void put(const char* key, const T& value) {
    out_[key] = value;
  }
  void put(const char* key, duration value) { out_[key] = to_ms(value); }
  void put(const char* key, time_point value) { out_[key] = to_ms(value); }
  void put(const char* key, const std::optional<time_point>& value) {
    if (value) put(key, *value);
  }
  void put(const char* key, cap<const std::uint32_t> value) {
    out_[key] = value.count == unlimited ? json(nullptr) : json(value.count);
  }

  json& out_;
};

template <has_fields Model>
void read_value(const json& value, Model& out, const std::string& field) {
  object_reader reader(value, field);
  fields(reader, out);
}

template <class Item>
void read_value(const json& value, std::vector<Item>& out, const std::string& field) {
  if (!value.is_array()) throw invalid_input(field, "must be a JSON array, got " + describe(value));
  out.clear();
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    read_value(value[i], out.emplace_back(), field + "." + std::to_string(i));
  }
}

template <class Model>
void write_object(json& out, const Model& model) {
  object_writer writer(out);
  fields(writer, model);
}

// ---- the field lists ----------------------------------------------------------------------

template <class Io>
void fields(Io& io, maybe_const<tenant_config> auto& t) {
  io.optional("id", t.id);  // may come from the request's path instead
  io.optional("weight", t.weight);
  io.optional("max_running", cap{t.max_running});
  io.optional("max_queued", cap{t.max_queued});
}

template <class Io>
void fields(Io& io, maybe_const<manifest_entry> auto& m) {
  io.required("name", m.name);
  io.required("size", m.size);
  io.required("sha256", m.sha256);
  io.required("media_type", m.media_type);
  io.required("node", m.node);
}

template <class Io>
void fields(Io& io, maybe_const<submit_request> auto& r) {
  io.optional("tenant", r.tenant);
  io.required("workflow", r.workflow);
  io.optional("shape", r.shape);
  io.optional("priority", r.priority);
  io.optional("id", r.id);
  io.optional("estimate_ms", r.estimate);
}

template <class Io>
void fields(Io& io, maybe_const<job> auto& j) {
  io.required("id", j.id);
  io.required("tenant", j.tenant);
  io.required("workflow", j.workflow);
  io.required("shape", j.shape);
  io.required("priority", j.priority);
  io.optional("estimate_ms", j.estimate);
  io.required("state", j.state);
  io.required("seq", j.seq);
  io.required("submitted_at_ms", j.submitted_at);
  io.optional("started_at_ms", j.started_at);
  io.optional("finished_at_ms", j.finished_at);
  io.optional("attempt", j.attempt);
  io.optional("failures", j.failures);
  io.optional("token", j.token);
  io.optional("worker", j.worker);
  io.optional("lease_expires_at_ms", j.lease_expires_at);
  io.optional("last_heartbeat_ms", j.last_heartbeat);
  io.optional("charged_ms", j.charged);
  io.optional("cancel_requested", j.cancel_requested);
  io.optional("preempt_requested", j.preempt_requested);
  io.optional("reason", j.reason);
  io.optional("outputs", j.outputs);
}

template <class Io>
void fields(Io& io, maybe_const<lease> auto& l) {
  io.required("job_id", l.job_id);
  io.required("tenant", l.tenant);
  io.required("worker", l.worker);
  io.required("workflow", l.workflow);
  io.required("token", l.token);
  io.required("attempt", l.attempt);
  io.required("priority", l.priority);
  io.required("expires_at_ms", l.expires_at);
  io.required("estimate_ms", l.estimate);
}

template <class Io>
void fields(Io& io, maybe_const<lease_status> auto& s) {
  io.required("expires_at_ms", s.expires_at);
  io.required("cancel_requested", s.cancel_requested);
  io.required("preempt_requested", s.preempt_requested);
}

template <class Io>
void fields(Io& io, maybe_const<event> auto& e) {
  io.required("type", e.type);
  io.required("at_ms", e.at);
  io.optional("job", e.job);
  io.optional("tenant", e.tenant);
  io.optional("worker", e.worker);
  io.optional("attempt", e.attempt);
  io.optional("reason", e.reason);
  io.optional("data", e.data);
}

template <class Io>
void fields(Io& io, maybe_const<tenant_snapshot> auto& t) {
  io.required("config", t.config);
  io.required("paused", t.paused);
  io.required("queued", t.queued);
  io.required("queued_priority", t.queued_priority);
  io.required("running", t.running);
  io.required("gpu_time_ms", t.gpu_time);
  io.required("share", t.share);
  io.required("virtual_clock", t.virtual_clock);
}

template <class Io>
void fields(Io& io, maybe_const<worker_snapshot> auto& w) {
  io.required("id", w.id);
  io.required("state", w.state);
  io.required("job", w.job);
  io.required("last_seen_ms", w.last_seen);
  io.required("comfyui", w.comfyui);
  io.required("comfyui_version", w.comfyui_version);
  io.required("gpu", w.gpu);
  io.required("object_info", w.object_info);
}

template <class Io>
void fields(Io& io, maybe_const<queue_snapshot> auto& s) {
  io.required("at_ms", s.at);
  io.required("policy", s.policy);
  io.required("paused", s.paused);
  io.required("tenants", s.tenants);
  io.required("workers", s.workers);
  io.required("queued", s.queued);
  io.required("running", s.running);
  io.required("succeeded", s.succeeded);
  io.required("failed", s.failed);
  io.required("cancelled", s.cancelled);
  io.required("dead", s.dead);
  io.required("gpu_time_ms", s.gpu_time);
}

template <class Io>
void fields(Io& io, maybe_const<queue_position> auto& p) {
  io.required("job", p.job);
  io.required("position", p.position);
  io.optional("eta_ms", p.eta);
}

template <class Io>
void fields(Io& io, maybe_const<scheduler_config> auto& c) {
  io.optional("policy", c.policy);
  io.optional("lease_ttl_ms", c.lease_ttl);
  io.optional("worker_ttl_ms", c.worker_ttl);
  io.optional("max_attempts", c.max_attempts);
  io.optional("history_limit", c.history_limit);
  io.optional("default_estimate_ms", c.default_estimate);
  io.optional("estimate_smoothing", c.estimate_smoothing);
  io.optional("preemption", c.preemption);
  io.optional("new_tenant", c.new_tenant);
  io.optional("forecast_reuse_ms", c.forecast_reuse);
}

}  // namespace comfyq::detail::json_io

namespace comfyq {

inline void to_json(nlohmann::json& j, job_state value) { j = std::string(to_string(value)); }
inline void to_json(nlohmann::json& j, policy value) { j = std::string(to_string(value)); }
inline void to_json(nlohmann::json& j, worker_state value) { j = std::string(to_string(value)); }
inline void to_json(nlohmann::json& j, event_type value) { j = std::string(to_string(value)); }

inline void from_json(const nlohmann::json& j, job_state& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, policy& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, worker_state& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, event_type& value) { detail::json_io::read_value(j, value, ""); }

inline void to_json(nlohmann::json& j, const tenant_config& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const manifest_entry& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const submit_request& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const job& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const lease& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const lease_status& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const event& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const tenant_snapshot& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const worker_snapshot& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const queue_snapshot& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const queue_position& value) { detail::json_io::write_object(j, value); }
inline void to_json(nlohmann::json& j, const scheduler_config& value) { detail::json_io::write_object(j, value); }

inline void from_json(const nlohmann::json& j, tenant_config& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, manifest_entry& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, submit_request& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, job& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, lease& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, lease_status& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, event& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, tenant_snapshot& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, worker_snapshot& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, queue_snapshot& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, queue_position& value) { detail::json_io::read_value(j, value, ""); }
inline void from_json(const nlohmann::json& j, scheduler_config& value) { detail::json_io::read_value(j, value, ""); }

}  // namespace comfyq
