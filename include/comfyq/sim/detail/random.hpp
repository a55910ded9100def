#pragma once
// Random numbers for the simulator that are the same on every platform and standard library:
// xoshiro256** (Blackman & Vigna) seeded through splitmix64, and an unbiased integer range.
// std::*_distribution would not do: their algorithms are implementation-defined.

#include <cstdint>

namespace comfyq::sim::detail {

/// One step of splitmix64: advances `state` and returns the next output.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// xoshiro256**: small, fast, and good enough for simulation (not for secrets).
class xoshiro256ss {
 public:
  /// The state is four splitmix64 outputs from `seed`, as the authors recommend.
  explicit constexpr xoshiro256ss(std::uint64_t seed) noexcept {
    for (std::uint64_t& word : s_) word = splitmix64(seed);
  }

  /// An independent stream per (seed, stream): each simulated person draws from its own, so
  /// one person's job lengths do not depend on what the others did.
  static constexpr xoshiro256ss stream(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t mixed = seed;
    return xoshiro256ss(splitmix64(mixed) ^ (stream * 0xd1b54a32d192ed03ULL));
  }

  constexpr std::uint64_t operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [lo, hi], both included (lo <= hi). Rejects the few raw values that would
  /// make some results likelier than others.
  constexpr std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
    const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    if (range == 0) return static_cast<std::int64_t>((*this)());  // the whole 64-bit range
    const std::uint64_t reject_below = (0 - range) % range;      // 2^64 mod range
    std::uint64_t r = (*this)();
    while (r < reject_below) r = (*this)();
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + r % range);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4]{};
};

}  // namespace comfyq::sim::detail
