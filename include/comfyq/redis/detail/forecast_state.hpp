#pragma once
// Rebuilds a queue's scheduling state from the forecast_state script's reply, so that the
// Redis store forecasts with the same code as the memory store (detail::forecast_replay).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "comfyq/detail/cost_estimator.hpp"
#include "comfyq/detail/dispatcher.hpp"
#include "comfyq/detail/forecast.hpp"
#include "comfyq/redis/detail/decode.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/scheduler_config.hpp"

namespace comfyq::redis::detail {

inline std::vector<queue_position> forecast_from(reply_view r, const scheduler_config& config, std::size_t workers,
                                                 std::size_t limit) {
  time_point now = to_time(r.at(0).integer());
  comfyq::detail::dispatcher state(parse_policy(r.at(1).string()).value_or(policy::fair_share));
  state.set_paused(r.at(2).integer() != 0);
  state.restore_turns(static_cast<std::uint64_t>(to_int(r.at(3).string())));
  auto last_token = static_cast<std::uint64_t>(to_int(r.at(4).string()));
  auto live = static_cast<std::size_t>(r.at(5).integer());

  std::unordered_map<std::string, std::uint32_t> tenant_index;
  for (reply_view t : r.at(6).elements()) {
    comfyq::detail::tenant_account saved;
    saved.weight = to_double(t.at(1).string());
    saved.max_running = static_cast<std::uint32_t>(to_int(t.at(2).string()));
    saved.paused = t.at(3).string() == "1";
    saved.settled_clock = to_double(t.at(4).string());
    saved.in_flight = to_double(t.at(5).string());
    saved.turn = static_cast<std::uint64_t>(to_int(t.at(6).string()));
    saved.running = static_cast<std::uint32_t>(to_int(t.at(7).string()));
    tenant_index.emplace(std::string(t.at(0).string()), state.restore_tenant(saved));
  }
  struct queued_job {
    std::string id;
    std::string shape;
  };
  std::vector<queued_job> queued;
  for (reply_view j : r.at(7).elements()) {
    auto h = static_cast<std::uint32_t>(queued.size());
    queued.push_back({std::string(j.at(0).string()), std::string(j.at(4).string())});
    state.restore_job(h, tenant_index.at(std::string(j.at(1).string())),
                      static_cast<std::uint64_t>(to_int(j.at(2).string())), j.at(3).integer() != 0);
  }
  std::vector<std::string> running_shapes;
  reply_view running_rows = r.at(8);
  running_shapes.reserve(running_rows.size());  // the runs below point into it
  std::vector<comfyq::detail::running_run> running;
  for (reply_view j : running_rows.elements()) {
    running_shapes.emplace_back(j.at(1).string());
    duration charged(to_int(j.at(2).string()));
    running.push_back({tenant_index.at(std::string(j.at(0).string())), running_shapes.back(), charged,
                       to_time(to_int(j.at(3).string())) + charged, static_cast<std::uint64_t>(to_int(j.at(4).string()))});
  }
  comfyq::detail::cost_estimator estimates(config.default_estimate, config.estimate_smoothing);
  reply_view averages = r.at(9);
  for (std::size_t i = 0; i + 1 < averages.size(); i += 2) {
    std::string_view field = averages.at(i).string();
    double average = to_double(averages.at(i + 1).string());
    if (field.starts_with("s:")) {
      estimates.restore_shape(field.substr(2), average);
    } else if (std::size_t colon = field.find(':', 2); field.starts_with("t:") && colon != std::string_view::npos) {
      auto t = tenant_index.find(std::string(field.substr(2, colon - 2)));
      if (t != tenant_index.end()) estimates.restore(t->second, field.substr(colon + 1), average);
    }
  }
  std::size_t up = workers > 0 ? workers : live;
  comfyq::detail::forecast_replay replay(state, estimates, running, std::max<std::size_t>(up, 1), now, last_token);
  std::vector<queue_position> starts;
  while (starts.size() < limit) {
    std::optional<comfyq::detail::forecast_start> s =
        replay.next([&](std::uint32_t h) -> std::string_view { return queued[h].shape; });
    if (!s) break;
    starts.push_back({queued[s->job].id, starts.size() + 1, up > 0 ? std::optional<time_point>(s->at) : std::nullopt});
  }
  return starts;
}

}  // namespace comfyq::redis::detail
