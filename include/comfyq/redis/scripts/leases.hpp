#pragma once
// Lua: expiry, preemption planning, the pick and the start of a lease, as comfyq::scheduler's
// expire(), plan_preemptions(), dispatcher::pick() and lease(); and the hand-off of leases to
// waiting workers.
//
// Workers blocked in wait_for_lease are the sorted set "waiting" (score: when their wait ends,
// member: worker id), each blocked in BLPOP on its own mailbox, the list "mb:<worker>". A script
// that makes work startable leases it to them itself and puts each lease, packed with
// MessagePack, in the worker's mailbox: the job reaches a waiting worker in one hop, instead of
// a wake-up followed by a second script to lease.
//
// A worker blocked in wait_for_stop_request waits in BLPOP on the job's list "stop:<job>". A
// script that asks a running job to stop (cancel_requested, preempt_requested) pushes one
// wake-up there (trimmed to one, gone after a lease's ttl): whoever it wakes reads the flags
// with a script, and that script passes the wake-up on while a request is pending (for another
// waiter on the same job) and deletes what is left of an earlier run when none is.

#include <string_view>

namespace comfyq::redis::scripts {

/// Planning preemptions, the pick, the start of a lease and the hand-off: every transition that
/// can make work startable needs them.
inline constexpr std::string_view dispatch = R"lua(
local function lease_member(j) return pad(j.tok) .. wide(j.id) end
-- A drained worker (drain_worker) is leased nothing.
local function draining(worker) return redis.call('SISMEMBER', P .. 'drain', worker) == 1 end
-- Wakes a worker waiting in wait_for_stop_request on the job.
local function wake_stop_waiters(j)
  local key = P .. 'stop:' .. j.id
  redis.call('LPUSH', key, '1')
  redis.call('LTRIM', key, '0', '0')
  redis.call('PEXPIRE', key, S.ttl)
end
-- A running job's lease as lease() returns it: {id, tenant, worker, workflow, token, attempt,
-- priority, expires_at, estimate}.
local function lease_reply(j)
  local workflow = j.wf or redis.call('GET', P .. 'wf:' .. j.id) or ''  -- j.wf: submitted by this script
  return {j.id, j.t, j.wk, workflow, j.tok, j.att, j.pr and 1 or 0, j.exp, j.chg}
end
-- With preemption on, every priority job that no idle worker will take gets one running
-- normal job interrupted for it: the most recently started one, which loses the least work.
-- Requests no longer needed are withdrawn, the longest-running first.
local function plan_preemptions()
  if not S.preempt or S.paused then return end
  local waiting = 0  -- priority jobs whose tenant may start one
  for _, member in ipairs(redis.call('ZRANGE', P .. 'pq', '0', '-1')) do
    if can_run(load_tenant(string.match(member, '^([^:]*):'))) then waiting = waiting + 1 end
  end
  local idle = 0  -- live workers that hold no lease and are not drained
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', P .. 'workers', '(' .. (now - S.wttl), '+inf')) do
    local worker = id_in(member, 1)
    if not redis.call('HGET', P .. 'wjob', worker) and not draining(worker) then idle = idle + 1 end
  end
  local needed = math.max(0, waiting - idle)
  local asked, candidates = {}, {}
  for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', '0', '-1')) do
    local j = load_job(id_in(member, 18))
    if j.pre then
      asked[#asked + 1] = j
    elseif not j.pr and not j.cr then
      candidates[#candidates + 1] = j
    end
  end
  local function later_lease_first(a, b) return a.tok > b.tok end
  table.sort(asked, later_lease_first)
  for k = needed + 1, #asked do
    asked[k].pre = false
    save_job(asked[k])
  end
  table.sort(candidates, later_lease_first)
  local i = 0
  while #asked + i < needed and i < #candidates do
    i = i + 1
    local j = candidates[i]
    j.pre = true
    save_job(j)
    emit('preempt_requested', j)
    wake_stop_waiters(j)
  end
end
-- The job that would start next and its tenant, or nil.
local function pick()
  if S.paused then return nil end
  for _, member in ipairs(redis.call('ZRANGE', P .. 'pq', '0', '-1')) do
    local tenant, id = string.match(member, '^([^:]*):(.*)$')
    local t = load_tenant(tenant)
    if can_run(t) then return id, t end
  end
  local top = redis.call('ZRANGE', P .. 'elig', '0', '0')[1]
  if not top then return nil end
  local tenant
  if S.policy == 'fifo' then tenant = id_in(top, 1)
  elseif S.policy == 'round_robin' then tenant = id_in(top, 18)
  else tenant = id_in(top, 36) end
  local t = load_tenant(tenant)
  return t.hj, t
end
-- Gives `worker` the next job, as scheduler::lease; returns the reply array or nil.
local function grant_lease(worker)
  touch_worker(worker)
  if draining(worker) then return nil end
  local id, t = pick()
  if not id then return nil end
  local j = load_job(id)
  local charge = j.est > 0 and j.est or estimate(t.id, j.sh)  -- the submitter's, else the learned one
  unlink(t, id, j.seq, j.pr)
  t.run = t.run + 1
  redis.call('ZADD', P .. 'tags', t.sc + t.inf, wide(id))  -- its start tag
  t.inf = t.inf + charge / t.w
  if not j.pr then t.turn = redis.call('HINCRBY', Q, 'turns', '1') end
  refresh(t)
  local expires = now + S.ttl
  j.s, j.att, j.wk, j.st, j.hb, j.exp, j.chg, j.cr, j.pre = 'running', j.att + 1, worker, now, now, expires, charge,
                                                           false, false
  j.tok = redis.call('HINCRBY', Q, 'tok', '1')
  save_job(j)
  redis.call('ZADD', P .. 'leases', expires, lease_member(j))
  redis.call('HSET', P .. 'wjob', HASH_TABLE_FIELD, '', worker, id)
  emit('leased', j)
  if j.pr then plan_preemptions() end  -- one priority job fewer waits
  return lease_reply(j)
end
-- Leases startable work to the waiting workers, the one whose wait ends first first; forgets
-- waits that ended without a hand-off (their workers have stopped waiting or died). Call it
-- before save_tenants.
local function hand_off()
  while true do
    local first = redis.call('ZRANGE', P .. 'waiting', '0', '0', 'WITHSCORES')
    local worker = first[1]
    if not worker then return end
    if tonumber(first[2]) > now then
      local granted = grant_lease(worker)
      if not granted then return end
      redis.call('RPUSH', P .. 'mb:' .. worker, cmsgpack.pack(granted))
    end
    redis.call('ZREM', P .. 'waiting', worker)
  end
end
)lua";

/// Reaping expired leases: for every call that takes a token (after run_ends).
inline constexpr std::string_view expiry = R"lua(
-- Ends every lease that expired by now; returns how many.
local function expire_due()
  local reaped = 0
  while true do
    local due = redis.call('ZRANGE', P .. 'leases', '-inf', now_text, 'BYSCORE', 'LIMIT', '0', '1')[1]
    if not due then break end
    local j = load_job(id_in(due, 18))
    reaped = reaped + 1
    if j.cr then
      end_run(j, 0)
      finish(j, 'cancelled', 'cancelled while running (its worker stopped answering)')
    else
      count_failure(j, 0, "lease expired: worker '" .. j.wk .. "' stopped heartbeating")
    end
  end
  if reaped > 0 then plan_preemptions() end
  return reaped
end
)lua";

/// For the lease script: a lease handed to a worker whose wait broke off.
inline constexpr std::string_view mailbox = R"lua(
-- A lease handed to `worker` that it never took from its mailbox (its wait broke off on an
-- error), if the job still runs under it; nil otherwise.
local function unclaimed_lease(worker)
  while true do
    local packed = redis.call('LPOP', P .. 'mb:' .. worker)
    if not packed then return nil end
    local lease = cmsgpack.unpack(packed)
    local j = load_job(lease[1])
    if j and j.s == 'running' and j.tok == lease[5] then return lease end
  end
end
)lua";

}  // namespace comfyq::redis::scripts
