#pragma once
// Reads the Redis store's replies and stored records into comfyq's model types.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/events.hpp"
#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/worker_info.hpp"

namespace comfyq::redis::detail {

inline std::int64_t to_int(std::string_view text) {
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

inline double to_double(std::string_view text) { return text.empty() ? 0.0 : std::stod(std::string(text)); }

inline time_point to_time(std::int64_t ms) { return time_point(duration(ms)); }

/// A record the scripts keep as a sequence of `count` MessagePack values (cmsgpack.pack(a, b, ...)),
/// as a JSON array: the sequence is the body of a MessagePack array, given its header.
inline nlohmann::json unpack_record(std::string_view packed, std::uint16_t count) {
  std::string array{'\xdc', static_cast<char>(count >> 8), static_cast<char>(count & 0xff)};  // array 16
  array.append(packed);
  return nlohmann::json::from_msgpack(array);
}

/// What a forecast reads of a tenant's record (scripts/tenants.hpp).
struct tenant_record {
  double weight = 1.0;
  std::uint32_t max_running = 0;
  bool paused = false;
  double settled_clock = 0.0;
  double in_flight = 0.0;
  std::uint64_t turn = 0;
  std::uint32_t running = 0;
};

inline tenant_record decode_tenant_record(std::string_view packed) {
  const nlohmann::json r = unpack_record(packed, 15);  // w mr mq pz sc inf turn run qd gpu hs hj em es cs
  return tenant_record{.weight = r.at(0).get<double>(),
                       .max_running = r.at(1).get<std::uint32_t>(),
                       .paused = r.at(3).get<bool>(),
                       .settled_clock = r.at(4).get<double>(),
                       .in_flight = r.at(5).get<double>(),
                       .turn = r.at(6).get<std::uint64_t>(),
                       .running = r.at(7).get<std::uint32_t>()};
}

/// What a forecast reads of a job's record (scripts/jobs.hpp).
struct job_record {
  std::string tenant{};
  std::string shape{};
  bool priority = false;
  bool queued = false;
  std::uint64_t seq = 0;
  std::uint64_t token = 0;
  time_point started_at{};
  duration charged{};
  duration estimate{};  ///< the submitter's; 0: none
};

inline job_record decode_job_record(std::string_view packed) {
  // t sh pr s seq sub att fl tok wk st hb exp chg cr pre why fin est
  const nlohmann::json r = unpack_record(packed, 19);
  return job_record{.tenant = r.at(0).get<std::string>(),
                    .shape = r.at(1).get<std::string>(),
                    .priority = r.at(2).get<bool>(),
                    .queued = r.at(3).get<std::string>() == "queued",
                    .seq = r.at(4).get<std::uint64_t>(),
                    .token = r.at(8).get<std::uint64_t>(),
                    .started_at = to_time(r.at(10).get<std::int64_t>()),
                    .charged = duration(r.at(13).get<std::int64_t>()),
                    .estimate = duration(r.at(18).get<std::int64_t>())};
}

/// The lease array {id, tenant, worker, workflow, token, attempt, priority, expires_at, estimate}.
inline std::optional<lease> decode_lease(reply_view r) {
  if (r.is_nil()) return std::nullopt;
  return lease{.job_id = std::string(r.at(0).string()),
               .tenant = std::string(r.at(1).string()),
               .worker = std::string(r.at(2).string()),
               .workflow = std::string(r.at(3).string()),
               .token = static_cast<std::uint64_t>(r.at(4).integer()),
               .attempt = static_cast<std::uint32_t>(r.at(5).integer()),
               .priority = r.at(6).integer() != 0,
               .expires_at = to_time(r.at(7).integer()),
               .estimate = duration(r.at(8).integer())};
}

/// A lease handed to a waiting worker: the same array, packed with MessagePack in its mailbox.
inline lease decode_packed_lease(std::string_view packed) {
  const nlohmann::json a = nlohmann::json::from_msgpack(packed.begin(), packed.end());
  return lease{.job_id = a.at(0).get<std::string>(),
               .tenant = a.at(1).get<std::string>(),
               .worker = a.at(2).get<std::string>(),
               .workflow = a.at(3).get<std::string>(),
               .token = a.at(4).get<std::uint64_t>(),
               .attempt = a.at(5).get<std::uint32_t>(),
               .priority = a.at(6).get<int>() != 0,
               .expires_at = to_time(a.at(7).get<std::int64_t>()),
               .estimate = duration(a.at(8).get<std::int64_t>())};
}

/// get_job's reply {field, value, ...}, workflow, outputs JSON ('' for none).
inline job decode_job(std::string_view id, reply_view r) {
  job j;
  j.id = std::string(id);
  reply_view fields = r.at(0);
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    std::string_view name = fields.at(i).string();
    std::string_view value = fields.at(i + 1).string();
    if (name == "t") j.tenant = std::string(value);
    else if (name == "sh") j.shape = std::string(value);
    else if (name == "pr") j.priority = value == "1";
    else if (name == "s") j.state = parse_job_state(value).value_or(job_state::queued);
    else if (name == "seq") j.seq = static_cast<std::uint64_t>(to_int(value));
    else if (name == "sub") j.submitted_at = to_time(to_int(value));
    else if (name == "att") j.attempt = static_cast<std::uint32_t>(to_int(value));
    else if (name == "fl") j.failures = static_cast<std::uint32_t>(to_int(value));
    else if (name == "tok") j.token = static_cast<std::uint64_t>(to_int(value));
    else if (name == "wk") j.worker = std::string(value);
    else if (name == "st") j.started_at = to_time(to_int(value));
    else if (name == "hb") j.last_heartbeat = to_time(to_int(value));
    else if (name == "exp") j.lease_expires_at = to_time(to_int(value));
    else if (name == "chg") j.charged = duration(to_int(value));
    else if (name == "est") j.estimate = duration(to_int(value));
    else if (name == "cr") j.cancel_requested = value == "1";
    else if (name == "pre") j.preempt_requested = value == "1";
    else if (name == "why") j.reason = std::string(value);
    else if (name == "fin") j.finished_at = to_time(to_int(value));
  }
  j.workflow = std::string(r.at(1).string());
  if (std::string_view outputs = r.at(2).string(); !outputs.empty()) {
    j.outputs = nlohmann::json::parse(outputs).get<std::vector<manifest_entry>>();
  }
  return j;
}

/// One stream entry {id, {field, value, ...}}.
inline event decode_event(reply_view fields) {
  event e;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    std::string_view name = fields.at(i).string();
    std::string_view value = fields.at(i + 1).string();
    if (name == "type") e.type = parse_event_type(value).value_or(event_type::progress);
    else if (name == "at") e.at = to_time(to_int(value));
    else if (name == "job") e.job = std::string(value);
    else if (name == "tenant") e.tenant = std::string(value);
    else if (name == "worker") e.worker = std::string(value);
    else if (name == "attempt") e.attempt = static_cast<std::uint32_t>(to_int(value));
    else if (name == "reason") e.reason = std::string(value);
    else if (name == "data") e.data = nlohmann::json::parse(value);
  }
  return e;
}

/// The snapshot script's reply (see scripts/queries.hpp).
inline queue_snapshot decode_snapshot(reply_view r) {
  queue_snapshot s;
  s.at = to_time(r.at(0).integer());
  s.policy = parse_policy(r.at(1).string()).value_or(policy::fair_share);
  s.paused = r.at(2).integer() != 0;
  s.preemption = r.at(7).integer() != 0;
  duration worker_ttl(r.at(3).integer());
  reply_view counts = r.at(4);
  s.succeeded = static_cast<std::size_t>(counts.at(0).integer());
  s.failed = static_cast<std::size_t>(counts.at(1).integer());
  s.cancelled = static_cast<std::size_t>(counts.at(2).integer());
  s.dead = static_cast<std::size_t>(counts.at(3).integer());
  for (reply_view t : r.at(5).elements()) {
    tenant_snapshot view;
    view.config.id = std::string(t.at(0).string());
    view.config.weight = to_double(t.at(1).string());
    view.config.max_running = static_cast<std::uint32_t>(to_int(t.at(2).string()));
    view.config.max_queued = static_cast<std::uint32_t>(to_int(t.at(3).string()));
    view.paused = t.at(4).string() == "1";
    view.queued = static_cast<std::uint32_t>(to_int(t.at(5).string()));
    view.running = static_cast<std::uint32_t>(to_int(t.at(6).string()));
    view.gpu_time = duration(to_int(t.at(7).string()));
    view.virtual_clock = to_double(t.at(8).string()) + to_double(t.at(9).string());
    view.queued_priority = static_cast<std::uint32_t>(to_int(t.at(10).string()));
    s.queued += view.queued;
    s.running += view.running;
    s.gpu_time += view.gpu_time;
    s.tenants.push_back(std::move(view));
  }
  for (tenant_snapshot& t : s.tenants) {
    t.share = s.gpu_time.count() > 0 ? static_cast<double>(t.gpu_time.count()) / static_cast<double>(s.gpu_time.count())
                                     : 0.0;
  }
  std::sort(s.tenants.begin(), s.tenants.end(),
            [](const tenant_snapshot& a, const tenant_snapshot& b) { return a.config.id < b.config.id; });
  for (reply_view w : r.at(6).elements()) {
    worker_snapshot view;
    view.id = std::string(w.at(0).string());
    view.last_seen = to_time(to_int(w.at(1).string()));
    view.job = std::string(w.at(2).string());
    view.comfyui = std::string(w.at(3).string());
    view.comfyui_version = std::string(w.at(4).string());
    view.gpu = std::string(w.at(5).string());
    worker_condition condition = parse_worker_condition(w.at(6).string()).value_or(worker_condition::ready);
    view.object_info = std::string(w.at(7).string());
    const bool drained = w.at(8).integer() != 0;
    view.state = worker_state_of(view.last_seen, s.at, worker_ttl, condition, !view.job.empty(), drained);
    s.workers.push_back(std::move(view));
  }
  std::sort(s.workers.begin(), s.workers.end(),
            [](const worker_snapshot& a, const worker_snapshot& b) { return a.id < b.id; });
  return s;
}

}  // namespace comfyq::redis::detail
