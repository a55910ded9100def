#pragma once
// Every script of the Redis store, each one Lua chunk made of the fragments it needs and its
// body (see the fragments' headers for the key layout). One script per state transition:
// atomic, one round trip.

#include <string_view>

#include "comfyq/redis/script.hpp"
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

/// A transition's script: what every transition needs (it may make work startable, and hands it to
/// waiting workers), the fragments of its own, then its body. Each script carries only the
/// functions it may call: every function defined costs each call of the script.
template <const std::string_view&... Parts>
inline constexpr std::string_view transition =
    joined<prelude, events, tenant_record, tenants, estimates, job_record, presence, dispatch, Parts...>::value;

/// A transition that takes a token: it reaps expired leases first, which may end runs.
template <const std::string_view& Body>
inline constexpr std::string_view token_transition = transition<run_ends, expiry, held, Body>;

/// Read-only scripts that need the settings and "now" but no transition.
template <const std::string_view&... Body>
inline constexpr std::string_view query = joined<prelude, tenant_record, job_record, Body...>::value;

inline const script configure_queue{"configure", configure};
inline const script submit_job{"submit", transition<submit_body>};
inline const script lease_job{"lease", transition<run_ends, expiry, mailbox, lease_body>};
inline const script stop_waiting{"stop_waiting", joined<prelude, stop_waiting_body>::value};
inline const script heartbeat_job{"heartbeat", token_transition<heartbeat_body>};
inline const script read_stop_request{"stop_request", token_transition<stop_request_body>};
inline const script held_lease{"held_lease", transition<run_ends, expiry, held_lease_body>};
inline const script report_progress{"progress", token_transition<progress_body>};
inline const script complete_job{"complete", token_transition<complete_body>};
inline const script fail_job{"fail", token_transition<fail_body>};
inline const script release_job{"release", token_transition<release_body>};
inline const script cancel_job{"cancel", transition<run_ends, cancel_body>};
inline const script set_job_priority{"set_priority", transition<set_priority_body>};
inline const script retry_job{"retry", transition<retry_body>};
inline const script expire_leases{"expire", transition<run_ends, expiry, expire_body>};
inline const script touch_worker{"touch", joined<prelude, presence, touch_body>::value};
inline const script register_worker{"register_worker", joined<prelude, events, presence, register_worker_body>::value};
inline const script remove_worker{"remove_worker", transition<run_ends, expiry, remove_worker_body>};
inline const script drain_worker{"drain_worker", transition<drain_worker_body>};
inline const script set_tenant{"set_tenant", transition<configuration, set_tenant_body>};
inline const script pause_tenant{"pause_tenant", transition<configuration, pause_tenant_body>};
inline const script pause_queue{"pause_queue", transition<configuration, pause_queue_body>};
inline const script set_policy{"set_policy", transition<configuration, set_policy_body>};
inline const script set_preemption{"set_preemption", transition<configuration, set_preemption_body>};
inline const script read_job{"get_job", query<job_reply, get_job_body>};
inline const script list_jobs{"list_jobs", query<job_reply, list_jobs_body>};
inline const script read_tenant_settings{"find_tenant", query<find_tenant_body>};
inline const script read_ttls{"ttls", joined<prelude, ttls_body>::value};
inline const script read_snapshot{"snapshot", query<snapshot_body>};
inline const script sync_forecast{"forecast_sync", joined<prelude, forecast_sync_body>::value};
inline const script read_forecast_lanes{"forecast_lanes", joined<prelude, forecast_lanes_body>::value};

}  // namespace comfyq::redis::scripts
