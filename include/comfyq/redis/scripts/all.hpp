#pragma once
// The Redis store's Lua: one library of Redis Functions (see the fragments' headers for the key
// layout). Every fragment is defined once, when the library is loaded; each function is then one
// call: one per state transition (atomic, one round trip), and the reads that need one instant.

#include <array>
#include <cstddef>
#include <string_view>

#include "comfyq/redis/function_library.hpp"
#include "comfyq/redis/scripts/estimates.hpp"
#include "comfyq/redis/scripts/events.hpp"
#include "comfyq/redis/scripts/forecast.hpp"
#include "comfyq/redis/scripts/jobs.hpp"
#include "comfyq/redis/scripts/join.hpp"
#include "comfyq/redis/scripts/leases.hpp"
#include "comfyq/redis/scripts/prelude.hpp"
#include "comfyq/redis/scripts/queries.hpp"
#include "comfyq/redis/scripts/tenants.hpp"
#include "comfyq/redis/scripts/transitions.hpp"
#include "comfyq/redis/scripts/workers.hpp"

namespace comfyq::redis::scripts {

/// Registers the functions that start with begin(), the prelude's. Those that only read are
/// flagged no-writes, so that Redis still runs them when it is out of memory.
inline constexpr std::string_view definitions = R"lua(
local READS, WRITES = {'no-writes'}, {}
local function define(name, flags, body)
  redis.register_function{function_name = FUNCTION_PREFIX .. name, flags = flags, callback = function(KEYS, ARGV)
    local refused = begin(KEYS, ARGV)
    if refused then return refused end
    return body(KEYS, ARGV)
  end}
end
)lua";

/// Every fragment, in an order where each comes after what it calls.
inline constexpr std::string_view fragments =
    joined<prelude, events, configuration, tenant_record, tenants, estimates, job_record, presence, dispatch, run_ends,
           expiry, held, mailbox, submission, job_reply, definitions>::value;

namespace library_parts {

enum class kind { writes, reads, configures };

struct definition {
  std::string_view name;
  kind what;
  std::string_view body;
};

inline constexpr definition functions[] = {
    {"configure", kind::configures, configure},
    {"submit", kind::writes, submit_body},
    {"submit_many", kind::writes, submit_many_body},
    {"lease", kind::writes, lease_body},
    {"stop_waiting", kind::writes, stop_waiting_body},
    {"heartbeat", kind::writes, heartbeat_body},
    {"stop_request", kind::writes, stop_request_body},
    {"held_lease", kind::writes, held_lease_body},
    {"progress", kind::writes, progress_body},
    {"complete", kind::writes, complete_body},
    {"fail", kind::writes, fail_body},
    {"release", kind::writes, release_body},
    {"cancel", kind::writes, cancel_body},
    {"set_priority", kind::writes, set_priority_body},
    {"retry", kind::writes, retry_body},
    {"expire", kind::writes, expire_body},
    {"touch", kind::writes, touch_body},
    {"register_worker", kind::writes, register_worker_body},
    {"remove_worker", kind::writes, remove_worker_body},
    {"drain_worker", kind::writes, drain_worker_body},
    {"set_tenant", kind::writes, set_tenant_body},
    {"pause_tenant", kind::writes, pause_tenant_body},
    {"pause_queue", kind::writes, pause_queue_body},
    {"set_policy", kind::writes, set_policy_body},
    {"set_preemption", kind::writes, set_preemption_body},
    {"get_job", kind::reads, get_job_body},
    {"list_jobs", kind::reads, list_jobs_body},
    {"find_tenant", kind::reads, find_tenant_body},
    {"ttls", kind::reads, ttls_body},
    {"snapshot", kind::reads, snapshot_body},
    {"forecast_sync", kind::reads, forecast_sync_body},
    {"forecast_lanes", kind::reads, forecast_lanes_body},
};

// The registration of each function, after the fragments; `out` null only counts.
constexpr std::size_t write_registrations(char* out) {
  std::size_t at = 0;
  auto put = [&](std::string_view text) {
    for (char c : text) {
      if (out) out[at] = c;
      ++at;
    }
  };
  for (const definition& d : functions) {
    if (d.what == kind::configures) {
      put("redis.register_function(FUNCTION_PREFIX .. '");
      put(d.name);
      put("', function(KEYS, ARGV)\n");
    } else {
      put("define('");
      put(d.name);
      put(d.what == kind::reads ? "', READS, function(KEYS, ARGV)\n" : "', WRITES, function(KEYS, ARGV)\n");
    }
    put(d.body);
    put("\nend)\n");
  }
  return at;
}

inline constexpr auto registrations = [] {
  std::array<char, write_registrations(nullptr)> text{};
  write_registrations(text.data());
  return text;
}();
inline constexpr std::string_view registrations_text{registrations.data(), registrations.size()};

}  // namespace library_parts

inline const function_library library{"comfyq", joined<fragments, library_parts::registrations_text>::value};

inline const library_function configure_queue{library, "configure"};
inline const library_function submit_job{library, "submit"};
inline const library_function submit_jobs{library, "submit_many"};
inline const library_function lease_job{library, "lease"};
inline const library_function stop_waiting{library, "stop_waiting"};
inline const library_function heartbeat_job{library, "heartbeat"};
inline const library_function read_stop_request{library, "stop_request"};
inline const library_function held_lease{library, "held_lease"};
inline const library_function report_progress{library, "progress"};
inline const library_function complete_job{library, "complete"};
inline const library_function fail_job{library, "fail"};
inline const library_function release_job{library, "release"};
inline const library_function cancel_job{library, "cancel"};
inline const library_function set_job_priority{library, "set_priority"};
inline const library_function retry_job{library, "retry"};
inline const library_function expire_leases{library, "expire"};
inline const library_function touch_worker{library, "touch"};
inline const library_function register_worker{library, "register_worker"};
inline const library_function remove_worker{library, "remove_worker"};
inline const library_function drain_worker{library, "drain_worker"};
inline const library_function set_tenant{library, "set_tenant"};
inline const library_function pause_tenant{library, "pause_tenant"};
inline const library_function pause_queue{library, "pause_queue"};
inline const library_function set_policy{library, "set_policy"};
inline const library_function set_preemption{library, "set_preemption"};
inline const library_function read_job{library, "get_job"};
inline const library_function list_jobs{library, "list_jobs"};
inline const library_function read_tenant_settings{library, "find_tenant"};
inline const library_function read_ttls{library, "ttls"};
inline const library_function read_snapshot{library, "snapshot"};
inline const library_function sync_forecast{library, "forecast_sync"};
inline const library_function read_forecast_lanes{library, "forecast_lanes"};

/// Starts a script of its own (EVALSHA) as the library's functions start.
inline constexpr std::string_view begin_script = R"lua(
local refused = begin(KEYS, ARGV)
if refused then return refused end
)lua";

/// A script of its own that reads the queue as the library's reads do: for tools that need a read
/// the library has not.
template <const std::string_view& Body>
inline constexpr std::string_view query = joined<prelude, tenant_record, job_record, begin_script, Body>::value;

}  // namespace comfyq::redis::scripts
