#pragma once
// A binary min-heap of small integer handles whose keys can change in place.
// The scheduler keeps eligible tenants and live leases in these, so that picking the next
// tenant and finding the next lease to expire cost O(log n) instead of a scan. Each key is
// stored next to its handle: sifting compares neighbouring entries instead of following every
// handle to the state it was computed from.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace comfyq::detail {

/// `Key` is ordered by `<=>`, which must be a total order over the keys in the heap.
template <class Key>
class indexed_heap {
 public:
  using handle = std::uint32_t;

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  bool contains(handle h) const noexcept { return h < position_.size() && position_[h] != absent; }
  handle top() const noexcept { return heap_.front().h; }
  const Key& top_key() const noexcept { return heap_.front().key; }
  /// Calls `visit(handle)` for every member, in heap order (not sorted); for scans that must
  /// look at every member.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const node& n : heap_) visit(n.h);
  }

  void push(handle h, Key key) {
    if (h >= position_.size()) position_.resize(h + 1, absent);
    heap_.push_back({std::move(key), h});
    sift_up(heap_.size() - 1);
  }

  void erase(handle h) {
    std::size_t at = position_[h];
    position_[h] = absent;
    node last = std::move(heap_.back());
    heap_.pop_back();
    if (at == heap_.size()) return;
    heap_[at] = std::move(last);
    restore(at);
  }

  void update(handle h, Key key) {
    std::size_t at = position_[h];
    auto order = key <=> heap_[at].key;
    heap_[at].key = std::move(key);
    if (order < 0) sift_up(at);
    if (order > 0) sift_down(at);
  }

  /// Inserts, updates or removes `h` so that it is in the heap, with `key`, exactly when
  /// `member` is true.
  void set(handle h, bool member, Key key) {
    if (member) {
      contains(h) ? update(h, std::move(key)) : push(h, std::move(key));
    } else if (contains(h)) {
      erase(h);
    }
  }

  void clear() {
    for (const node& n : heap_) position_[n.h] = absent;
    heap_.clear();
  }

 private:
  struct node {
    Key key;
    handle h;
  };

  static constexpr std::size_t absent = static_cast<std::size_t>(-1);

  void restore(std::size_t at) {
    if (at > 0 && heap_[at].key < heap_[(at - 1) / 2].key) {
      sift_up(at);
    } else {
      sift_down(at);
    }
  }

  void sift_up(std::size_t at) {
    node moving = std::move(heap_[at]);
    while (at > 0) {
      std::size_t parent = (at - 1) / 2;
      if (!(moving.key < heap_[parent].key)) break;
      place(at, std::move(heap_[parent]));
      at = parent;
    }
    place(at, std::move(moving));
  }

  // The hole goes down the path of smaller children to the bottom, then the entry rises back
  // to its place from there: an entry that moves down mostly goes near the bottom (a tenant
  // just served goes behind the others), so this takes about half the comparisons of checking
  // at every level whether it is there yet.
  void sift_down(std::size_t at) {
    node moving = std::move(heap_[at]);
    const std::size_t top = at, n = heap_.size();
    for (std::size_t child = 2 * at + 1; child < n; at = child, child = 2 * at + 1) {
      if (child + 1 < n && heap_[child + 1].key < heap_[child].key) ++child;
      place(at, std::move(heap_[child]));
    }
    while (at > top && moving.key < heap_[(at - 1) / 2].key) {
      place(at, std::move(heap_[(at - 1) / 2]));
      at = (at - 1) / 2;
    }
    place(at, std::move(moving));
  }

  void place(std::size_t at, node n) {
    position_[n.h] = at;
    heap_[at] = std::move(n);
  }

  std::vector<node> heap_;
  std::vector<std::size_t> position_;
};

}  // namespace comfyq::detail
