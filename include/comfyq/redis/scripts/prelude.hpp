#pragma once
// Lua shared by every function of the library: the key prefix, the queue's settings and "now",
// which begin() sets at the start of every call but configure's.
//
// The settings are the field "cfg" of the queue's hash, one MessagePack sequence (read with one
// command, whatever their number): policy, paused, lease_ttl, worker_ttl, max_attempts,
// history_limit, default_estimate, estimate_smoothing, preemption, and the new tenant's weight,
// max_running and max_queued, and the event stream's length (as text).
//
// Every function gets KEYS[1] = "<prefix>q", the queue's hash ("comfyq:{<queue>}:q"); every other
// key is the same prefix plus a suffix, so all of a queue's keys share one hash tag (one Redis
// Cluster slot). ARGV[1] is "now" in Unix milliseconds, or "" to take it from Redis TIME (the
// normal case: lease expiry never depends on a client's clock; tests pass a manual clock).
// Numbers that are not integers (clocks, weights, averages) are stored with %.17g so they read
// back exactly and every store computes bit-for-bit what the memory store computes.

#include <string_view>

namespace comfyq::redis::scripts {

inline constexpr std::string_view prelude = R"lua(
-- The call's queue hash and key prefix, settings, time, and the jobs and tenants it read (see
-- job_record and tenants): what begin() sets at the start of each call.
local Q, P, S, now_text, now, job_cache, tenant_cache
local function fmt(x) return string.format('%.17g', x) end
local function pad(n) return string.format('%017d', n) end
-- Members of the sorted sets that grow with the tenants, workers and running jobs ("elig", "backlog", "tags",
-- "leases", "workers") end in the id followed by WIDE. Longer than zset-max-listpack-value (64
-- bytes unless Redis is set otherwise), they keep each set a skip list for good, where ZADD is
-- O(log n): a listpack re-reads every score on each insert, which at 50-100 members costs
-- several times the rest of the command. id_in(member, first) is the id that starts at `first`.
local WIDE = ' (padded past zset-max-listpack-value: keeps the set a skip list)'
local function wide(id) return id .. WIDE end
local function id_in(member, first) return string.sub(member, first, -1 - #WIDE) end
-- Likewise the hashes that grow with the tenants and workers ("est", "wjob") are written with
-- HASH_TABLE_FIELD, longer than hash-max-listpack-value: a hash table's lookups cost the same at
-- any size, where every lookup scans a listpack.
local HASH_TABLE_FIELD = '(a field longer than hash-max-listpack-value keeps this hash a hash table)'
-- Starts a call: its queue, settings and time. Returns the error reply for a queue that has no
-- settings (a Redis that restarted empty: the store configures it again and retries).
local function begin(KEYS, ARGV)
  Q = KEYS[1]
  P = string.sub(Q, 1, -2)
  job_cache, tenant_cache = {}, {}
  local packed = redis.call('HGET', Q, 'cfg')
  if not packed then return redis.error_reply('COMFYQ unconfigured') end
  local policy, paused, ttl, wttl, maxatt, hist, est0, smooth, preempt, nw, nmr, nmq, evmax = cmsgpack.unpack(packed)
  -- One constructor sizes the table once; assigning the fields one by one would grow it four times.
  S = {policy = policy, paused = paused, ttl = ttl, wttl = wttl, maxatt = maxatt, hist = hist, est0 = est0,
       smooth = smooth, preempt = preempt, nw = nw, nmr = nmr, nmq = nmq, evmax = evmax}
  -- `now` is kept as text too: a number passed to redis.call is formatted with sprintf("%.14g"),
  -- which costs more than a small command; `now_text` is formatted once (constants, below, are
  -- passed as strings for the same reason).
  now_text = ARGV[1]
  if now_text == '' then
    local t = redis.call('TIME')
    now_text = t[1] .. string.sub('00000' .. t[2], -6, -4)
  end
  now = tonumber(now_text)
  return nil
end
)lua";

}  // namespace comfyq::redis::scripts
