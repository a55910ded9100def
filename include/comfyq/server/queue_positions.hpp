#pragma once
// Where each queued job stands, as events for its owner's streams ("position 3 of 8, about
// 4 min"): after each batch of the log that may move the queue (anything but progress), the
// queue's forecast is read once and each job whose place changed gets a position_changed event.
// A place changes when the job's position does, or when its expected start appears, goes, or
// moves by eta_step or more; a job that leaves the queue gets none (its own event, e.g. leased,
// says so), and one that waits on but can no longer start (its tenant or the queue paused) gets
// position null until it has a place again. Each event also says how many jobs can start then
// ("queued"); that number changing is news only once it moved by a tenth since the job last
// heard (by one while fewer than 20 wait), or in a long queue every submission would be an
// event for every queued job. The events are derived, not logged (event_feed.hpp): a stream
// that joins gets every current place it may see instead.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/events.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/event_feed.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

class queue_positions final : public derived_events {
 public:
  /// ETAs move a little with every reading as time goes by; a move under `eta_step` is not news.
  explicit queue_positions(store::contract& store, duration eta_step = std::chrono::seconds(30))
      : store_(store), eta_step_(eta_step) {}

  std::vector<store::logged_event> after(const std::vector<store::logged_event>& batch) override {
    for (const store::logged_event& e : batch) {
      if (!e.value.job.empty() && !e.value.tenant.empty()) owners_.insert_or_assign(e.value.job, e.value.tenant);
    }
    if (std::none_of(batch.begin(), batch.end(), [](const auto& e) { return e.value.type != event_type::progress; })) {
      return {};
    }
    const std::vector<queue_position> order = store_.forecast();
    std::vector<place> next;
    next.reserve(order.size());
    util::string_map<std::string> owners;
    for (const queue_position& p : order) {
      std::string tenant = owner(p.job);
      owners.emplace(p.job, tenant);
      next.push_back({p, std::move(tenant), order.size()});
    }

    const time_point at = batch.back().value.at;
    std::vector<store::logged_event> changed;
    const std::lock_guard lock(mutex_);
    util::string_map<const place*> before;
    for (const place& p : places_) before.emplace(p.where.job, &p);
    for (place& p : next) {
      const auto found = before.find(p.where.job);
      if (found == before.end() || moved(*found->second, p)) {
        changed.push_back(event_of(p, at));
      } else {
        p.told_queued = found->second->told_queued;
      }
    }
    // A job that is no longer in line without an event of its own (leased, cancelled...) still
    // waits, but cannot start now: its tenant or the whole queue was paused.
    util::string_map<bool> left_the_queue;
    for (const store::logged_event& e : batch) {
      switch (e.value.type) {
        case event_type::leased:
        case event_type::succeeded:
        case event_type::failed:
        case event_type::cancelled:
        case event_type::dead: left_the_queue.emplace(e.value.job, true); break;
        default: break;
      }
    }
    for (const place& p : places_) {
      if (!owners.contains(p.where.job) && !left_the_queue.contains(p.where.job)) {
        changed.push_back(held_event(p, next.size(), at));
      }
    }
    owners_ = std::move(owners);  // only the queued jobs' owners are needed again
    places_ = std::move(next);
    at_ = at;
    return changed;
  }

  std::vector<store::logged_event> now() const override {
    const std::lock_guard lock(mutex_);
    std::vector<store::logged_event> current;
    current.reserve(places_.size());
    for (place p : places_) {
      p.told_queued = places_.size();
      current.push_back(event_of(p, at_));
    }
    return current;
  }

 private:
  struct place {
    queue_position where;
    std::string tenant;
    std::size_t told_queued;  ///< the "queued" its owner heard last
  };

  // News for the job's owner: its position, its expected start appearing, going or moving by
  // eta_step, or how many wait changing by a tenth since it last heard (by one in a short queue).
  bool moved(const place& was, const place& is) const {
    const std::size_t queued_change = was.told_queued > is.told_queued ? was.told_queued - is.told_queued
                                                                       : is.told_queued - was.told_queued;
    if (queued_change >= std::max<std::size_t>(1, was.told_queued / 10)) return true;
    if (was.where.position != is.where.position) return true;
    if (was.where.eta.has_value() != is.where.eta.has_value()) return true;
    if (!is.where.eta) return false;
    const duration shift = *is.where.eta - *was.where.eta;
    return shift >= eta_step_ || -shift >= eta_step_;
  }

  static store::logged_event event_of(const place& p, time_point at) {
    nlohmann::json data{{"position", p.where.position}, {"queued", p.told_queued}};
    if (p.where.eta) data["eta_ms"] = p.where.eta->time_since_epoch().count();
    return {.id = {},
            .value = {.type = event_type::position_changed, .at = at, .job = p.where.job, .tenant = p.tenant,
                      .data = std::move(data)}};
  }

  static store::logged_event held_event(place p, std::size_t queued, time_point at) {
    p.told_queued = queued;
    store::logged_event e = event_of(p, at);
    e.value.data["position"] = nullptr;
    e.value.data.erase("eta_ms");
    return e;
  }

  // A queued job's tenant: from the events seen, else from the store (a job queued before the
  // oldest event the feed read). Empty for a job the store forgot meanwhile: no one sees it.
  std::string owner(const std::string& job) {
    if (const auto known = owners_.find(job); known != owners_.end()) return known->second;
    const std::optional<comfyq::job> found = store_.find(job);
    return found ? found->tenant : std::string();
  }

  store::contract& store_;
  duration eta_step_;
  util::string_map<std::string> owners_;  ///< on the feed's thread only
  mutable std::mutex mutex_;
  std::vector<place> places_;  ///< in lease order
  time_point at_{};
};

}  // namespace comfyq::server
