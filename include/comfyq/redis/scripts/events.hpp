#pragma once
// Lua: appending events to the queue's stream ("<prefix>ev"), trimmed to about S.evmax entries.
// Fields: type, at, and whichever of job, tenant, worker, attempt, reason, data apply.

#include <string_view>

namespace comfyq::redis::scripts {

inline constexpr std::string_view events = R"lua(
local FINISHED = {succeeded = true, failed = true, cancelled = true, dead = true}
local function append_event(fields)
  redis.call('XADD', P .. 'ev', 'MAXLEN', '~', S.evmax, '*', unpack(fields))
end
-- `data`: JSON text, or nil for none.
local function emit(kind, j, data)
  local f = {'type', kind, 'at', now_text, 'job', j.id, 'tenant', j.t}
  if j.wk ~= '' then f[#f + 1] = 'worker'; f[#f + 1] = j.wk end
  if j.att > 0 then f[#f + 1] = 'attempt'; f[#f + 1] = j.att end
  if (kind == 'requeued' or FINISHED[j.s]) and j.why ~= '' then f[#f + 1] = 'reason'; f[#f + 1] = j.why end
  if data then f[#f + 1] = 'data'; f[#f + 1] = data end
  append_event(f)
end
)lua";

/// For the scripts that change the queue's configuration: saving the settings, and the events
/// tenant_changed and queue_changed.
inline constexpr std::string_view configuration = R"lua(
local function save_settings()
  redis.call('HSET', Q, 'cfg', cmsgpack.pack(S.policy, S.paused, S.ttl, S.wttl, S.maxatt, S.hist, S.est0, S.smooth,
                                             S.preempt, S.nw, S.nmr, S.nmq, S.evmax))
end
-- A weight as a JSON number that reads back as a double, as the memory store writes it.
local function json_double(x)
  local text = fmt(x)
  if not string.find(text, '[.eEn]') then text = text .. '.0' end
  return text
end
-- A cap of 4294967295 (comfyq::unlimited) is null, as the API writes it.
local function json_cap(n) return n == 4294967295 and 'null' or string.format('%d', n) end
local function emit_tenant(t)
  append_event({'type', 'tenant_changed', 'at', now_text, 'tenant', t.id, 'data',
    '{"weight":' .. json_double(t.w) .. ',"max_running":' .. json_cap(t.mr) .. ',"max_queued":' ..
    json_cap(t.mq) .. ',"paused":' .. (t.pz and 'true' or 'false') .. '}'})
end
local function emit_queue()
  append_event({'type', 'queue_changed', 'at', now_text, 'data',
    '{"policy":"' .. S.policy .. '","paused":' .. (S.paused and 'true' or 'false') ..
    ',"preemption":' .. (S.preempt and 'true' or 'false') .. '}'})
end
)lua";

}  // namespace comfyq::redis::scripts
