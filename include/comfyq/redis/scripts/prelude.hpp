#pragma once
// Lua shared by every script: the key prefix, the queue's settings and "now".
//
// Every script gets KEYS[1] = "<prefix>q", the queue's hash ("comfyq:{<queue>}:q"); every other
// key is the same prefix plus a suffix, so all of a queue's keys share one hash tag (one Redis
// Cluster slot). ARGV[1] is "now" in Unix milliseconds, or "" to take it from Redis TIME (the
// normal case: lease expiry never depends on a client's clock; tests pass a manual clock).
// Numbers that are not integers (clocks, weights, averages) are stored with %.17g so they read
// back exactly and every store computes bit-for-bit what the memory store computes.

#include <string_view>

namespace comfyq::redis::scripts {

inline constexpr std::string_view prelude = R"lua(
local Q = KEYS[1]
local P = string.sub(Q, 1, -2)
local S = {}
do
  local v = redis.call('HMGET', Q, 'policy', 'paused', 'ttl', 'wttl', 'maxatt', 'hist', 'est0', 'smooth',
                       'preempt', 'nw', 'nmr', 'nmq', 'evmax')
  if not v[1] then return redis.error_reply('COMFYQ unconfigured') end
  S.policy, S.paused = v[1], v[2] == '1'
  S.ttl, S.wttl, S.maxatt, S.hist = tonumber(v[3]), tonumber(v[4]), tonumber(v[5]), tonumber(v[6])
  S.est0, S.smooth, S.preempt = tonumber(v[7]), tonumber(v[8]), v[9] == '1'
  S.nw, S.nmr, S.nmq, S.evmax = tonumber(v[10]), tonumber(v[11]), tonumber(v[12]), v[13]
end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(x) return string.format('%.17g', x) end
local function pad(n) return string.format('%017d', n) end
)lua";

}  // namespace comfyq::redis::scripts
