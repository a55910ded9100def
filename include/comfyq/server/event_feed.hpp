#pragma once
// One reader of a store's event log per server, fanned out to every live stream: however many
// clients follow the queue, the store is read once. The feed keeps the last `kept` events, as
// many as the store's own log holds by default, so that a client that reconnects with the id of
// the last event it saw (SSE's Last-Event-ID) gets everything after it that the log still has.
// Beside the log's events the feed carries events derived from the queue's state (queue
// positions, queue_positions.hpp): they have no id and are not kept, and a subscriber that
// joins gets the current ones instead.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

/// Event ids in order: the memory store's are numbers ("42"), Redis's stream ids ("1700000-3").
/// nullopt for text that is neither.
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> event_order(std::string_view id) {
  std::pair<std::uint64_t, std::uint64_t> order{};
  const std::size_t dash = id.find('-');
  const std::string_view first = id.substr(0, dash);
  auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), order.first);
  if (first.empty() || error != std::errc{} || end != first.data() + first.size()) return std::nullopt;
  if (dash == std::string_view::npos) return order;
  const std::string_view second = id.substr(dash + 1);
  auto [end2, error2] = std::from_chars(second.data(), second.data() + second.size(), order.second);
  if (second.empty() || error2 != std::errc{} || end2 != second.data() + second.size()) return std::nullopt;
  return order;
}

/// Events the feed derives from the queue's state after each batch of the log's events.
class derived_events {
 public:
  virtual ~derived_events() = default;
  /// On the feed's thread, after each batch: the derived events it changed (ids empty). May
  /// read the store, and throw comfyq::error when the store does not answer.
  virtual std::vector<store::logged_event> after(const std::vector<store::logged_event>& batch) = 0;
  /// The derived events a subscriber that joins now starts from; must not block.
  virtual std::vector<store::logged_event> now() const = 0;
};

struct event_feed_options {
  std::size_t kept = 10'000;  ///< events kept for clients that resume
  std::size_t batch = 500;    ///< the most events one read of the store takes
  duration wait = std::chrono::seconds(1);  ///< how long one read waits for news (and stop() for it)
  duration retry = std::chrono::seconds(1);  ///< the pause after a read the store did not answer
};

class event_feed {
 public:
  /// Gets events on the feed's thread, in the log's order, each once; must not block. It may
  /// release its own subscription.
  using delivery = std::function<void(const std::vector<store::logged_event>&)>;

  /// A subscriber's place in the feed; it gets nothing more once released.
  class subscription {
   public:
    subscription(event_feed& feed, std::uint64_t key) : feed_(feed), key_(key) {}
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { feed_.unsubscribe(key_); }

   private:
    event_feed& feed_;
    std::uint64_t key_;
  };

  /// What a subscriber starts from.
  struct subscribed {
    std::unique_ptr<subscription> handle;
    std::vector<store::logged_event> backlog;  ///< the kept events after the id it gave
    bool gap = false;  ///< its id is older than every event kept (or unknown): some were missed
  };

  /// `derived`, when given, must outlive the feed.
  event_feed(store::contract& store, event_feed_options options = {}, derived_events* derived = nullptr)
      : store_(store), options_(options), derived_(derived) {}
  event_feed(const event_feed&) = delete;
  event_feed& operator=(const event_feed&) = delete;
  ~event_feed() { stop(); }

  /// Starts reading, from the oldest event the store keeps.
  void start() {
    if (reader_.joinable()) return;
    stopping_ = false;
    reader_ = std::thread([this] { read(); });
  }

  /// Stops reading (within options.wait); subscribers keep their handles but get nothing more.
  void stop() {
    stopping_ = true;
    if (reader_.joinable()) reader_.join();
  }

  /// Subscribes `deliver` to every event after `last_id` ("" for only what happens from now
  /// on): those the feed keeps come back as the backlog, the later ones through `deliver`,
  /// with nothing missed or repeated between the two. The backlog ends with the derived
  /// events as they stand now.
  subscribed subscribe(std::string_view last_id, delivery deliver) {
    const std::lock_guard lock(mutex_);
    subscribed from;
    if (!last_id.empty()) {
      const auto after = event_order(last_id);
      const auto first_later = std::find_if(kept_.begin(), kept_.end(), [&](const store::logged_event& e) {
        return after && event_order(e.id) > after;
      });
      from.backlog.assign(first_later, kept_.end());
      from.gap = !after || (first_later == kept_.begin() && !kept_.empty() && trimmed_ &&
                            event_order(kept_.front().id) > after);
    }
    if (derived_ != nullptr) {
      std::vector<store::logged_event> current = derived_->now();
      from.backlog.insert(from.backlog.end(), std::make_move_iterator(current.begin()),
                          std::make_move_iterator(current.end()));
    }
    const std::uint64_t key = ++last_key_;
    subscribers_.emplace_back(key, std::move(deliver));
    from.handle = std::make_unique<subscription>(*this, key);
    return from;
  }

  std::size_t subscribers() const {
    const std::lock_guard lock(mutex_);
    return subscribers_.size();
  }

 private:
  void read() {
    reader_id_ = std::this_thread::get_id();
    std::string cursor = "0";
    while (!stopping_) {
      std::vector<store::logged_event> events;
      try {
        events = store_.read_events(cursor, options_.batch, options_.wait);
      } catch (const comfyq::error&) {
        std::this_thread::sleep_for(options_.retry);  // the store is away; the stream goes on after it
        continue;
      }
      if (events.empty()) continue;
      cursor = events.back().id;
      std::vector<store::logged_event> delivered = events;
      append_derived(events, delivered);
      std::vector<std::pair<std::uint64_t, delivery>> targets;
      {
        const std::lock_guard lock(mutex_);
        for (const auto& e : events) kept_.push_back(e);
        while (kept_.size() > options_.kept) {
          kept_.pop_front();
          trimmed_ = true;
        }
        targets = subscribers_;
      }
      // Outside mutex_, so that a delivery may unsubscribe; under delivering_, so that an
      // unsubscribe from another thread returns only once no delivery to it can still run.
      const std::lock_guard delivering(delivering_);
      for (const auto& [key, deliver] : targets) {
        if (is_subscribed(key)) deliver(delivered);
      }
    }
  }

  // What the derived events say after `events`, added to `delivered`; nothing while the store
  // does not answer (they catch up after the next batch).
  void append_derived(const std::vector<store::logged_event>& events, std::vector<store::logged_event>& delivered) {
    if (derived_ == nullptr) return;
    try {
      std::vector<store::logged_event> changed = derived_->after(events);
      delivered.insert(delivered.end(), std::make_move_iterator(changed.begin()), std::make_move_iterator(changed.end()));
    } catch (const comfyq::error&) {
    }
  }

  bool is_subscribed(std::uint64_t key) const {
    const std::lock_guard lock(mutex_);
    return std::any_of(subscribers_.begin(), subscribers_.end(), [key](const auto& s) { return s.first == key; });
  }

  void unsubscribe(std::uint64_t key) {
    {
      const std::lock_guard lock(mutex_);
      std::erase_if(subscribers_, [key](const auto& s) { return s.first == key; });
    }
    // A delivery in progress on the feed's thread may still call it: wait it out, unless this
    // is that delivery releasing its own subscription.
    if (std::this_thread::get_id() != reader_id_.load()) {
      const std::lock_guard wait(delivering_);
    }
  }

  store::contract& store_;
  event_feed_options options_;
  derived_events* derived_;
  mutable std::mutex mutex_;
  std::deque<store::logged_event> kept_;
  bool trimmed_ = false;  ///< events older than kept_.front() were read and let go
  std::vector<std::pair<std::uint64_t, delivery>> subscribers_;
  std::uint64_t last_key_ = 0;
  std::mutex delivering_;  ///< held while deliveries run
  std::atomic<bool> stopping_{false};
  std::thread reader_;
  std::atomic<std::thread::id> reader_id_{};
};

}  // namespace comfyq::server
