#pragma once
// Lua: jobs and the ends of their runs, as comfyq::scheduler's private helpers.
//
// A job is the hash "<prefix>j:<id>": t tenant, sh shape, pr priority, s state, seq, sub
// submitted_at, att attempt, fl failures, tok token, wk worker, st started_at, hb last heartbeat,
// exp lease expiry, chg charged estimate, cr cancel requested, pre preempt requested, why
// reason, fin finished_at. Its workflow is "wf:<id>" and its outputs (JSON) "out:<id>", kept
// apart so that the job hash stays small. Running jobs are the sorted set "leases" (score
// expiry, member pad(token) .. id: equal expiry times go in lease order). Finished jobs are the
// list "hist", oldest first; counts of finished jobs by state are fields "c_<state>" of the
// queue hash. Workers are "workers" (score last seen) and "wjob" (worker -> job it holds).

#include <string_view>

namespace comfyq::redis::scripts {

inline constexpr std::string_view jobs = R"lua(
local function load_job(id)
  local v = redis.call('HMGET', P .. 'j:' .. id, 't', 'sh', 'pr', 's', 'seq', 'att', 'fl', 'tok', 'wk', 'st', 'exp',
                       'chg', 'cr', 'pre', 'why')
  if not v[1] then return nil end
  return {id = id, t = v[1], sh = v[2] or '', pr = v[3] == '1', s = v[4], seq = tonumber(v[5]),
          att = tonumber(v[6]) or 0, fl = tonumber(v[7]) or 0, tok = tonumber(v[8]) or 0, wk = v[9] or '',
          st = tonumber(v[10]) or 0, exp = tonumber(v[11]) or 0, chg = tonumber(v[12]) or 0, cr = v[13] == '1',
          pre = v[14] == '1', why = v[15] or ''}
end
local function lease_member(j) return pad(j.tok) .. j.id end
local function touch_worker(worker)
  redis.call('ZADD', P .. 'workers', 'GT', now, worker)
end
local function release_worker(j)
  if redis.call('HGET', P .. 'wjob', j.wk) == j.id then redis.call('HDEL', P .. 'wjob', j.wk) end
end
local function forget(id)
  local state = redis.call('HGET', P .. 'j:' .. id, 's')
  if state then redis.call('HINCRBY', Q, 'c_' .. state, -1) end
  redis.call('DEL', P .. 'j:' .. id, P .. 'wf:' .. id, P .. 'out:' .. id)
end
-- The job reaches a final state and joins the bounded history.
local function finish(j, state, reason)
  j.s, j.why, j.cr, j.pre = state, reason, false, false
  redis.call('HSET', P .. 'j:' .. j.id, 's', state, 'fin', now, 'why', reason, 'cr', '0', 'pre', '0')
  redis.call('HINCRBY', Q, 'c_' .. state, 1)
  emit(state, j)
  local kept = redis.call('RPUSH', P .. 'hist', j.id)
  for _ = 1, kept - S.hist do forget(redis.call('LPOP', P .. 'hist')) end
end
-- The lease is over; the tenant pays `cost` instead of what was charged at lease time.
local function end_run(j, cost)
  redis.call('ZREM', P .. 'leases', lease_member(j))
  local t = load_tenant(j.t)
  settle(t, j.chg, cost)
  t.gpu = t.gpu + cost
  release_worker(j)
end
local function requeue(j, cost, reason)
  redis.call('ZREM', P .. 'leases', lease_member(j))
  local t = load_tenant(j.t)
  enqueue(t, j.id, j.seq, j.pr)  -- still running, so no re-entry: its clock is kept
  settle(t, j.chg, cost)
  t.gpu = t.gpu + cost
  release_worker(j)
  j.s, j.why, j.cr, j.pre = 'queued', reason, false, false
  redis.call('HSET', P .. 'j:' .. j.id, 's', 'queued', 'why', reason, 'cr', '0', 'pre', '0')
  emit('requeued', j)
end
local function count_failure(j, cost, reason)
  j.fl = j.fl + 1
  redis.call('HSET', P .. 'j:' .. j.id, 'fl', j.fl)
  if j.fl >= S.maxatt then
    end_run(j, cost)
    finish(j, 'dead', reason .. ' (failed ' .. j.fl .. ' of max_attempts ' .. S.maxatt .. ')')
  else
    requeue(j, cost, reason)
  end
end
)lua";

}  // namespace comfyq::redis::scripts
