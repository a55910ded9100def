#pragma once
// The simulator's measurements of fairness: GPU service per tenant over time (running jobs
// counted pro rata), backlog periods, the largest lag behind fair share, Jain's index and
// nearest-rank percentiles. Times are integer milliseconds; definitions in docs/simulator.md.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace comfyq::sim::detail {

/// S_j(t): GPU milliseconds tenant j received up to t, counting running jobs pro rata.
class service_ledger {
 public:
  explicit service_ledger(std::size_t tenants) : done_(tenants, 0), running_(tenants, 0), started_sum_(tenants, 0) {}

  std::size_t size() const noexcept { return done_.size(); }

  void start(std::size_t tenant, std::int64_t at) {
    ++running_[tenant];
    started_sum_[tenant] += at;
  }

  /// A run that began at `started` ends at `at` (finished or interrupted: the GPU was busy either way).
  void stop(std::size_t tenant, std::int64_t started, std::int64_t at) {
    --running_[tenant];
    started_sum_[tenant] -= started;
    done_[tenant] += at - started;
  }

  std::int64_t service(std::size_t tenant, std::int64_t at) const {
    return done_[tenant] + running_[tenant] * at - started_sum_[tenant];
  }

 private:
  std::vector<std::int64_t> done_;
  std::vector<std::int64_t> running_;
  std::vector<std::int64_t> started_sum_;
};

/// Backlog periods of the tenants that compete for fair share, and the largest lag behind it.
///
/// A tenant is backlogged while it has a job queued or running; a_i is when its current
/// backlog period began. At time t, B(i) is every tenant backlogged continuously since a_i or
/// earlier (i included), s_j = S_j(t) - S_j(a_i), fair_i = sum(s_j, j in B(i)) * w_i / sum(w_j,
/// j in B(i)) and lag_i(t) = fair_i - s_i. Call observe() at the start and at the end of every
/// instant at which something happens: lag is linear between them, so that finds its maximum.
class lag_tracker {
 public:
  struct peak {
    double lag_ms = 0.0;
    std::size_t tenant = 0;
    std::int64_t at = 0;
  };

  /// `weights[i]` of tenant i; tenants are numbered 0..weights.size()-1 in the ledger too.
  explicit lag_tracker(std::vector<double> weights)
      : weights_(std::move(weights)), periods_(weights_.size()) {}

  bool backlogged(std::size_t tenant) const { return periods_[tenant].backlogged; }
  std::int64_t backlogged_since(std::size_t tenant) const { return periods_[tenant].since; }

  /// Brings the periods up to date at the end of an instant: `outstanding[i]` is how many jobs
  /// tenant i has queued or running now. A tenant that went idle and came back within the same
  /// instant keeps its period.
  void settle(std::int64_t at, const std::vector<std::uint32_t>& outstanding, const service_ledger& ledger) {
    for (std::size_t i = 0; i < periods_.size(); ++i) {
      if (periods_[i].backlogged && outstanding[i] == 0) end_period(i);
    }
    std::size_t first_new = order_.size();
    for (std::size_t i = 0; i < periods_.size(); ++i) {
      if (!periods_[i].backlogged && outstanding[i] > 0) begin_period(i, at, ledger);
    }
    // Periods that begin at the same instant count each other: a_j <= a_i both ways.
    for (std::size_t k = first_new; k < order_.size(); ++k) {
      period& p = periods_[order_[k]];
      p.snapshot_sum = 0;
      for (std::uint32_t j : order_) p.snapshot_sum += p.snapshot[j];
    }
  }

  /// Updates the peak with lag_i(at) for every backlogged tenant.
  void observe(std::int64_t at, const service_ledger& ledger) {
    std::size_t group_end = 0;
    std::int64_t service_sum = 0;
    double weight_sum = 0.0;
    for (std::size_t k = 0; k < order_.size(); ++k) {
      // B(i) is the prefix of order_ up to the last tenant whose period began with i's.
      if (k == group_end) {
        while (group_end < order_.size() && periods_[order_[group_end]].since == periods_[order_[k]].since) {
          service_sum += ledger.service(order_[group_end], at);
          weight_sum += weights_[order_[group_end]];
          ++group_end;
        }
      }
      std::uint32_t i = order_[k];
      const period& p = periods_[i];
      double received_by_b = static_cast<double>(service_sum - p.snapshot_sum);
      double fair = received_by_b * weights_[i] / weight_sum;
      double lag = fair - static_cast<double>(ledger.service(i, at) - p.snapshot[i]);
      if (lag > peak_.lag_ms) peak_ = peak{lag, i, at};
    }
  }

  const peak& largest() const noexcept { return peak_; }

 private:
  struct period {
    bool backlogged = false;
    std::int64_t since = 0;
    std::vector<std::int64_t> snapshot{};  ///< S_j(a_i) for every tenant j
    std::int64_t snapshot_sum = 0;         ///< sum of snapshot[j] over j in B(i)
  };

  void begin_period(std::size_t i, std::int64_t at, const service_ledger& ledger) {
    period& p = periods_[i];
    p.backlogged = true;
    p.since = at;
    p.snapshot.resize(periods_.size());
    for (std::size_t j = 0; j < periods_.size(); ++j) p.snapshot[j] = ledger.service(j, at);
    order_.push_back(static_cast<std::uint32_t>(i));
  }

  // Tenant j leaves B(i) of every tenant i whose period began at or after j's.
  void end_period(std::size_t j) {
    period& gone = periods_[j];
    for (std::uint32_t i : order_) {
      if (i != j && periods_[i].since >= gone.since) periods_[i].snapshot_sum -= periods_[i].snapshot[j];
    }
    order_.erase(std::find(order_.begin(), order_.end(), static_cast<std::uint32_t>(j)));
    gone.backlogged = false;
  }

  std::vector<double> weights_;
  std::vector<period> periods_;
  std::vector<std::uint32_t> order_;  ///< backlogged tenants by the start of their period
  peak peak_{};
};

/// Jain's fairness index (sum x)^2 / (n * sum x^2): 1 when all are equal, 1/n when one gets
/// everything. Empty when there is nothing to compare; 1 when everyone received nothing.
inline std::optional<double> jain_index(const std::vector<double>& x) {
  if (x.empty()) return std::nullopt;
  double sum = 0.0, squares = 0.0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  if (squares == 0.0) return 1.0;
  return sum * sum / (static_cast<double>(x.size()) * squares);
}

/// Nearest-rank percentile (p in (0, 1]) of `sorted` (ascending, not empty): the smallest value
/// with at least p of the values at or below it.
inline std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace comfyq::sim::detail
