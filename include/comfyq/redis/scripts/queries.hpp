#pragma once
// Scripts that configure a queue or read it consistently (one round trip, one instant).

#include <string_view>

namespace comfyq::redis::scripts {

/// KEYS[1] = "<prefix>q". ARGV: policy, lease_ttl, worker_ttl, max_attempts, history_limit,
/// default_estimate, estimate_smoothing, preemption, new tenant weight, max_running, max_queued,
/// event stream length, keep existing ("1": only fill in missing settings). Settings are
/// overwritten unless kept; the policy is only set on a new queue (afterwards set_policy
/// changes it, for every server at once).
inline constexpr std::string_view configure = R"lua(
local Q = KEYS[1]
redis.call('HSETNX', Q, 'policy', ARGV[1])
redis.call('HSETNX', Q, 'paused', '0')
local set = ARGV[13] == '1' and 'HSETNX' or 'HSET'
for i, name in ipairs({'ttl', 'wttl', 'maxatt', 'hist', 'est0', 'smooth', 'preempt', 'nw', 'nmr', 'nmq', 'evmax'}) do
  redis.call(set, Q, name, ARGV[i + 1])
end
return 1
)lua";

/// ARGV: id. Returns {job hash as field, value, ...; workflow; outputs JSON or false}, or nil.
inline constexpr std::string_view get_job = R"lua(
local P = string.sub(KEYS[1], 1, -2)
local fields = redis.call('HGETALL', P .. 'j:' .. ARGV[1])
if #fields == 0 then return nil end
return {fields, redis.call('GET', P .. 'wf:' .. ARGV[1]) or '', redis.call('GET', P .. 'out:' .. ARGV[1]) or ''}
)lua";

/// ARGV: now. Returns {now, policy, paused, worker_ttl, {c_succeeded, c_failed, c_cancelled, c_dead},
/// {per tenant: id, weight, max_running, max_queued, paused, queued, running, gpu, settled, in_flight},
/// {per worker: id, last seen, job or '', comfyui, comfyui_version, gpu, condition, object_info
/// ('' each when it never registered)}}.
inline constexpr std::string_view snapshot_body = R"lua(
local counts = redis.call('HMGET', Q, 'c_succeeded', 'c_failed', 'c_cancelled', 'c_dead')
for i = 1, 4 do counts[i] = tonumber(counts[i]) or 0 end
local tenants = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'tenants')) do
  local v = redis.call('HMGET', P .. 't:' .. id, 'w', 'mr', 'mq', 'pz', 'qd', 'run', 'gpu', 'sc', 'inf')
  tenants[#tenants + 1] = {id, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]}
end
local workers = {}
local seen = redis.call('ZRANGE', P .. 'workers', 0, -1, 'WITHSCORES')
for i = 1, #seen, 2 do
  local said = redis.call('HMGET', P .. 'w:' .. seen[i], 'c', 'v', 'g', 'cd', 'oi')
  workers[#workers + 1] = {seen[i], seen[i + 1], redis.call('HGET', P .. 'wjob', seen[i]) or '', said[1] or '',
                           said[2] or '', said[3] or '', said[4] or '', said[5] or ''}
end
return {now, S.policy, S.paused and 1 or 0, S.wttl, counts, tenants, workers}
)lua";

/// ARGV: now. The scheduling state a forecast replays: {now, policy, paused, turns, last token,
/// live workers, {per tenant: id, weight, max_running, paused, settled, in_flight, turn, running},
/// {per queued job: id, tenant, seq, priority, shape}, {per running job: tenant, shape, charged,
/// started_at, token}, {estimate field, average, ...}}.
inline constexpr std::string_view forecast_state_body = R"lua(
local v = redis.call('HMGET', Q, 'turns', 'tok')
local tenants, queued, running = {}, {}, {}
local function shape_of(id) return redis.call('HGET', P .. 'j:' .. id, 'sh') or '' end
for _, id in ipairs(redis.call('SMEMBERS', P .. 'tenants')) do
  local t = redis.call('HMGET', P .. 't:' .. id, 'w', 'mr', 'pz', 'sc', 'inf', 'turn', 'run')
  tenants[#tenants + 1] = {id, t[1], t[2], t[3], t[4], t[5], t[6], t[7]}
  local jobs = redis.call('ZRANGE', P .. 'tq:' .. id, 0, -1, 'WITHSCORES')
  for i = 1, #jobs, 2 do queued[#queued + 1] = {jobs[i], id, jobs[i + 1], 0, shape_of(jobs[i])} end
end
local lane = redis.call('ZRANGE', P .. 'pq', 0, -1, 'WITHSCORES')
for i = 1, #lane, 2 do
  local tenant, id = string.match(lane[i], '^([^:]*):(.*)$')
  queued[#queued + 1] = {id, tenant, lane[i + 1], 1, shape_of(id)}
end
for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', 0, -1)) do
  local j = redis.call('HMGET', P .. 'j:' .. string.sub(member, 18), 't', 'sh', 'chg', 'st', 'tok')
  running[#running + 1] = {j[1], j[2] or '', j[3], j[4], j[5]}
end
local live = redis.call('ZCOUNT', P .. 'workers', '(' .. (now - S.wttl), '+inf')
return {now, S.policy, S.paused and 1 or 0, v[1] or '0', v[2] or '0', live, tenants, queued, running,
        redis.call('HGETALL', P .. 'est')}
)lua";

}  // namespace comfyq::redis::scripts
