#pragma once
// The Redis store's positions and forecasts, made in this process from a copy of what a
// forecast reads (queue_copy.hpp), kept up to date here.
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

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "comfyq/redis/detail/decode.hpp"
#include "comfyq/redis/detail/queue_copy.hpp"
#include "comfyq/redis/function_library.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/redis/scripts/all.hpp"
#include "comfyq/snapshot.hpp"

namespace comfyq::redis::detail {

class forecast_mirror {
 public:
  /// How the mirror reaches its queue: `call(function, args)` runs one of the queue's functions
  /// (ARGV: now, then args), `command(argv)` a command; `prefix` is the queue's key prefix.
  struct access {
    std::function<reply(const library_function&, std::span<const std::string_view>)> call;
    std::function<reply(std::span<const std::string_view>)> command;
    std::string prefix;
  };

  /// Events read in one script at most: bounds the work of a script that catches up.
  static constexpr std::size_t events_per_step = 200;
  /// Jobs, tenants or averages read in one command or script at most when the copy is made afresh.
  static constexpr std::size_t page = 500;

  /// `reuse`: scheduler_config::forecast_reuse.
  forecast_mirror(access redis, duration reuse) : redis_(std::move(redis)), copy_(reuse) {}

  std::optional<queue_position> position(std::string_view id) {
    std::lock_guard lock(mutex_);
    sync();
    return copy_.position(id, now_, live_);
  }

  std::vector<queue_position> forecast(std::size_t workers, std::size_t limit) {
    std::lock_guard lock(mutex_);
    sync();
    return copy_.forecast(now_, live_, workers, limit);
  }

 private:
  // ---- catching up ----------------------------------------------------------------------

  // Brings the copy to one instant of the queue, and now_ and live_ to that instant. A copy
  // left halfway by a failure is read afresh next time.
  void sync() {
    try {
      catch_up();
    } catch (...) {
      copied_ = false;
      throw;
    }
  }

  void catch_up() {
    for (;;) {
      if (!copied_) read_afresh();
      const std::string began = std::to_string(events_began_);
      const std::string most = std::to_string(events_per_step);
      const std::string_view args[] = {event_id_, began, most, settled_ ? "0" : "1"};
      reply r = redis_.call(scripts::sync_forecast, args);
      const std::string_view outcome = r.at(0).string();
      if (outcome == "same") {
        now_ = to_time(r.at(1).integer());
        live_ = static_cast<std::size_t>(r.at(2).integer());
        return;
      }
      if (outcome == "lost") {
        copied_ = false;
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
    copy_.set_estimating(duration(r.at(8).integer()), to_double(r.at(9).string()));
    reply_view tenants = r.at(10);
    for (std::size_t i = 0; i + 1 < tenants.size(); i += 2) copy_.apply_tenant(tenants.at(i).string(), tenants.at(i + 1));
    reply_view jobs = r.at(11);
    for (std::size_t i = 0; i + 1 < jobs.size(); i += 2) copy_.apply_job(jobs.at(i).string(), jobs.at(i + 1));
    copy_.apply_settings(parse_policy(r.at(4).string()).value_or(policy::fair_share), r.at(5).integer() != 0,
                         static_cast<std::uint64_t>(to_int(r.at(6).string())),
                         static_cast<std::uint64_t>(to_int(r.at(7).string())));
    copy_.apply_running(r.at(12));
    const bool averages_known = !r.at(13).is_nil();
    if (averages_known) {
      reply_view averages = r.at(13);
      for (std::size_t i = 0; i + 1 < averages.size(); i += 2) {
        copy_.apply_average(averages.at(i).string(), averages.at(i + 1));
      }
    }
    now_ = to_time(r.at(1).integer());
    event_id_ = std::string(r.at(2).string());
    live_ = static_cast<std::size_t>(r.at(3).integer());
    settled_ = true;
    return averages_known;
  }

  // What a step of a long run of events named, read in pages: settled by a later step.
  void read_named(reply_view tenants, reply_view jobs, reply_view succeeded) {
    std::vector<std::string> tenant_ids, job_ids;
    for (reply_view t : tenants.elements()) tenant_ids.emplace_back(t.string());
    for (reply_view j : jobs.elements()) job_ids.emplace_back(j.string());
    std::unordered_set<std::string_view> did_succeed;
    for (reply_view j : succeeded.elements()) did_succeed.insert(j.string());
    read_records("t:", tenant_ids, [&](std::string_view id, reply_view record) { copy_.apply_tenant(id, record); });
    std::vector<std::string> fields;
    bool known = true;
    read_records("j:", job_ids, [&](std::string_view id, reply_view record) {
      copy_.apply_job(id, record);
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
    const std::string key = redis_.prefix + "est";
    for (std::size_t from = 0; from < fields.size(); from += page) {
      std::vector<std::string_view> argv{"HMGET", key};
      for (std::size_t i = from; i < std::min(fields.size(), from + page); ++i) argv.push_back(fields[i]);
      reply values = redis_.command(argv);
      for (std::size_t i = 2; i < argv.size(); ++i) copy_.apply_average(argv[i], values.at(i - 2));
    }
  }

  // ---- reading the copy afresh ----------------------------------------------------------

  void read_afresh() {
    copy_.clear();
    settled_ = false;
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
    read_records("t:", tenants, [&](std::string_view id, reply_view record) { copy_.apply_tenant(id, record); });
    read_all_averages();
    read_lanes(tenants);
    copied_ = true;
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
    const std::string key = redis_.prefix + "est";
    std::string cursor = "0";
    const std::string count = std::to_string(page);
    do {
      const std::string_view argv[] = {"HSCAN", key, cursor, "COUNT", count};
      reply r = redis_.command(argv);
      cursor = std::string(r.at(0).string());
      reply_view pairs = r.at(1);
      for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) copy_.apply_average(pairs.at(i).string(), pairs.at(i + 1));
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
      reply r = redis_.call(scripts::read_forecast_lanes, args);
      jobs.clear();
      for (reply_view job : r.at(2).elements()) jobs.emplace_back(job.string());
      // Read after the listing: a job that left its lane in between is named by a later event.
      read_records("j:", jobs, [&](std::string_view id, reply_view record) { copy_.apply_job(id, record); });
      const auto finished = static_cast<std::size_t>(r.at(0).integer());
      next += finished;
      after = finished < window ? std::string(r.at(1).string()) : "0";  // where the unfinished lane stopped
    }
  }

  access redis_;
  std::mutex mutex_;
  queue_copy copy_;
  bool copied_ = false;   ///< the copy was read (false: read it afresh)
  bool settled_ = false;  ///< a whole instant was applied to it since
  // Where in the event stream the copy is: the last event applied ("0-0" while none), and how
  // many events the stream had taken in when the copy was read afresh.
  std::string event_id_ = "0-0";
  std::uint64_t events_began_ = 0;
  time_point now_{};  ///< the instant the copy is as of
  std::size_t live_ = 0;
};

}  // namespace comfyq::redis::detail
