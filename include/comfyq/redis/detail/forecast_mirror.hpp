#pragma once
// The Redis store's positions and forecasts, made in this process from a copy of what a
// forecast reads: every tenant's account, the jobs queued in each lane with their shapes, the
// averages of the estimates, the runs in progress. The same replay as the memory store's
// (detail::forecast_cache) answers from it, kept until the copy changes.
//
// The copy follows the queue through its event stream: every change of anything a forecast
// reads logs an event naming the tenant and the job it touched (scripts/forecast.hpp), so a
// query first reads again only what the events logged since the last one name, in one script
// whose size is bounded by those events, not by the queue. A long run of events is caught up
// with in steps of bounded size, and the copy is made afresh (the first time, or when the stream
// was trimmed past the last event it saw) in pages of bounded size. Neither steps nor pages are
// one instant of the queue, but whatever they miss is named by an event logged after they were
// read, which a later step reads again; the last step is one script, which leaves the copy as
// the queue was at one instant.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "comfyq/detail/cost_estimator.hpp"
#include "comfyq/detail/dispatcher.hpp"
#include "comfyq/detail/forecast.hpp"
#include "comfyq/detail/string_map.hpp"
#include "comfyq/redis/detail/decode.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/redis/script.hpp"
#include "comfyq/redis/scripts/all.hpp"
#include "comfyq/snapshot.hpp"

namespace comfyq::redis::detail {

class forecast_mirror {
 public:
  /// How the mirror reaches its queue: `script(lua, args)` runs one of the queue's scripts
  /// (ARGV: now, then args), `command(argv)` a command; `prefix` is the queue's key prefix.
  struct access {
    std::function<reply(const script&, std::span<const std::string_view>)> script;
    std::function<reply(std::span<const std::string_view>)> command;
    std::string prefix;
  };

  /// Events read in one script at most: bounds the work of a script that catches up.
  static constexpr std::size_t events_per_step = 200;
  /// Jobs, tenants or averages read in one command or script at most when the copy is made afresh.
  static constexpr std::size_t page = 500;

  /// `reuse`: scheduler_config::forecast_reuse.
  forecast_mirror(access redis, duration reuse) : redis_(std::move(redis)), reuse_(reuse) {}

  std::optional<queue_position> position(std::string_view id) {
    std::lock_guard lock(mutex_);
    sync();
    auto found = job_handles_.find(id);
    if (found == job_handles_.end()) return std::nullopt;  // not queued
    const std::uint32_t h = found->second;
    if (state_->paused() || state_->tenant(jobs_[h].tenant).paused) return std::nullopt;
    replay_until(live_, [&] { return forecast_.rank_of(h).has_value(); });
    const std::optional<std::size_t> rank = forecast_.rank_of(h);
    if (!rank) return std::nullopt;
    return position_at(*rank, live_ > 0);
  }

  std::vector<queue_position> forecast(std::size_t workers, std::size_t limit) {
    std::lock_guard lock(mutex_);
    sync();
    const std::size_t up = workers > 0 ? workers : live_;
    replay_until(up, [&] { return forecast_.starts().size() >= limit; });
    std::vector<queue_position> out;
    out.reserve(std::min(limit, forecast_.starts().size()));
    for (std::size_t k = 0; k < forecast_.starts().size() && k < limit; ++k) out.push_back(position_at(k, up > 0));
    return out;
  }

 private:
  struct mirrored_job {
    std::string id;
    std::string shape;
    std::uint64_t seq = 0;
    std::uint32_t tenant = 0;
    bool priority = false;
  };
  struct running_job {
    std::uint32_t tenant = 0;
    std::string shape;
    duration charged{};
    time_point started_at{};
    std::uint64_t token = 0;
    bool operator==(const running_job&) const = default;
  };

  // ---- catching up ----------------------------------------------------------------------

  // Brings the copy to one instant of the queue, and now_ and live_ to that instant. A copy
  // left halfway by a failure is read afresh next time.
  void sync() {
    try {
      catch_up();
    } catch (...) {
      state_.reset();
      throw;
    }
  }

  void catch_up() {
    for (;;) {
      if (!state_) read_afresh();
      const std::string began = std::to_string(events_began_);
      const std::string most = std::to_string(events_per_step);
      const std::string_view args[] = {event_id_, began, most, settled_ ? "0" : "1"};
      reply r = redis_.script(scripts::sync_forecast, args);
      const std::string_view outcome = r.at(0).string();
      if (outcome == "same") {
        now_ = to_time(r.at(1).integer());
        live_ = static_cast<std::size_t>(r.at(2).integer());
        return;
      }
      if (outcome == "lost") {
        state_.reset();
        continue;
      }
      if (outcome == "more") {
        read_named(r.at(2), r.at(3), r.at(4));
        event_id_ = std::string(r.at(1).string());
        continue;
      }
      if (apply_instant(r)) return;
      read_all_averages();  // some changed, but which cannot be known: a later step settles it
    }
  }

  // The reply of an instant (scripts::forecast_sync_body). False when averages that may have
  // changed are unknown.
  bool apply_instant(reply_view r) {
    settled_ = true;
    now_ = to_time(r.at(1).integer());
    event_id_ = std::string(r.at(2).string());
    live_ = static_cast<std::size_t>(r.at(3).integer());
    const duration fallback(r.at(8).integer());
    const double smoothing = to_double(r.at(9).string());
    if (fallback != estimates_->fallback() || smoothing != estimates_->smoothing()) {
      rebuild_estimates(fallback, smoothing);
    }
    reply_view tenants = r.at(10);
    for (std::size_t i = 0; i + 1 < tenants.size(); i += 2) apply_tenant(tenants.at(i).string(), tenants.at(i + 1));
    reply_view jobs = r.at(11);
    for (std::size_t i = 0; i + 1 < jobs.size(); i += 2) apply_job(jobs.at(i).string(), jobs.at(i + 1));
    apply_globals(parse_policy(r.at(4).string()).value_or(policy::fair_share), r.at(5).integer() != 0,
                  static_cast<std::uint64_t>(to_int(r.at(6).string())), static_cast<std::uint64_t>(to_int(r.at(7).string())));
    apply_running(r.at(12));
    if (r.at(13).is_nil()) return false;
    reply_view averages = r.at(13);
    for (std::size_t i = 0; i + 1 < averages.size(); i += 2) apply_average(averages.at(i).string(), averages.at(i + 1));
    return true;
  }

  // What a step of a long run of events named, read in pages: settled by a later step.
  void read_named(reply_view tenants, reply_view jobs, reply_view succeeded) {
    std::vector<std::string> tenant_ids, job_ids;
    for (reply_view t : tenants.elements()) tenant_ids.emplace_back(t.string());
    for (reply_view j : jobs.elements()) job_ids.emplace_back(j.string());
    std::unordered_set<std::string_view> did_succeed;
    for (reply_view j : succeeded.elements()) did_succeed.insert(j.string());
    read_tenants(tenant_ids);
    std::vector<std::string> fields;
    bool known = true;
    read_records("j:", job_ids, [&](std::string_view id, reply_view record) {
      apply_job(id, record);
      if (!did_succeed.contains(id)) return;
      if (record.is_nil()) {
        known = false;
        return;
      }
      const job_record j = decode_job_record(record.string());
      fields.push_back("t:" + j.tenant + ":" + j.shape);
      fields.push_back("s:" + j.shape);
    });
    if (!known) {
      read_all_averages();
      return;
    }
    const std::string key = est_key();
    for (std::size_t from = 0; from < fields.size(); from += page) {
      std::vector<std::string_view> argv{"HMGET", key};
      for (std::size_t i = from; i < std::min(fields.size(), from + page); ++i) argv.push_back(fields[i]);
      reply values = redis_.command(argv);
      for (std::size_t i = 2; i < argv.size(); ++i) apply_average(argv[i], values.at(i - 2));
    }
  }

  // ---- reading the copy afresh ----------------------------------------------------------

  void read_afresh() {
    state_ = std::make_unique<comfyq::detail::dispatcher>();
    estimates_ = std::make_unique<comfyq::detail::cost_estimator>(duration(60'000), 0.3);  // settled by the next instant
    settled_ = false;
    tenant_ids_.clear();
    tenant_records_.clear();
    jobs_.clear();
    job_handles_.clear();
    free_handles_.clear();
    averages_.clear();
    running_.clear();
    policy_ = policy::fair_share;
    paused_ = false;
    turns_ = last_token_ = 0;
    ++generation_;
    // Events from here on name whatever the pages below miss.
    const std::string stream = redis_.prefix + "ev";
    const std::string_view newest[] = {"XREVRANGE", stream, "+", "-", "COUNT", "1"};
    const reply last = redis_.command(newest);
    event_id_ = last.size() > 0 ? std::string(last.at(0).at(0).string()) : "0-0";
    events_began_ = 0;
    const std::string_view xinfo[] = {"XINFO", "STREAM", stream};
    const reply info = redis_.command(xinfo);  // an error when there is no stream
    for (std::size_t i = 0; !info.is_error() && i + 1 < info.size(); i += 2) {
      if (info.at(i).string() == "entries-added") events_began_ = static_cast<std::uint64_t>(info.at(i + 1).integer());
    }
    const std::string tenants_key = redis_.prefix + "tenants";
    const std::string_view members[] = {"SMEMBERS", tenants_key};
    const reply names = redis_.command(members);
    std::vector<std::string> tenants;
    for (reply_view t : names.elements()) tenants.emplace_back(t.string());
    read_tenants(tenants);
    read_all_averages();
    read_lanes(tenants);
  }

  void read_tenants(const std::vector<std::string>& ids) {
    read_records("t:", ids, [&](std::string_view id, reply_view record) { apply_tenant(id, record); });
  }

  // MGET of "<prefix><kind><id>" for every id, a page at a time; `apply(id, record or nil)`.
  template <class Apply>
  void read_records(std::string_view kind, const std::vector<std::string>& ids, Apply&& apply) {
    std::vector<std::string> keys;
    for (std::size_t from = 0; from < ids.size(); from += page) {
      const std::size_t to = std::min(ids.size(), from + page);
      keys.clear();
      for (std::size_t i = from; i < to; ++i) keys.push_back(redis_.prefix + std::string(kind) + ids[i]);
      std::vector<std::string_view> argv{"MGET"};
      argv.insert(argv.end(), keys.begin(), keys.end());
      reply records = redis_.command(argv);
      for (std::size_t i = from; i < to; ++i) apply(ids[i], records.at(i - from));
    }
  }

  void read_all_averages() {
    const std::string key = est_key();
    std::string cursor = "0";
    const std::string count = std::to_string(page);
    do {
      const std::string_view argv[] = {"HSCAN", key, cursor, "COUNT", count};
      reply r = redis_.command(argv);
      cursor = std::string(r.at(0).string());
      reply_view pairs = r.at(1);
      for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) apply_average(pairs.at(i).string(), pairs.at(i + 1));
    } while (cursor != "0");
  }

  // Every tenant's normal lane, then the priority lane (""), a page at a time: a script lists
  // the jobs, then their records are read.
  void read_lanes(std::vector<std::string> lanes) {
    constexpr std::size_t lanes_per_page = 100;
    lanes.emplace_back();
    const std::string most = std::to_string(page);
    std::string after = "0";
    std::vector<std::string> jobs;
    for (std::size_t next = 0; next < lanes.size();) {
      std::vector<std::string_view> args{most};
      const std::size_t window = std::min(lanes.size() - next, lanes_per_page);
      for (std::size_t i = next; i < next + window; ++i) {
        args.push_back(lanes[i]);
        args.push_back(i == next ? std::string_view(after) : std::string_view("0"));
      }
      reply r = redis_.script(scripts::read_forecast_lanes, args);
      jobs.clear();
      for (reply_view job : r.at(2).elements()) jobs.emplace_back(job.string());
      // Read after the listing: a job that left its lane in between is named by a later event.
      read_records("j:", jobs, [&](std::string_view id, reply_view record) { apply_job(id, record); });
      const auto finished = static_cast<std::size_t>(r.at(0).integer());
      next += finished;
      after = finished < window ? std::string(r.at(1).string()) : "0";  // where the unfinished lane stopped
    }
  }

  // ---- applying what was read -------------------------------------------------------------

  void apply_tenant(std::string_view id, reply_view record) {
    if (record.is_nil()) return;  // tenants are never removed
    const std::string_view packed = record.string();
    const tenant_record saved = decode_tenant_record(packed);
    const comfyq::detail::tenant_account account{.weight = saved.weight,
                                                 .max_running = saved.max_running,
                                                 .paused = saved.paused,
                                                 .settled_clock = saved.settled_clock,
                                                 .in_flight = saved.in_flight,
                                                 .turn = saved.turn,
                                                 .running = saved.running};
    auto known = tenant_ids_.find(id);
    if (known == tenant_ids_.end()) {
      tenant_ids_.emplace(std::string(id), state_->restore_tenant(account));
      tenant_records_.emplace_back(packed);
    } else if (tenant_records_[known->second] != packed) {
      state_->restore_account(known->second, account);
      tenant_records_[known->second] = packed;
    } else {
      return;
    }
    ++generation_;
  }

  // A job is in its lane while its record says queued; otherwise (or gone) it is not.
  void apply_job(std::string_view id, reply_view record) {
    if (record.is_nil()) {
      leave(id);
      return;
    }
    const job_record j = decode_job_record(record.string());
    if (j.queued) {
      enter(id, j.tenant, j.seq, j.priority, j.shape);
    } else {
      leave(id);
    }
  }

  void enter(std::string_view id, std::string_view tenant, std::uint64_t seq, bool priority, std::string_view shape) {
    auto t = tenant_ids_.find(tenant);
    if (t == tenant_ids_.end()) return;  // a tenant newer than the pages: its events name both
    if (auto found = job_handles_.find(id); found != job_handles_.end()) {
      const mirrored_job& j = jobs_[found->second];
      if (j.seq == seq && j.tenant == t->second && j.priority == priority) return;
      leave(id);  // the id was forgotten and used again
    }
    std::uint32_t h;
    if (free_handles_.empty()) {
      h = static_cast<std::uint32_t>(jobs_.size());
      jobs_.emplace_back();
    } else {
      h = free_handles_.back();
      free_handles_.pop_back();
    }
    jobs_[h] = mirrored_job{std::string(id), std::string(shape), seq, t->second, priority};
    job_handles_.emplace(jobs_[h].id, h);
    state_->restore_job(h, t->second, seq, priority);
    ++generation_;
  }

  void leave(std::string_view id) {
    auto found = job_handles_.find(id);
    if (found == job_handles_.end()) return;
    const std::uint32_t h = found->second;
    state_->remove(h);
    job_handles_.erase(found);
    free_handles_.push_back(h);
    ++generation_;
  }

  void apply_globals(policy p, bool paused, std::uint64_t turns, std::uint64_t last_token) {
    if (p == policy_ && paused == paused_ && turns == turns_ && last_token == last_token_) return;
    if (p != state_->current_policy()) state_->set_policy(p);
    state_->set_paused(paused);
    state_->restore_turns(turns);
    policy_ = p;
    paused_ = paused;
    turns_ = turns;
    last_token_ = last_token;
    ++generation_;
  }

  void apply_running(reply_view records) {
    std::vector<running_job> now_running;
    for (reply_view record : records.elements()) {
      if (record.is_nil()) continue;
      const job_record j = decode_job_record(record.string());
      auto t = tenant_ids_.find(j.tenant);
      if (t == tenant_ids_.end()) continue;
      now_running.push_back({t->second, j.shape, j.charged, j.started_at, j.token});
    }
    if (now_running == running_) return;
    running_ = std::move(now_running);
    ++generation_;
  }

  void apply_average(std::string_view field, reply_view value) {
    if (value.is_nil() || !(field.starts_with("s:") || field.starts_with("t:"))) return;
    const double average = to_double(value.string());
    auto known = averages_.find(field);
    if (known != averages_.end() && known->second == average) return;
    if (known == averages_.end()) {
      averages_.emplace(std::string(field), average);
    } else {
      known->second = average;
    }
    restore_average(field, average);
    ++generation_;
  }

  // "s:<shape>" is a shape's average, "t:<tenant>:<shape>" a tenant's (ids have no ':').
  void restore_average(std::string_view field, double average) {
    if (field.starts_with("s:")) {
      estimates_->restore_shape(field.substr(2), average);
      return;
    }
    const std::size_t colon = field.find(':', 2);
    if (colon == std::string_view::npos) return;
    auto t = tenant_ids_.find(field.substr(2, colon - 2));
    if (t != tenant_ids_.end()) estimates_->restore(t->second, field.substr(colon + 1), average);
  }

  void rebuild_estimates(duration fallback, double smoothing) {
    estimates_ = std::make_unique<comfyq::detail::cost_estimator>(fallback, smoothing);
    for (const auto& [field, average] : averages_) restore_average(field, average);
    ++generation_;
  }

  // ---- answering ----------------------------------------------------------------------------

  template <class Enough>
  void replay_until(std::size_t up, Enough&& enough) {
    const std::size_t workers = std::max<std::size_t>(up, 1);
    auto begin = [&] {
      std::vector<comfyq::detail::running_run> running;
      for (const running_job& r : running_) {
        running.push_back({r.tenant, r.shape, r.charged, r.started_at + r.charged, r.token});
      }
      return std::make_unique<comfyq::detail::forecast_replay>(*state_, *estimates_, running, workers, now_, last_token_);
    };
    auto shape_of = [this](std::uint32_t h) -> std::string_view { return jobs_[h].shape; };
    forecast_.replay_until(generation_, workers, now_, reuse_, begin, shape_of, enough);
  }

  queue_position position_at(std::size_t rank, bool eta_known) const {
    const comfyq::detail::forecast_start& s = forecast_.starts()[rank];
    return queue_position{jobs_[s.job].id, rank + 1,
                          eta_known ? std::optional<time_point>(forecast_.eta(s, now_)) : std::nullopt};
  }

  std::string est_key() const { return redis_.prefix + "est"; }

  access redis_;
  duration reuse_;
  std::mutex mutex_;
  // The copy; state_ is null until it is first read (and again when it must be read afresh),
  // settled_ false until a whole instant was applied to it since.
  std::unique_ptr<comfyq::detail::dispatcher> state_;
  bool settled_ = false;
  std::unique_ptr<comfyq::detail::cost_estimator> estimates_;
  comfyq::detail::string_map<std::uint32_t> tenant_ids_;
  std::vector<std::string> tenant_records_;  ///< as last read, by tenant index: what changed
  std::vector<mirrored_job> jobs_;           ///< by handle
  comfyq::detail::string_map<std::uint32_t> job_handles_;  ///< queued jobs only
  std::vector<std::uint32_t> free_handles_;
  comfyq::detail::string_map<double> averages_;  ///< estimate fields as last read
  std::vector<running_job> running_;
  policy policy_ = policy::fair_share;
  bool paused_ = false;
  std::uint64_t turns_ = 0;
  std::uint64_t last_token_ = 0;
  // Where in the event stream the copy is: the last event applied ("0-0" while none), and how
  // many events the stream had taken in when the copy was read afresh.
  std::string event_id_ = "0-0";
  std::uint64_t events_began_ = 0;
  time_point now_{};
  std::size_t live_ = 0;
  std::uint64_t generation_ = 0;
  comfyq::detail::forecast_cache forecast_;
};

}  // namespace comfyq::redis::detail
