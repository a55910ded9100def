#pragma once
// Scripts that feed a forecast kept in the client (redis/detail/forecast_mirror.hpp). Each
// reads a bounded amount, never the whole queue: the client follows the queue through the
// event stream "ev", since every change of what a forecast reads logs an event naming the
// tenant and the job it touched, and reads only what those events name.
//
// Jobs and tenants are returned as their records, as stored (MessagePack, see tenant_record and
// job_record): the client decodes them, which costs Redis nothing. Where a record need not be read
// in the same instant, the client reads it with MGET, which costs Redis far less than a GET from Lua.

#include <string_view>

namespace comfyq::redis::scripts {

/// ARGV: now, the id of the last event the caller has applied ('0-0': none yet), how many events
/// the stream had taken in (XINFO's entries-added) when the caller began to follow it, the most
/// events to take now, and '1' to have the instant even when nothing was logged since (the
/// caller read the queue in pages).
/// Returns, when nothing was logged since: {'same', now, live workers}. When events after it are
/// no longer in the stream (trimmed away, or the stream was made anew): {'lost'}; the caller then
/// reads the queue afresh. When more events than that came: {'more', id, {tenant ...}, {job ...},
/// {succeeded job ...}} naming what the first of them touched, and the last of them. Otherwise,
/// as of one instant: {'now', now, id, live workers, policy, paused, turns, last token, default
/// estimate, smoothing, {tenant, record or false, ...}, {job, record or false, ...}, {record of
/// each running job}, {estimate field, average or false, ...}}, the last false when a job that
/// succeeded is forgotten already, so the caller cannot know which averages changed.
inline constexpr std::string_view forecast_sync_body = R"lua(
local seen_id, began, most = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ev = P .. 'ev'
local live = redis.call('ZCOUNT', P .. 'workers', '(' .. (now - S.wttl), '+inf')
for _, worker in ipairs(redis.call('SMEMBERS', P .. 'drain')) do  -- drained workers take no work
  local seen = redis.call('ZSCORE', P .. 'workers', wide(worker))
  if seen and tonumber(seen) > now - S.wttl then live = live - 1 end
end
local last = redis.call('XREVRANGE', ev, '+', '-', 'COUNT', '1')[1]
local entries = {}
if (last and last[1] or '0-0') ~= seen_id then
  if seen_id ~= '0-0' then
    -- Trimming removes the oldest first: while the last event applied is there, so is all after it.
    if #redis.call('XRANGE', ev, seen_id, seen_id) == 0 then return {'lost'} end
  else
    local info, length, added = redis.call('XINFO', 'STREAM', ev), 0, 0
    for i = 1, #info, 2 do
      if info[i] == 'length' then length = info[i + 1] elseif info[i] == 'entries-added' then added = info[i + 1] end
    end
    if added < began or added - began > length then return {'lost'} end
  end
  entries = redis.call('XRANGE', ev, seen_id == '0-0' and '-' or '(' .. seen_id, '+', 'COUNT', tostring(most + 1))
elseif ARGV[5] ~= '1' then
  return {'same', now, live}
end
local count = math.min(#entries, most)
local tenants, jobs, succeeded = {}, {}, {}
for e = 1, count do
  local f = entries[e][2]
  local kind, tenant, job
  for i = 1, #f, 2 do
    local name = f[i]
    if name == 'type' then kind = f[i + 1] elseif name == 'tenant' then tenant = f[i + 1] elseif name == 'job' then job = f[i + 1] end
  end
  if tenant and not tenants[tenant] then
    tenants[tenant] = true
    tenants[#tenants + 1] = tenant
  end
  if job and not jobs[job] then
    jobs[job] = true
    jobs[#jobs + 1] = job
  end
  if job and kind == 'succeeded' and not succeeded[job] then
    succeeded[job] = true
    succeeded[#succeeded + 1] = job
  end
end
local upto = count > 0 and entries[count][1] or seen_id
if #entries > most then return {'more', upto, tenants, jobs, succeeded} end
local tenant_rows = {}
for _, id in ipairs(tenants) do
  tenant_rows[#tenant_rows + 1] = id
  tenant_rows[#tenant_rows + 1] = redis.call('GET', P .. 't:' .. id) or false
end
local job_rows, fields, known = {}, {}, true
for _, id in ipairs(jobs) do
  local record = redis.call('GET', P .. 'j:' .. id)
  job_rows[#job_rows + 1] = id
  job_rows[#job_rows + 1] = record or false
  if succeeded[id] then
    if record then
      local tenant, shape = cmsgpack.unpack(record)
      fields[#fields + 1] = 't:' .. tenant .. ':' .. shape
      fields[#fields + 1] = 's:' .. shape
    else
      known = false
    end
  end
end
local averages = false
if known then
  averages = {}
  if #fields > 0 then
    local values = redis.call('HMGET', P .. 'est', unpack(fields))
    for i = 1, #fields do
      averages[#averages + 1] = fields[i]
      averages[#averages + 1] = values[i] or false
    end
  end
end
local running = {}
for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', '0', '-1')) do
  running[#running + 1] = redis.call('GET', P .. 'j:' .. id_in(member, 18)) or false
end
local v = redis.call('HMGET', Q, 'turns', 'tok')
return {'now', now, upto, live, S.policy, S.paused and 1 or 0, v[1] or '0', v[2] or '0', S.est0,
        fmt(S.smooth), tenant_rows, job_rows, running, averages}
)lua";

/// ARGV: now, the most jobs to list, then pairs (tenant, sequence number): the lanes to list in
/// turn, each from after that sequence number ('0': from its start); tenant '' is the priority
/// lane. Returns {lanes listed to their end, the sequence number the next one stopped after (0
/// when none), {job ...}}. The caller reads the jobs' records itself (MGET, no script).
inline constexpr std::string_view forecast_lanes_body = R"lua(
local most = tonumber(ARGV[2])
local jobs, finished, stopped = {}, 0, 0
for i = 3, #ARGV - 1, 2 do
  local tenant = ARGV[i]
  local key = tenant == '' and P .. 'pq' or P .. 'tq:' .. tenant
  local found = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[i + 1], '+inf', 'WITHSCORES', 'LIMIT', '0',
                           tostring(most - #jobs))
  for r = 1, #found, 2 do
    jobs[#jobs + 1] = tenant == '' and string.match(found[r], '^[^:]*:(.*)$') or found[r]
  end
  if #jobs >= most then
    stopped = found[#found]
    break
  end
  finished = finished + 1
end
return {finished, stopped, jobs}
)lua";

}  // namespace comfyq::redis::scripts
