#pragma once
// Id -> slot number for the scheduler's jobs, in one flat array instead of std::unordered_map's
// node per key: with 100,000 jobs queued the node map's allocations and scattered nodes were
// the largest cost of a job's lifecycle. Each entry is {32 bits of the id's hash, slot}; the id
// itself lives in the caller's slot and is compared only when the stored hash matches.
// Linear probing, at most a quarter full, in Robin Hood order (the entries of a run stay in the
// order of their homes): a lookup stops where its id would have been, and erase moves back
// only the entries that sit past their home, leaving no tombstones.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/util/string_map.hpp"

namespace comfyq::detail {

/// `KeyOf(slot)` returns the id stored in that slot as a std::string_view.
template <class KeyOf>
class flat_id_index {
 public:
  static constexpr std::uint32_t npos = 0xffffffffu;

  explicit flat_id_index(KeyOf key_of) : key_of_(std::move(key_of)), entries_(16) {}

  std::size_t size() const noexcept { return size_; }

  /// The slot of `id`, or npos.
  std::uint32_t find(std::string_view id) const { return find(id, hash_of(id)); }

  bool contains(std::string_view id) const { return find(id) != npos; }

  /// Adds `id`, stored in `slot`, unless it is present; returns whether it was added.
  bool insert(std::string_view id, std::uint32_t slot) {
    std::uint32_t hash = hash_of(id);
    if (find(id, hash) != npos) return false;
    if (4 * (size_ + 1) > entries_.size()) grow();
    place(entry{hash, slot});
    ++size_;
    return true;
  }

  /// Removes `id`, which must be present in `slot`.
  void erase(std::string_view id, std::uint32_t slot) {
    std::size_t hole = home(hash_of(id));
    while (entries_[hole].slot != slot) hole = next(hole);
    for (std::size_t i = next(hole); entries_[i].slot != npos && home(entries_[i].hash) != i; i = next(i)) {
      entries_[hole] = entries_[i];
      hole = i;
    }
    entries_[hole] = entry{};
    --size_;
  }

 private:
  struct entry {
    std::uint32_t hash = 0;
    std::uint32_t slot = npos;
  };

  // Ids that differ only in their last digit (j120 ... j129, as generated) get neighbouring
  // homes: jobs submitted together, and mostly leased, completed and forgotten together, then
  // share cache lines. The low 4 bits keep that digit (+1); the others, which pick the start
  // of the neighbourhood, hash the rest of the id.
  static std::uint32_t hash_of(std::string_view id) {
    char last = id.empty() ? '\0' : id.back();
    bool digit = last >= '0' && last <= '9';
    auto rest = static_cast<std::uint32_t>(util::string_hash::hash64(digit ? id.substr(0, id.size() - 1) : id) >> 32);
    return (rest & ~std::uint32_t{15}) | (digit ? static_cast<std::uint32_t>(last - '0' + 1) : 0);
  }
  std::size_t mask() const noexcept { return entries_.size() - 1; }
  std::size_t home(std::uint32_t hash) const noexcept {
    return (((std::size_t{hash >> 4} * entries_.size()) >> 28) + (hash & 15)) & mask();
  }
  std::size_t next(std::size_t i) const noexcept { return (i + 1) & mask(); }
  std::size_t distance(std::size_t from, std::size_t to) const noexcept { return (to - from) & mask(); }

  std::uint32_t find(std::string_view id, std::uint32_t hash) const {
    for (std::size_t i = home(hash), probed = 0;; i = next(i), ++probed) {
      const entry& e = entries_[i];
      if (e.slot == npos || distance(home(e.hash), i) < probed) return npos;
      if (e.hash == hash && key_of_(e.slot) == id) return e.slot;
    }
  }

  // An entry that has come further from its home than the one in its way takes that place,
  // and the displaced one moves on.
  void place(entry e) {
    for (std::size_t i = home(e.hash), travelled = 0;; i = next(i), ++travelled) {
      entry& here = entries_[i];
      if (here.slot == npos) {
        here = e;
        return;
      }
      if (std::size_t theirs = distance(home(here.hash), i); theirs < travelled) {
        std::swap(here, e);
        travelled = theirs;
      }
    }
  }

  // Doubles the table; stored hashes make this a pass over the entries without reading a key.
  void grow() {
    std::vector<entry> old(2 * entries_.size());
    old.swap(entries_);
    for (const entry& e : old) {
      if (e.slot != npos) place(e);
    }
  }

  KeyOf key_of_;
  std::vector<entry> entries_;  // a power of two long
  std::size_t size_ = 0;
};

}  // namespace comfyq::detail
