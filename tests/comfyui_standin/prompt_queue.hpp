#pragma once
// ComfyUI's PromptQueue state: the pending jobs as a Python heapq array (GET /queue shows
// them in heap-array order, not sorted), the running job, and the history (insertion
// ordered; a second job with the same prompt_id overwrites the entry in place; at most
// 10,000 entries, oldest dropped first).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

struct queue_item {
  json number{};  // the counter (an int), or the client's "number" as a float
  std::string prompt_id{};
  json prompt{};
  json extra_data{};
  std::vector<std::string> outputs{};  // outputs_to_execute
  std::uint64_t sequence{};            // submission order

  /// [number, prompt_id, prompt, extra_data, outputs_to_execute], as /queue and /history show it.
  json as_tuple() const { return json::array({number, prompt_id, prompt, extra_data, outputs}); }

  /// extra_data.client_id: the socket the job's messages go to; nullopt when it has none.
  std::optional<std::string> client_id() const {
    if (!extra_data.contains("client_id") || extra_data.at("client_id").is_null()) return std::nullopt;
    return python_str(extra_data.at("client_id"));
  }
};

/// Tuple comparison (number, prompt_id), as heapq compares ComfyUI's queue items.
inline bool runs_before(const queue_item& a, const queue_item& b) {
  const double left = a.number.get<double>();
  const double right = b.number.get<double>();
  if (left != right) return left < right;
  return a.prompt_id < b.prompt_id;
}

/// Python's heapq, operation for operation, so the array order matches ComfyUI's.
class prompt_heap {
 public:
  void push(queue_item item) {
    items_.push_back(std::move(item));
    sift_down(0, items_.size() - 1);
  }

  queue_item pop() {
    queue_item last = std::move(items_.back());
    items_.pop_back();
    if (items_.empty()) return last;
    queue_item first = std::move(items_.front());
    items_.front() = std::move(last);
    sift_up(0);
    return first;
  }

  /// Removes the first item (in array order) with this prompt_id, then re-heapifies.
  bool remove_first(const std::string& prompt_id) {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].prompt_id != prompt_id) continue;
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
      for (std::size_t j = items_.size() / 2; j-- > 0;) sift_up(j);
      return true;
    }
    return false;
  }

  void clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<queue_item>& items() const { return items_; }

 private:
  void sift_down(std::size_t start, std::size_t pos) {
    queue_item moving = std::move(items_[pos]);
    while (pos > start) {
      const std::size_t parent = (pos - 1) >> 1U;
      if (!runs_before(moving, items_[parent])) break;
      items_[pos] = std::move(items_[parent]);
      pos = parent;
    }
    items_[pos] = std::move(moving);
  }

  void sift_up(std::size_t pos) {
    const std::size_t end = items_.size();
    const std::size_t start = pos;
    queue_item moving = std::move(items_[pos]);
    std::size_t child = 2 * pos + 1;
    while (child < end) {
      const std::size_t right = child + 1;
      if (right < end && !runs_before(items_[child], items_[right])) child = right;
      items_[pos] = std::move(items_[child]);
      pos = child;
      child = 2 * pos + 1;
    }
    items_[pos] = std::move(moving);
    sift_down(start, pos);
  }

  std::vector<queue_item> items_;
};

/// History entries by prompt_id, in insertion order.
class history_store {
 public:
  static constexpr std::size_t max_entries = 10000;

  struct record {
    std::string prompt_id{};
    json entry{};
    std::uint64_t sequence{};  // the job's submission order
  };

  void put(const std::string& prompt_id, json entry, std::uint64_t sequence) {
    for (auto& existing : records_) {
      if (existing.prompt_id == prompt_id) {
        existing.entry = std::move(entry);
        existing.sequence = sequence;
        return;
      }
    }
    if (records_.size() >= max_entries) records_.erase(records_.begin());
    records_.push_back(record{prompt_id, std::move(entry), sequence});
  }

  const json* find(const std::string& prompt_id) const {
    for (const auto& existing : records_) {
      if (existing.prompt_id == prompt_id) return &existing.entry;
    }
    return nullptr;
  }

  void erase(const std::string& prompt_id) {
    std::erase_if(records_, [&](const record& r) { return r.prompt_id == prompt_id; });
  }

  void clear() { records_.clear(); }

  /// get_history(max_items, offset): without an offset the newest max_items, else
  /// max_items from `offset` on; everything when max_items is absent.
  json view(std::optional<std::size_t> max_items, std::optional<long long> offset) const {
    long long start = offset.value_or(-1);
    if (start < 0 && max_items) start = static_cast<long long>(records_.size()) - static_cast<long long>(*max_items);
    json out = json::object();
    long long index = 0;
    for (const auto& existing : records_) {
      if (index++ < start) continue;
      out[existing.prompt_id] = existing.entry;
      if (max_items && out.size() >= *max_items) break;
    }
    return out;
  }

  const std::vector<record>& records() const { return records_; }

 private:
  std::vector<record> records_;
};

}  // namespace comfyq::testing::standin
