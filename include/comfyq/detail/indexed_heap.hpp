#pragma once
// A binary min-heap of small integer handles whose keys can change in place.
// The scheduler keeps eligible tenants and live leases in these, so that picking the next
// tenant and finding the next lease to expire cost O(log n) instead of a scan.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace comfyq::detail {

/// `Less(a, b)` must be a strict total order over the handles currently in the heap;
/// `update(h)` must be called whenever the key of `h` changes.
template <class Less>
class indexed_heap {
 public:
  using handle = std::uint32_t;

  explicit indexed_heap(Less less = Less{}) : less_(std::move(less)) {}

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  bool contains(handle h) const noexcept { return h < position_.size() && position_[h] != absent; }
  handle top() const noexcept { return heap_.front(); }
  /// The handles in heap order (not sorted); for scans that must look at every member.
  const std::vector<handle>& members() const noexcept { return heap_; }

  void push(handle h) {
    if (h >= position_.size()) position_.resize(h + 1, absent);
    position_[h] = heap_.size();
    heap_.push_back(h);
    sift_up(heap_.size() - 1);
  }

  void erase(handle h) {
    std::size_t at = position_[h];
    position_[h] = absent;
    handle last = heap_.back();
    heap_.pop_back();
    if (at == heap_.size()) return;
    heap_[at] = last;
    position_[last] = at;
    restore(at);
  }

  void update(handle h) { restore(position_[h]); }

  /// Inserts, updates or removes `h` so that it is in the heap exactly when `member` is true.
  void set(handle h, bool member) {
    if (member) {
      contains(h) ? update(h) : push(h);
    } else if (contains(h)) {
      erase(h);
    }
  }

  void clear() {
    for (handle h : heap_) position_[h] = absent;
    heap_.clear();
  }

  Less& order() noexcept { return less_; }

 private:
  static constexpr std::size_t absent = static_cast<std::size_t>(-1);

  void restore(std::size_t at) {
    if (at > 0 && less_(heap_[at], heap_[(at - 1) / 2])) {
      sift_up(at);
    } else {
      sift_down(at);
    }
  }

  void sift_up(std::size_t at) {
    handle moving = heap_[at];
    while (at > 0) {
      std::size_t parent = (at - 1) / 2;
      if (!less_(moving, heap_[parent])) break;
      place(at, heap_[parent]);
      at = parent;
    }
    place(at, moving);
  }

  void sift_down(std::size_t at) {
    handle moving = heap_[at];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && less_(heap_[child + 1], heap_[child])) ++child;
      if (!less_(heap_[child], moving)) break;
      place(at, heap_[child]);
      at = child;
    }
    place(at, moving);
  }

  void place(std::size_t at, handle h) {
    heap_[at] = h;
    position_[h] = at;
  }

  Less less_;
  std::vector<handle> heap_;
  std::vector<std::size_t> position_;
};

}  // namespace comfyq::detail
