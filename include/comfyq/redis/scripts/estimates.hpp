#pragma once
// Lua: cost estimates, as engine::cost_estimator (a job without a shape falls back to the
// default, never to other tenants' shapeless average). The hash "<prefix>est" holds the moving
// averages: field "t:<tenant>:<shape>" per tenant and shape, "s:<shape>" per shape (tenant ids
// cannot contain ':', so the fields cannot collide).

#include <string_view>

namespace comfyq::redis::scripts {

inline constexpr std::string_view estimates = R"lua(
local function estimate(tenant, shape)
  local v = redis.call('HMGET', P .. 'est', 't:' .. tenant .. ':' .. shape, 's:' .. shape)
  local average = tonumber(v[1]) or (shape ~= '' and tonumber(v[2]))
  if not average then return S.est0 end
  return math.floor(average + 0.5)
end
local function record_runtime(tenant, shape, measured)
  local fields = {'t:' .. tenant .. ':' .. shape, 's:' .. shape}
  local v = redis.call('HMGET', P .. 'est', fields[1], fields[2])
  local args = {HASH_TABLE_FIELD, ''}
  for i = 1, 2 do
    local average = tonumber(v[i])
    if average then average = average + S.smooth * (measured - average) else average = measured end
    args[#args + 1] = fields[i]
    args[#args + 1] = fmt(average)
  end
  redis.call('HSET', P .. 'est', unpack(args))
end
)lua";

}  // namespace comfyq::redis::scripts
