#pragma once
// Lua: what workers publish about themselves, and forgetting a worker that stopped, as
// comfyq::scheduler's register_worker() and remove_worker().
//
// A worker's registration is the hash "<prefix>w:<id>": c comfyui, v comfyui_version, g gpu,
// cd condition, oi object_info (its sha256); a worker that never registered has none. The
// /object_info documents themselves are plain strings "<prefix>oi:<sha256>", written once by
// the store without a script (SET NX) and shared by every worker with the same nodes.

#include <string_view>

namespace comfyq::redis::scripts {

/// Marking a worker seen ("workers": score last seen, member wide(worker)), for every script
/// that hears from a worker.
inline constexpr std::string_view presence = R"lua(
local function touch_worker(worker)
  redis.call('ZADD', P .. 'workers', 'GT', now_text, wide(worker))
end
)lua";

/// ARGV: now, worker, comfyui, comfyui_version, gpu, condition, object_info. Counts as a touch;
/// a registration that differs from the stored one (or is the first) is logged as worker_changed.
/// Returns 1 when it changed, 0 when it was the same.
inline constexpr std::string_view register_worker_body = R"lua(
local id, key = ARGV[2], P .. 'w:' .. ARGV[2]
touch_worker(id)
local stored = redis.call('HMGET', key, 'c', 'v', 'g', 'cd', 'oi')
local same = true
for i = 1, 5 do same = same and stored[i] == ARGV[i + 2] end
if same then return 0 end
redis.call('HSET', key, 'c', ARGV[3], 'v', ARGV[4], 'g', ARGV[5], 'cd', ARGV[6], 'oi', ARGV[7])
append_event({'type', 'worker_changed', 'at', now_text, 'worker', id, 'data', cjson.encode({comfyui = ARGV[3],
  comfyui_version = ARGV[4], gpu = ARGV[5], condition = ARGV[6], object_info = ARGV[7]})})
return 1
)lua";

/// ARGV: now, worker, draining ('1'/'0'). Drains a worker the queue knows ("drain": the set of
/// drained workers), or lets it take work again (scheduler::set_draining). A drained worker stops
/// waiting: nothing would be handed to it.
inline constexpr std::string_view drain_worker_body = R"lua(
local worker, on = ARGV[2], ARGV[3] == '1'
if not redis.call('ZSCORE', P .. 'workers', wide(worker)) then return redis.error_reply('COMFYQ noworker ' .. worker) end
local changed = redis.call(on and 'SADD' or 'SREM', P .. 'drain', worker)
if changed == 0 then return 1 end
if on then redis.call('ZREM', P .. 'waiting', worker) end
append_event({'type', 'drain_changed', 'at', now_text, 'worker', worker, 'data',
              on and '{"draining":true}' or '{"draining":false}'})
plan_preemptions()
hand_off()
save_tenants()
return 1
)lua";

/// ARGV: now, worker. Reaps expired leases first. Forgets a worker that holds no lease: its
/// presence, registration, drain and mailbox, logged as worker_removed. Returns 0 when it holds a lease
/// (it is kept), else 1 (also for a worker never seen).
inline constexpr std::string_view remove_worker_body = R"lua(
if expire_due() > 0 then hand_off() end
save_tenants()
local worker = ARGV[2]
if not redis.call('ZSCORE', P .. 'workers', wide(worker)) then return 1 end
-- "wjob" names only the worker's latest lease: one that leased twice runs two jobs.
for _, member in ipairs(redis.call('ZRANGE', P .. 'leases', '0', '-1')) do
  if load_job(id_in(member, 18)).wk == worker then return 0 end
end
redis.call('ZREM', P .. 'workers', wide(worker))
redis.call('SREM', P .. 'drain', worker)
redis.call('DEL', P .. 'w:' .. worker, P .. 'mb:' .. worker)
append_event({'type', 'worker_removed', 'at', now_text, 'worker', worker})
return 1
)lua";

}  // namespace comfyq::redis::scripts
