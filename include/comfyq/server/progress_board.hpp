#pragma once
// The latest progress of each running job, kept from the event feed, so that reading a job
// shows how far it is without a trip through the event log. A job's entry goes when its run
// ends (requeued or finished).

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/events.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

class progress_board {
 public:
  /// Takes the feed's events in order (event_feed::delivery).
  void observe(const std::vector<store::logged_event>& events) {
    const std::lock_guard lock(mutex_);
    for (const store::logged_event& e : events) {
      switch (e.value.type) {
        case event_type::progress: latest_[e.value.job] = e.value.data; break;
        case event_type::leased:
        case event_type::requeued:
        case event_type::succeeded:
        case event_type::failed:
        case event_type::cancelled:
        case event_type::dead: latest_.erase(e.value.job); break;
        default: break;
      }
    }
  }

  /// The last progress `job` reported in its current run, or nothing.
  std::optional<nlohmann::json> of(std::string_view job) const {
    const std::lock_guard lock(mutex_);
    const auto found = latest_.find(job);
    return found == latest_.end() ? std::nullopt : std::optional(found->second);
  }

 private:
  mutable std::mutex mutex_;
  util::string_map<nlohmann::json> latest_;
};

}  // namespace comfyq::server
