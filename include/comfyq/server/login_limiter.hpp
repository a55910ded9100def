#pragma once
// Failed password attempts per client, so that nobody can guess passwords at the speed of the
// network: after max_failures failures within `window`, a client is refused for `lockout`.
// Pure logic: time is a parameter. Not thread-safe; the authenticator guards it.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/detail/ip_address.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

/// How many failed logins a client may make, and for how long it is refused after that. The
/// defaults forgive a class typing passwords behind one shared address (a school's NAT).
struct login_limits {
  std::size_t max_failures = 10;
  duration window = std::chrono::minutes(1);
  duration lockout = std::chrono::minutes(1);

  /// Throws invalid_input naming the field unless max_failures, window and lockout are positive.
  void validate() const {
    if (max_failures == 0) throw invalid_input("max_failures", "must be at least 1");
    if (window <= duration::zero()) throw invalid_input("window", "must be longer than 0 ms");
    if (lockout <= duration::zero()) throw invalid_input("lockout", "must be longer than 0 ms");
  }
};

/// The key a peer's failures count under: an IPv4 address itself, an IPv6 address its /64
/// network (one host is usually given a whole /64, so its addresses are one client); text that
/// is no IP address, as it is.
inline std::string client_key(std::string_view peer) {
  const auto address = detail::parse_ip_address(peer);
  if (!address) return std::string(peer);
  if (detail::is_ipv4(*address)) {
    return std::to_string((*address)[12]) + "." + std::to_string((*address)[13]) + "." +
           std::to_string((*address)[14]) + "." + std::to_string((*address)[15]);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string key;
  for (int i = 0; i < 8; ++i) {
    if (i > 0 && i % 2 == 0) key += ':';
    key += hex[(*address)[i] >> 4];
    key += hex[(*address)[i] & 0xf];
  }
  return key + "::/64";
}

/// Counts failures per client (see client_key) in a sliding window.
/// Clients whose failures have expired are forgotten, so its memory stays bounded by the
/// clients that failed recently.
class login_limiter {
 public:
  explicit login_limiter(login_limits limits = {}) : limits_(limits) { limits_.validate(); }

  /// How long `client` must wait before it may try again; zero if it may try now.
  duration refused_for(std::string_view client, time_point now) const {
    const auto found = clients_.find(client);
    if (found == clients_.end() || found->second.refused_until <= now) return duration::zero();
    return found->second.refused_until - now;
  }

  /// Counts one failed attempt of `client` at `now`; the max_failures-th within the window
  /// refuses the client until now + lockout.
  void record_failure(std::string_view client, time_point now) {
    if (clients_.size() >= sweep_at_size_) forget_expired(now);
    auto found = clients_.find(client);
    if (found == clients_.end()) found = clients_.emplace(std::string(client), record{}).first;
    record& r = found->second;
    if (r.refused_until > now) return;
    std::erase_if(r.failures, [&](time_point failed) { return failed <= now - limits_.window; });
    r.failures.push_back(now);
    if (r.failures.size() >= limits_.max_failures) {
      r.refused_until = now + limits_.lockout;
      r.failures.clear();
    }
  }

  /// How many clients it remembers.
  std::size_t clients_remembered() const { return clients_.size(); }

 private:
  struct record {
    std::vector<time_point> failures;  // within the window, oldest first
    time_point refused_until{};
  };

  // Sweeping when the table has doubled since the last sweep keeps the cost per failure constant.
  void forget_expired(time_point now) {
    std::erase_if(clients_, [&](const auto& entry) {
      const record& r = entry.second;
      return r.refused_until <= now && (r.failures.empty() || r.failures.back() <= now - limits_.window);
    });
    sweep_at_size_ = std::max<std::size_t>(min_sweep_size, 2 * clients_.size());
  }

  static constexpr std::size_t min_sweep_size = 64;

  login_limits limits_;
  util::string_map<record> clients_;
  std::size_t sweep_at_size_ = min_sweep_size;
};

}  // namespace comfyq::server
