#pragma once
// Lua: jobs and the ends of their runs, as comfyq::scheduler's private helpers.
//
// A job is the string "<prefix>j:<id>", a MessagePack sequence (see job_record). Its workflow is
// "wf:<id>" and its outputs (JSON) "out:<id>", kept apart so that the record stays small.
// Running jobs are the sorted set "leases" (score expiry, member pad(token) .. wide(id): equal
// expiry times go in lease order). Finished jobs are the list "hist" of "<state> <tenant> <id>",
// oldest first; counts of finished jobs by state are fields "c_<state>" of the queue hash. Every
// job the queue holds is in the sorted sets "jobs" and "tj:<tenant>" (score seq, member id), which
// list_jobs reads. Workers are "workers" (score last seen, member wide(worker)), "wjob" (worker ->
// job it holds) and "drain" (the set of drained workers).

#include <string_view>

namespace comfyq::redis::scripts {

/// The job record: t tenant, sh shape, pr priority, s state, seq, sub submitted_at, att attempt,
/// fl failures, tok token, wk worker, st started_at, hb last heartbeat, exp lease expiry, chg
/// charged estimate, cr cancel requested, pre preempt requested, why reason, fin finished_at, est
/// the submitter's estimate (0: none);
/// one GET and one SET however many of them a transition touches. A script reads each job once:
/// later loads return the same table (so a job submitted and leased in one script is not read
/// back). Shared with the read-only scripts.
inline constexpr std::string_view job_record = R"lua(
local function load_job(id)
  local j = job_cache[id]
  if j then return j end
  local packed = redis.call('GET', P .. 'j:' .. id)
  if not packed then return nil end
  local t, sh, pr, s, seq, sub, att, fl, tok, wk, st, hb, exp, chg, cr, pre, why, fin, est = cmsgpack.unpack(packed)
  j = {id = id, t = t, sh = sh, pr = pr, s = s, seq = seq, sub = sub, att = att, fl = fl, tok = tok, wk = wk, st = st,
       hb = hb, exp = exp, chg = chg, cr = cr, pre = pre, why = why, fin = fin, est = est}
  job_cache[id] = j
  return j
end
local function new_job(id, tenant, shape, priority, seq, estimate)
  return {id = id, t = tenant, sh = shape, pr = priority, s = 'queued', seq = seq, sub = now, att = 0, fl = 0,
          tok = 0, wk = '', st = 0, hb = 0, exp = 0, chg = 0, cr = false, pre = false, why = '', fin = 0, est = estimate}
end
local function save_job(j)
  job_cache[j.id] = j
  redis.call('SET', P .. 'j:' .. j.id, cmsgpack.pack(j.t, j.sh, j.pr, j.s, j.seq, j.sub, j.att, j.fl, j.tok, j.wk,
                                                    j.st, j.hb, j.exp, j.chg, j.cr, j.pre, j.why, j.fin, j.est))
end
)lua";

/// The ends of runs and of jobs.
inline constexpr std::string_view run_ends = R"lua(
local function release_worker(j)
  if redis.call('HGET', P .. 'wjob', j.wk) == j.id then redis.call('HDEL', P .. 'wjob', j.wk) end
end
-- Deletes a job that left the history; `finished` is a member of "hist": "<final state> <tenant>
-- <job id>". Returns the state.
local function forget(finished)
  local state, tenant, id = string.match(finished, '^(%S+) (%S+) (%S+)$')
  redis.call('DEL', P .. 'j:' .. id, P .. 'wf:' .. id, P .. 'out:' .. id)
  redis.call('ZREM', P .. 'jobs', id)
  redis.call('ZREM', P .. 'tj:' .. tenant, id)
  job_cache[id] = nil
  return state
end
-- The job reaches a final state and joins the bounded history. The counts by state change by
-- the difference only: in a full history, a success that pushes out a success changes none.
local function finish(j, state, reason)
  j.s, j.why, j.cr, j.pre, j.fin = state, reason, false, false, now
  save_job(j)
  emit(state, j)
  local kept = redis.call('RPUSH', P .. 'hist', state .. ' ' .. j.t .. ' ' .. j.id)
  local gained = state
  for _ = 1, kept - S.hist do
    local lost = forget(redis.call('LPOP', P .. 'hist'))
    if lost == gained then gained = nil else redis.call('HINCRBY', Q, 'c_' .. lost, '-1') end
  end
  if gained then redis.call('HINCRBY', Q, 'c_' .. gained, '1') end
end
-- The lease is over; the tenant pays `cost` instead of what was charged at lease time.
local function end_run(j, cost)
  redis.call('ZREM', P .. 'leases', lease_member(j))
  local t = load_tenant(j.t)
  settle(t, j, cost)
  t.gpu = t.gpu + cost
  release_worker(j)
end
local function requeue(j, cost, reason)
  redis.call('ZREM', P .. 'leases', lease_member(j))
  local t = load_tenant(j.t)
  enqueue(t, j.id, j.seq, j.pr)  -- still running, so no re-entry: its clock is kept
  settle(t, j, cost)
  t.gpu = t.gpu + cost
  release_worker(j)
  j.s, j.why, j.cr, j.pre = 'queued', reason, false, false
  save_job(j)
  emit('requeued', j)
end
local function count_failure(j, cost, reason)
  j.fl = j.fl + 1  -- saved with the job's new state, below
  if j.fl >= S.maxatt then
    end_run(j, cost)
    finish(j, 'dead', reason .. ' (failed ' .. j.fl .. ' of max_attempts ' .. S.maxatt .. ')')
  else
    requeue(j, cost, reason)
  end
end
)lua";

}  // namespace comfyq::redis::scripts
