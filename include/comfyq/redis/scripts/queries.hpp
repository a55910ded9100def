#pragma once
// Scripts that configure a queue or read it consistently (one round trip, one instant).

#include <string_view>

namespace comfyq::redis::scripts {

/// KEYS[1] = "<prefix>q". ARGV: policy, lease_ttl, worker_ttl, max_attempts, history_limit,
/// default_estimate, estimate_smoothing, preemption, new tenant weight, max_running, max_queued,
/// event stream length, keep existing ("1": keep the settings of a queue that has them).
/// Settings are overwritten unless kept; the policy, the pause and preemption are only set on a
/// new queue (afterwards set_policy, pause_queue and set_preemption change them, for every
/// server at once).
/// A queue whose keys were written in another layout (field "layout" of the queue's hash; none
/// before layouts were numbered) is refused, changing nothing: "COMFYQ layout <found> <ours>
/// <key pattern>". LAYOUT changes whenever a key or record is read differently.
/// Returns 1 when it wrote the settings, 0 when it kept those the queue had.
inline constexpr std::string_view configure = R"lua(
local LAYOUT = '3'
local Q = KEYS[1]
local stored, layout = unpack(redis.call('HMGET', Q, 'cfg', 'layout'))
if layout ~= LAYOUT and redis.call('EXISTS', Q) == 1 then
  return redis.error_reply('COMFYQ layout ' .. (layout or 'none') .. ' ' .. LAYOUT .. ' ' .. string.sub(Q, 1, -2) .. '*')
end
if stored and ARGV[13] == '1' then return 0 end
local policy, paused, preempt = ARGV[1], false, ARGV[8] == '1'
if stored then
  local kept = {cmsgpack.unpack(stored)}
  policy, paused, preempt = kept[1], kept[2], kept[9]
end
local n = {}
for i = 2, 11 do n[i] = tonumber(ARGV[i]) end
-- The stream's length stays text: it is only ever an argument of XADD.
redis.call('HSET', Q, 'cfg', cmsgpack.pack(policy, paused, n[2], n[3], n[4], n[5], n[6], n[7], preempt, n[9],
                                           n[10], n[11], ARGV[12]), 'layout', LAYOUT)
return 1
)lua";

/// A job as the read-only scripts return it: {{field, value, ...} of the job record as text
/// (names as in job_record); workflow; outputs JSON or ''}.
inline constexpr std::string_view job_reply = R"lua(
local function job_reply(j)
  local function flag(on) return on and '1' or '0' end
  return {{'t', j.t, 'sh', j.sh, 'pr', flag(j.pr), 's', j.s, 'seq', fmt(j.seq), 'sub', fmt(j.sub), 'att', fmt(j.att),
           'fl', fmt(j.fl), 'tok', fmt(j.tok), 'wk', j.wk, 'st', fmt(j.st), 'hb', fmt(j.hb), 'exp', fmt(j.exp),
           'chg', fmt(j.chg), 'cr', flag(j.cr), 'pre', flag(j.pre), 'why', j.why, 'fin', fmt(j.fin), 'est', fmt(j.est)},
          redis.call('GET', P .. 'wf:' .. j.id) or '', redis.call('GET', P .. 'out:' .. j.id) or ''}
end
)lua";

/// ARGV: now, id. Returns the job as job_reply does, or nil.
inline constexpr std::string_view get_job_body = R"lua(
local j = load_job(ARGV[2])
if not j then return nil end
return job_reply(j)
)lua";

/// ARGV: now, tenant ('': every tenant's), states (names, each followed by a space; '': any),
/// limit, after (a submission number; '': from the newest), the most jobs to look at. Reads
/// "tj:<tenant>" (or "jobs") from the newest down, as scheduler::list_jobs. Returns {next ('':
/// no job follows), {id, job as job_reply returns it, ...}}.
inline constexpr std::string_view list_jobs_body = R"lua(
local key = ARGV[2] == '' and P .. 'jobs' or P .. 'tj:' .. ARGV[2]
local wanted = nil
if ARGV[3] ~= '' then
  wanted = {}
  for state in string.gmatch(ARGV[3], '%S+') do wanted[state] = true end
end
local limit, scan = tonumber(ARGV[4]), tonumber(ARGV[6])
local top = ARGV[5] == '' and '+inf' or '(' .. ARGV[5]
local jobs, found_jobs, looked, last, more = {}, 0, 0, nil, true
while more and found_jobs < limit and looked < scan do
  local n = math.min(scan - looked, math.max(limit - found_jobs, 100))
  local found = redis.call('ZREVRANGEBYSCORE', key, top, '-inf', 'WITHSCORES', 'LIMIT', '0', tostring(n))
  local i = 1
  while i < #found and found_jobs < limit do
    local j = load_job(found[i])
    looked, last = looked + 1, found[i + 1]
    if j and (not wanted or wanted[j.s]) then
      found_jobs = found_jobs + 1
      jobs[#jobs + 1] = j.id
      jobs[#jobs + 1] = job_reply(j)
    end
    i = i + 2
  end
  if i < #found then break end  -- a full page before the end of this batch: more follow
  more = #found == 2 * n
  if last then top = '(' .. last end
end
if more and last then more = #redis.call('ZREVRANGEBYSCORE', key, '(' .. last, '-inf', 'LIMIT', '0', '1') > 0 end
return {more and last or '', jobs}
)lua";

/// ARGV: now. Returns {lease_ttl, worker_ttl} in milliseconds.
inline constexpr std::string_view ttls_body = R"lua(
return {S.ttl, S.wttl}
)lua";

/// ARGV: now, tenant. Returns {weight, max_running, max_queued} or nil.
inline constexpr std::string_view find_tenant_body = R"lua(
local t = read_tenant(ARGV[2])
if not t then return nil end
return {fmt(t.w), fmt(t.mr), fmt(t.mq)}
)lua";

/// ARGV: now. Returns {now, policy, paused, worker_ttl, {c_succeeded, c_failed, c_cancelled, c_dead},
/// {per tenant: id, weight, max_running, max_queued, paused, queued, running, gpu, settled, in_flight,
/// queued in the priority lane},
/// {per worker: id, last seen, job or '', comfyui, comfyui_version, gpu, condition, object_info
/// ('' each when it never registered), drained (1/0)}, preemption (1/0)}.
inline constexpr std::string_view snapshot_body = R"lua(
local counts = redis.call('HMGET', Q, 'c_succeeded', 'c_failed', 'c_cancelled', 'c_dead')
for i = 1, 4 do counts[i] = tonumber(counts[i]) or 0 end
local in_priority = {}  -- the lane's members are "<tenant>:<job id>"
for _, member in ipairs(redis.call('ZRANGE', P .. 'pq', '0', '-1')) do
  local tenant = string.match(member, '^([^:]*):')
  in_priority[tenant] = (in_priority[tenant] or 0) + 1
end
local tenants = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'tenants')) do
  local t = read_tenant(id)
  tenants[#tenants + 1] = {id, fmt(t.w), fmt(t.mr), fmt(t.mq), t.pz and '1' or '0', fmt(t.qd), fmt(t.run), fmt(t.gpu),
                           fmt(t.sc), fmt(t.inf), fmt(in_priority[id] or 0)}
end
local workers = {}
local seen = redis.call('ZRANGE', P .. 'workers', '0', '-1', 'WITHSCORES')
for i = 1, #seen, 2 do
  local id = id_in(seen[i], 1)
  local said = redis.call('HMGET', P .. 'w:' .. id, 'c', 'v', 'g', 'cd', 'oi')
  workers[#workers + 1] = {id, seen[i + 1], redis.call('HGET', P .. 'wjob', id) or '', said[1] or '',
                           said[2] or '', said[3] or '', said[4] or '', said[5] or '',
                           redis.call('SISMEMBER', P .. 'drain', id)}
end
return {now, S.policy, S.paused and 1 or 0, S.wttl, counts, tenants, workers, S.preempt and 1 or 0}
)lua";

}  // namespace comfyq::redis::scripts
