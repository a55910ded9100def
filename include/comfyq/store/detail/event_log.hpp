#pragma once
// The memory store's bounded event log: events numbered first + 1, first + 2... (ids are their
// decimal text), the oldest dropped beyond the limit. Not synchronised: the store guards it.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::store::detail {

class event_log {
 public:
  /// Keeps the last `limit` events; the first one logged is numbered `first` + 1.
  explicit event_log(std::size_t limit, std::uint64_t first = 0)
      : limit_(std::max<std::size_t>(limit, 1)), first_(first), last_(first) {}

  void append(const event& e) {
    events_.push_back(e);
    ++last_;
    if (events_.size() > limit_) events_.pop_front();
  }

  std::uint64_t last() const noexcept { return last_; }

  /// The id of the newest event, "0" when none was logged.
  std::string last_id() const { return last_ == first_ ? "0" : std::to_string(last_); }

  /// Whether an event follows `after`.
  bool has_after(std::uint64_t after) const noexcept { return std::max(after, first_) < last_; }

  std::vector<logged_event> read(std::uint64_t after, std::size_t max) const {
    std::uint64_t first = last_ - events_.size() + 1;  // id of events_.front()
    std::vector<logged_event> out;
    for (std::uint64_t id = std::max(after + 1, first); id <= last_ && out.size() < max; ++id) {
      out.push_back({std::to_string(id), events_[id - first]});
    }
    return out;
  }

  /// Parses a reader's cursor: "0" or the id of an event it saw.
  static std::uint64_t parse_id(std::string_view id) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
    if (id.empty() || ec != std::errc() || end != id.data() + id.size()) {
      throw invalid_input("after", "'" + comfyq::detail::printable(id) + "' is not an event id; pass \"0\" or the id of an event you read");
    }
    return value;
  }

 private:
  std::size_t limit_;
  std::deque<event> events_;
  std::uint64_t first_;  ///< the number before the first event's
  std::uint64_t last_;
};

}  // namespace comfyq::store::detail
