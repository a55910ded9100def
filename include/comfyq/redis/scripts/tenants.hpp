#pragma once
// Lua: tenants and the scheduling order, the same rules as engine::dispatcher.
//
// A tenant is the string "<prefix>t:<id>", a MessagePack sequence (binary, so numbers read back
// exactly and cost no formatting): w weight, mr max_running, mq max_queued, pz paused, sc settled
// clock, inf in-flight charges, turn, run running, qd queued (both lanes), gpu measured GPU ms,
// hs and hj the sequence number and id of the head of its normal queue (0 and '' when empty),
// and em/es/cs: its current member and score in "elig" and its score in "backlog" ('' and false
// when absent), so an update that changes nothing costs no command. One GET and one SET rather
// than a hash: each field a script reads or writes costs about as much as a small command.
// Its queued normal jobs are the sorted set "tq:<id>" (score seq, member job id); priority jobs
// of every tenant are "pq" (score seq, member "<tenant>:<job id>").
// "elig" holds the tenants that may start normal work, ordered so that its first member is
// the dispatcher's pick; scores and members encode the policy's tie-breaks:
//   fifo         score head seq, member wide(tenant)
//   round_robin  score turn, member pad(head seq) .. wide(tenant)
//   fair_share   score virtual clock, member (running > 0 and '1' or '0') .. pad(turn) ..
//                pad(head seq) .. wide(tenant)
// The virtual time a tenant re-enters at (dispatcher::reenter) is the smallest score of two sets:
// "tags", the running jobs (member wide(job id)) by start tag, and "backlog", the tenants with
// work waiting and nothing running (member wide(tenant)) by settled clock. (wide(): see the prelude.)

#include <string_view>

namespace comfyq::redis::scripts {

/// Reads a tenant's record, or nil; shared with the read-only scripts.
inline constexpr std::string_view tenant_record = R"lua(
local function read_tenant(id)
  local packed = redis.call('GET', P .. 't:' .. id)
  if not packed then return nil end
  local w, mr, mq, pz, sc, inf, turn, run, qd, gpu, hs, hj, em, es, cs = cmsgpack.unpack(packed)
  return {id = id, w = w, mr = mr, mq = mq, pz = pz, sc = sc, inf = inf, turn = turn, run = run, qd = qd, gpu = gpu,
          hs = hs ~= 0 and hs or nil, hj = hj, em = em, es = es, cs = cs}
end
)lua";

inline constexpr std::string_view tenants = R"lua(
local function load_tenant(id)
  local t = tenant_cache[id]
  if t then return t end
  t = read_tenant(id)
  tenant_cache[id] = t
  return t
end
local function save_tenant(t)
  redis.call('SET', P .. 't:' .. t.id, cmsgpack.pack(t.w, t.mr, t.mq, t.pz, t.sc, t.inf, t.turn, t.run, t.qd, t.gpu,
                                                     t.hs or 0, t.hj, t.em, t.es, t.cs))
end
local function create_tenant(id, w, mr, mq)
  local t = {id = id, w = w, mr = mr, mq = mq, pz = false, sc = 0, inf = 0, turn = 0, run = 0, qd = 0, gpu = 0,
             hj = '', em = '', es = false, cs = false}
  t.dirty = true
  tenant_cache[id] = t
  redis.call('SADD', P .. 'tenants', id)
  return t
end
-- Writes back every tenant that changed; each script calls it once, at its end.
local function save_tenants()
  for _, t in pairs(tenant_cache) do
    if t.dirty then save_tenant(t) end
  end
end
local function can_run(t) return not t.pz and t.run < t.mr end
local function competing(t) return t.run > 0 or (t.qd > 0 and not t.pz) end
local function backlogged(t) return t.run == 0 and t.qd > 0 and not t.pz end
local function refresh(t)
  t.dirty = true
  if can_run(t) and t.hs then
    local score, member
    if S.policy == 'fifo' then
      score, member = t.hs, wide(t.id)
    elseif S.policy == 'round_robin' then
      score, member = t.turn, pad(t.hs) .. wide(t.id)
    else
      score = t.sc + t.inf
      member = (t.run > 0 and '1' or '0') .. pad(t.turn) .. pad(t.hs) .. wide(t.id)
    end
    if member ~= t.em then
      if t.em ~= '' then redis.call('ZREM', P .. 'elig', t.em) end
      redis.call('ZADD', P .. 'elig', score, member)
    elseif score ~= t.es then
      redis.call('ZADD', P .. 'elig', score, member)
    end
    t.em, t.es = member, score
  elseif t.em ~= '' then
    redis.call('ZREM', P .. 'elig', t.em)
    t.em, t.es = '', false
  end
  if backlogged(t) then
    if t.sc ~= t.cs then redis.call('ZADD', P .. 'backlog', t.sc, wide(t.id)) end
    t.cs = t.sc
  elseif t.cs then
    redis.call('ZREM', P .. 'backlog', wide(t.id))
    t.cs = false
  end
end
-- Only for a tenant with nothing running, so its clock is all settled.
local function reenter(t)
  local started = redis.call('ZRANGE', P .. 'tags', '0', '0', 'WITHSCORES')[2]
  local waiting = redis.call('ZRANGE', P .. 'backlog', '0', '0', 'WITHSCORES')[2]
  if not started and not waiting then return end
  local virtual_time = math.min(tonumber(started or waiting), tonumber(waiting or started))
  t.sc = math.max(t.sc, virtual_time)
end
-- The new head of the tenant's normal queue: its sequence number (nil when empty) and id.
local function head_of(t)
  local head = redis.call('ZRANGE', P .. 'tq:' .. t.id, '0', '0', 'WITHSCORES')
  return tonumber(head[2]), head[1] or ''
end
-- A queued job takes its place in its tenant's queue or the priority lane.
local function link(t, id, seq, priority)
  if priority then
    redis.call('ZADD', P .. 'pq', seq, t.id .. ':' .. id)
  else
    redis.call('ZADD', P .. 'tq:' .. t.id, seq, id)
    if not t.hs or seq < t.hs then t.hs, t.hj = seq, id end
  end
end
-- A job joins its tenant's queue or the priority lane (dispatcher::enqueue).
local function enqueue(t, id, seq, priority)
  local was_competing = competing(t)
  link(t, id, seq, priority)
  t.qd = t.qd + 1
  if not was_competing then reenter(t) end
  refresh(t)
end
-- A queued job leaves its lane without running (dispatcher::remove) or to start.
local function unlink(t, id, seq, priority)
  if priority then
    redis.call('ZREM', P .. 'pq', t.id .. ':' .. id)
  else
    redis.call('ZREM', P .. 'tq:' .. t.id, id)
    if seq == t.hs then t.hs, t.hj = head_of(t) end
  end
  t.qd = t.qd - 1
end
local function set_tenant_paused(t, paused)
  if t.pz == paused then return end
  local was_competing = competing(t)
  t.pz = paused
  if not was_competing and competing(t) then reenter(t) end
  refresh(t)
end
-- Job j's run ended; its charge is replaced by what it really cost (dispatcher::finish).
local function settle(t, j, cost)
  redis.call('ZREM', P .. 'tags', wide(j.id))
  local charged = j.chg
  t.run = t.run - 1
  if t.run == 0 then t.inf = 0 else t.inf = t.inf - charged / t.w end
  t.sc = t.sc + cost / t.w
  refresh(t)
end
)lua";

}  // namespace comfyq::redis::scripts
