#pragma once
// The bodies of the scripts that change a queue, one per state transition. Each runs after
// the fragments it needs (scripts.hpp puts them together), with KEYS[1] = "<prefix>q" and
// ARGV[1] = now ("" for Redis TIME). Refusals are error replies "COMFYQ <what> <details>"
// that the store turns into comfyq's exceptions; a refused call changes nothing (except for
// reaping leases that had expired, which every call taking a token does first).

#include <string_view>

namespace comfyq::redis::scripts {

/// Refuses a token that does not hold the job; saves what expiry reaped first, and hands the
/// jobs it requeued to waiting workers.
inline constexpr std::string_view held = R"lua(
local function refuse_lease(j, id, token)
  if not j then return redis.error_reply('COMFYQ lost ' .. id .. ' unknown 0') end
  if j.s ~= 'running' or j.tok ~= token then
    return redis.error_reply('COMFYQ lost ' .. id .. ' ' .. j.s .. ' ' .. j.tok)
  end
  return nil
end
local function held(id, token)
  if expire_due() > 0 then hand_off() end
  local j = load_job(id)
  local refusal = refuse_lease(j, id, token)
  if refusal then save_tenants() end
  return j, refusal
end
)lua";

/// Queuing jobs, for submit and submit_many. ARGV: now, then for each job: tenant, id ('' to
/// generate), shape, priority ('1'/'0'), workflow, the random part of a generated id, the
/// submitter's estimate in ms ('0': none). A generated id is "j", now as 11 hex digits and the
/// random part (store/detail/job_ids.hpp); should it be taken, "-1", "-2"... is appended.
/// Every job is checked before any is queued, so a refusal queues none; in a batch it names the
/// job refused: "COMFYQ batch <index from 0> <refusal>".
inline constexpr std::string_view submission = R"lua(
local SUBMISSION_FIELDS = 7
-- The refusal of the first job that may not be queued, or nil.
local function refuse_submissions(ARGV, batch)
  local waiting, ids = {}, {}  -- {queued, max_queued} by tenant, counting the jobs before in the batch; ids chosen
  for a = 2, #ARGV, SUBMISSION_FIELDS do
    local tenant, id = ARGV[a], ARGV[a + 1]
    local refusal = nil
    if id ~= '' then
      if ids[id] or redis.call('EXISTS', P .. 'j:' .. id) == 1 then refusal = 'duplicate ' .. id end
      ids[id] = true
    end
    local w = waiting[tenant]
    if not w then
      local t = load_tenant(tenant)
      w = t and {t.qd, t.mq} or {0, S.nmq}
      waiting[tenant] = w
    end
    if not refusal and w[1] >= w[2] then refusal = 'quota ' .. tenant .. ' ' .. string.format('%d', w[2]) end
    if refusal then
      local job = batch and 'batch ' .. string.format('%d', (a - 2) / SUBMISSION_FIELDS) .. ' ' or ''
      return redis.error_reply('COMFYQ ' .. job .. refusal)
    end
    w[1] = w[1] + 1
  end
  return nil
end
-- Queues the job whose fields start at ARGV[a]; returns its id and whether it is priority work.
local function queue_submission(ARGV, a)
  local tenant, id, shape, priority, estimate = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3] == '1',
                                                tonumber(ARGV[a + 6])
  local t = load_tenant(tenant) or create_tenant(tenant, S.nw, S.nmr, S.nmq)
  if id == '' then
    local generated, clashes = 'j' .. string.format('%011x', math.max(now, 0)) .. ARGV[a + 5], 0
    id = generated
    while job_cache[id] or redis.call('EXISTS', P .. 'j:' .. id) == 1 do
      clashes = clashes + 1
      id = generated .. '-' .. clashes
    end
  end
  local seq = redis.call('HINCRBY', Q, 'seq', '1')
  redis.call('ZADD', P .. 'jobs', seq, id)
  redis.call('ZADD', P .. 'tj:' .. tenant, seq, id)
  local j = new_job(id, tenant, shape, priority, seq, estimate)
  j.wf = ARGV[a + 4]  -- kept for a hand-off in this call; not part of the record
  save_job(j)
  redis.call('SET', P .. 'wf:' .. id, j.wf)
  enqueue(t, id, seq, priority)
  emit('submitted', j)
  return id, priority
end
-- Queues every job of ARGV, or none; returns their ids, or the refusal.
local function submit_jobs(ARGV, batch)
  local refusal = refuse_submissions(ARGV, batch)
  if refusal then return refusal end
  local ids, any_priority = {}, false
  for a = 2, #ARGV, SUBMISSION_FIELDS do
    local id, priority = queue_submission(ARGV, a)
    ids[#ids + 1] = id
    any_priority = any_priority or priority
  end
  if any_priority then plan_preemptions() end
  hand_off()
  save_tenants()
  return ids
end
)lua";

/// ARGV: now and one job, as for submission. Returns its id.
inline constexpr std::string_view submit_body = R"lua(
local ids = submit_jobs(ARGV, false)
return ids.err and ids or ids[1]
)lua";

/// ARGV: now and the jobs, as for submission. Returns their ids, in order.
inline constexpr std::string_view submit_many_body = R"lua(
return submit_jobs(ARGV, true)
)lua";

/// ARGV: now, worker, wait: '' for a plain lease, or how many ms the worker will wait in its
/// mailbox for a hand-off if nothing is startable now (it is then registered as waiting, unless
/// it is drained: nothing would be handed to it).
/// Returns {id, tenant, worker, workflow, token, attempt, priority, expires_at, estimate} or nil.
inline constexpr std::string_view lease_body = R"lua(
expire_due()
local worker, wait = ARGV[2], tonumber(ARGV[3])
local granted = nil
if wait then granted = unclaimed_lease(worker) end
if not granted then granted = grant_lease(worker) end
if not granted and wait and not draining(worker) then redis.call('ZADD', P .. 'waiting', now + wait, worker) end
hand_off()
save_tenants()
return granted
)lua";

/// ARGV: now, worker. Ends the worker's wait; returns a lease handed to it meanwhile (packed, as
/// in its mailbox) or nil.
inline constexpr std::string_view stop_waiting_body = R"lua(
redis.call('ZREM', P .. 'waiting', ARGV[2])
return redis.call('LPOP', P .. 'mb:' .. ARGV[2])
)lua";

/// ARGV: now, id, token. Returns {expires_at, cancel_requested, preempt_requested, drain_requested}.
inline constexpr std::string_view heartbeat_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
local expires = now + S.ttl
j.hb, j.exp = now, expires
save_job(j)
redis.call('ZADD', P .. 'leases', expires, lease_member(j))
touch_worker(j.wk)
save_tenants()
return {expires, j.cr and 1 or 0, j.pre and 1 or 0, draining(j.wk) and 1 or 0}
)lua";

/// ARGV: now, id, token. Returns {expires_at, cancel_requested, preempt_requested, drain_requested}
/// as heartbeat_body does, without extending the lease: for wait_for_stop_request, before and after each BLPOP on
/// "stop:<id>". A pending request passes the wake-up on to another waiter; with none pending,
/// wake-ups left from an earlier run of the job are deleted.
inline constexpr std::string_view stop_request_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
save_tenants()
if j.cr or j.pre then wake_stop_waiters(j) else redis.call('DEL', P .. 'stop:' .. j.id) end
return {j.exp, j.cr and 1 or 0, j.pre and 1 or 0, draining(j.wk) and 1 or 0}
)lua";

/// ARGV: now, worker. Reaps expired leases first. Returns the lease the worker holds, as
/// lease_body does, or nil.
inline constexpr std::string_view held_lease_body = R"lua(
if expire_due() > 0 then hand_off() end
save_tenants()
local id = redis.call('HGET', P .. 'wjob', ARGV[2])
if not id then return nil end
return lease_reply(load_job(id))
)lua";

/// ARGV: now, id, token, data (JSON). Publishes a progress event.
inline constexpr std::string_view progress_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
append_event({'type', 'progress', 'at', now_text, 'job', j.id, 'tenant', j.t, 'worker', j.wk, 'attempt', j.att,
              'data', ARGV[4]})
save_tenants()
return 1
)lua";

/// ARGV: now, id, token, outputs (JSON array), worker to lease the next job for ('' for none).
/// Returns the next lease as lease_body does, or nil.
inline constexpr std::string_view complete_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
touch_worker(j.wk)
local cost = math.max(0, now - j.st)
record_runtime(j.t, j.sh, cost)
end_run(j, cost)
if ARGV[4] ~= '[]' then redis.call('SET', P .. 'out:' .. j.id, ARGV[4]) end
finish(j, 'succeeded', '')
local granted = nil
if ARGV[5] ~= '' then granted = grant_lease(ARGV[5]) end
hand_off()
save_tenants()
return granted
)lua";

/// ARGV: now, id, token, reason, retryable ('1'/'0').
inline constexpr std::string_view fail_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
touch_worker(j.wk)
local cost = math.max(0, now - j.st)
if j.cr then
  end_run(j, cost)
  finish(j, 'cancelled', 'cancelled while running')
elseif ARGV[5] ~= '1' then
  end_run(j, cost)
  finish(j, 'failed', ARGV[4])
else
  count_failure(j, cost, ARGV[4])
end
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, id, token.
inline constexpr std::string_view release_body = R"lua(
local j, refusal = held(ARGV[2], tonumber(ARGV[3]))
if refusal then return refusal end
touch_worker(j.wk)
if j.cr then
  end_run(j, 0)
  finish(j, 'cancelled', 'cancelled while running')
else
  requeue(j, 0, j.pre and 'preempted by priority work' or 'released by its worker')
end
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, id. Returns the job's state after the call.
inline constexpr std::string_view cancel_body = R"lua(
local j = load_job(ARGV[2])
if not j then return redis.error_reply('COMFYQ nojob ' .. ARGV[2]) end
if j.s == 'queued' then
  local t = load_tenant(j.t)
  unlink(t, j.id, j.seq, j.pr)
  refresh(t)
  finish(j, 'cancelled', 'cancelled while queued')
  if j.pr then plan_preemptions() end
  hand_off()
  save_tenants()
  return 'cancelled'
end
if j.s == 'running' and not j.cr then
  j.cr = true
  save_job(j)
  emit('cancel_requested', j)
  wake_stop_waiters(j)
end
return j.s
)lua";

/// ARGV: now, id, priority ('1'/'0'). Moves a queued job into or out of the priority lane
/// (scheduler::set_priority): it stays queued, so its tenant neither leaves nor re-enters.
inline constexpr std::string_view set_priority_body = R"lua(
local j = load_job(ARGV[2])
if not j then return redis.error_reply('COMFYQ nojob ' .. ARGV[2]) end
if j.s ~= 'queued' then return redis.error_reply('COMFYQ notqueued ' .. j.id .. ' ' .. j.s) end
local priority = ARGV[3] == '1'
if j.pr == priority then return 1 end
local t = load_tenant(j.t)
unlink(t, j.id, j.seq, j.pr)
link(t, j.id, j.seq, priority)
t.qd = t.qd + 1  -- unlink counted it out of the queue
refresh(t)
j.pr = priority
save_job(j)
emit('priority_changed', j, priority and '{"priority":true}' or '{"priority":false}')
plan_preemptions()
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, id. Queues a failed or dead job again, as if submitted now (scheduler::retry).
inline constexpr std::string_view retry_body = R"lua(
local j = load_job(ARGV[2])
if not j then return redis.error_reply('COMFYQ nojob ' .. ARGV[2]) end
if j.s ~= 'failed' and j.s ~= 'dead' then return redis.error_reply('COMFYQ noretry ' .. j.id .. ' ' .. j.s) end
local t = load_tenant(j.t)
if t.qd >= t.mq then return redis.error_reply('COMFYQ quota ' .. j.t .. ' ' .. string.format('%d', t.mq)) end
redis.call('LREM', P .. 'hist', '1', j.s .. ' ' .. j.t .. ' ' .. j.id)
redis.call('HINCRBY', Q, 'c_' .. j.s, '-1')
local seq = redis.call('HINCRBY', Q, 'seq', '1')
redis.call('ZADD', P .. 'jobs', seq, j.id)
redis.call('ZADD', P .. 'tj:' .. j.t, seq, j.id)
j.s, j.seq, j.sub, j.fl, j.fin, j.why = 'queued', seq, now, 0, 0, ''
save_job(j)
enqueue(t, j.id, seq, j.pr)
emit('retried', j)
if j.pr then plan_preemptions() end
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now. Returns how many leases expired.
inline constexpr std::string_view expire_body = R"lua(
local reaped = expire_due()
hand_off()
save_tenants()
return reaped
)lua";

/// ARGV: now, worker. Needs only the prelude and presence.
inline constexpr std::string_view touch_body = R"lua(
touch_worker(ARGV[2])
return 1
)lua";

/// ARGV: now, tenant, weight, max_running, max_queued.
inline constexpr std::string_view set_tenant_body = R"lua(
local id, w, mr, mq = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = load_tenant(id) or create_tenant(id, w, mr, mq)
t.w, t.mr, t.mq = w, mr, mq
refresh(t)
emit_tenant(t)
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, tenant, paused ('1'/'0').
inline constexpr std::string_view pause_tenant_body = R"lua(
local t = load_tenant(ARGV[2])
if not t then return redis.error_reply('COMFYQ notenant ' .. ARGV[2]) end
set_tenant_paused(t, ARGV[3] == '1')
emit_tenant(t)
plan_preemptions()
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, paused ('1'/'0').
inline constexpr std::string_view pause_queue_body = R"lua(
S.paused = ARGV[2] == '1'
save_settings()
emit_queue()
plan_preemptions()
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, preemption ('1'/'0'). Plans preemptions for the priority work waiting now, or
/// withdraws the requests to make room, as scheduler::set_preemption.
inline constexpr std::string_view set_preemption_body = R"lua(
S.preempt = ARGV[2] == '1'
save_settings()
if S.preempt then
  plan_preemptions()
else
  for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', '0', '-1')) do
    local j = load_job(id_in(member, 18))
    if j.pre then
      j.pre = false
      save_job(j)
    end
  end
end
emit_queue()
return 1
)lua";

/// ARGV: now, policy. Rebuilds the order of eligible tenants for the new policy.
inline constexpr std::string_view set_policy_body = R"lua(
S.policy = ARGV[2]
save_settings()
redis.call('DEL', P .. 'elig')
for _, id in ipairs(redis.call('SMEMBERS', P .. 'tenants')) do
  local t = load_tenant(id)
  t.em, t.es = '', false
  refresh(t)
end
emit_queue()
hand_off()
save_tenants()
return 1
)lua";

}  // namespace comfyq::redis::scripts
