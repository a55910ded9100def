#pragma once
// The scheduling state that decides which queued job starts next: per-tenant queues,
// the priority lane, virtual clocks and round-robin turns. It holds no job data beyond
// handles and sequence numbers, so a queue-position forecast can copy it cheaply and run
// exactly the same picks forward.
//
// Order rules (docs/policies.md):
//   priority lane first, in submission order, skipping tenants that are paused or at max_running;
//   then among tenants that are not paused, have queued normal work and run < max_running:
//     fifo         smallest head sequence number
//     round_robin  least recently served, then smallest head sequence number
//     fair_share   smallest virtual clock, then "nothing running" first, then least recently
//                  served, then smallest head sequence number. The recency tie-break is what lets a
//                  newcomer that entered level with a hog go before the hog's next job even when the
//                  hog's running job has just completed (both have nothing running at that instant).
// A tenant's virtual clock is its settled clock (measured cost of finished runs) plus the
// estimates charged for its runs in progress. A tenant that starts competing again (idle, or
// resumed) re-enters at the smallest settled clock of the tenants still competing: idleness
// banks no credit, and a newcomer gets the start tag of the work in service (start-time fair
// queuing), so a job that ends sooner than estimated cannot drop its tenant below the newcomer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "comfyq/detail/indexed_heap.hpp"
#include "comfyq/model.hpp"

namespace comfyq::detail {

inline constexpr std::uint32_t no_handle = 0xffffffffu;

/// Per-tenant scheduling state.
struct tenant_account {
  double weight = 1.0;
  std::uint32_t max_running = unlimited;
  bool paused = false;
  double settled_clock = 0.0;  ///< GPU milliseconds of finished runs per unit of weight
  double in_flight = 0.0;      ///< estimates charged for runs in progress, per unit of weight
  double virtual_clock() const noexcept { return settled_clock + in_flight; }
  std::uint64_t turn = 0;      ///< when the tenant last started normal work; 0 = never
  std::uint32_t running = 0;
  std::uint32_t queued = 0;    ///< both lanes
  std::uint32_t head = no_handle;  ///< oldest queued normal job
  std::uint32_t tail = no_handle;
};

/// Per-job scheduling state, indexed by the job's handle.
struct queue_entry {
  std::uint64_t seq = 0;
  std::uint32_t tenant = 0;
  std::uint32_t prev = no_handle;
  std::uint32_t next = no_handle;
  bool priority = false;
  bool queued = false;
};

class dispatcher {
 public:
  explicit dispatcher(policy p = policy::fair_share) : policy_(p) {}

  // The heaps' orders point back at their owner, so a copy must re-point them.
  dispatcher(const dispatcher& other)
      : policy_(other.policy_),
        paused_(other.paused_),
        turns_(other.turns_),
        tenants_(other.tenants_),
        entries_(other.entries_),
        priority_head_(other.priority_head_),
        priority_tail_(other.priority_tail_),
        eligible_(other.eligible_),
        competing_(other.competing_) {
    eligible_.order().owner = this;
    competing_.order().owner = this;
  }
  dispatcher& operator=(const dispatcher&) = delete;

  policy current_policy() const noexcept { return policy_; }
  bool paused() const noexcept { return paused_; }
  const tenant_account& tenant(std::uint32_t t) const { return tenants_[t]; }
  const queue_entry& entry(std::uint32_t h) const { return entries_[h]; }
  std::uint32_t tenant_count() const noexcept { return static_cast<std::uint32_t>(tenants_.size()); }

  std::uint32_t add_tenant(double weight, std::uint32_t max_running) {
    tenants_.push_back(tenant_account{.weight = weight, .max_running = max_running});
    return static_cast<std::uint32_t>(tenants_.size() - 1);
  }

  // Rebuilding the state of a queue kept elsewhere (the Redis store forecasts with it): the
  // tenants' accounts as saved, then their queued jobs, which do not re-enter anyone.
  std::uint32_t restore_tenant(tenant_account saved) {
    saved.queued = 0;
    saved.head = saved.tail = no_handle;
    tenants_.push_back(saved);
    auto t = static_cast<std::uint32_t>(tenants_.size() - 1);
    refresh(t);
    return t;
  }
  void restore_job(std::uint32_t h, std::uint32_t t, std::uint64_t seq, bool priority) {
    if (h >= entries_.size()) entries_.resize(h + 1);
    entries_[h] = queue_entry{.seq = seq, .tenant = t, .priority = priority, .queued = true};
    link(h, priority ? priority_head_ : tenants_[t].head, priority ? priority_tail_ : tenants_[t].tail);
    ++tenants_[t].queued;
    refresh(t);
  }
  void restore_turns(std::uint64_t turns) noexcept { turns_ = turns; }

  void configure_tenant(std::uint32_t t, double weight, std::uint32_t max_running) {
    tenants_[t].weight = weight;
    tenants_[t].max_running = max_running;
    refresh(t);
  }

  void set_tenant_paused(std::uint32_t t, bool paused) {
    tenant_account& a = tenants_[t];
    if (a.paused == paused) return;
    bool was_competing = competing(t);
    a.paused = paused;
    if (!was_competing && competing(t)) reenter(t);
    refresh(t);
  }

  void set_paused(bool paused) noexcept { paused_ = paused; }

  void set_policy(policy p) {
    policy_ = p;
    eligible_.clear();
    for (std::uint32_t t = 0; t < tenants_.size(); ++t) refresh(t);
  }

  /// A job joins its tenant's queue (or the priority lane) in sequence order.
  void enqueue(std::uint32_t h, std::uint32_t t, std::uint64_t seq, bool priority) {
    if (h >= entries_.size()) entries_.resize(h + 1);
    bool was_competing = competing(t);
    entries_[h] = queue_entry{.seq = seq, .tenant = t, .priority = priority, .queued = true};
    if (priority) {
      link(h, priority_head_, priority_tail_);
    } else {
      link(h, tenants_[t].head, tenants_[t].tail);
    }
    ++tenants_[t].queued;
    if (!was_competing) reenter(t);
    refresh(t);
  }

  /// A queued job leaves without running (cancelled).
  void remove(std::uint32_t h) {
    std::uint32_t t = entries_[h].tenant;
    unlink(h);
    --tenants_[t].queued;
    refresh(t);
  }

  /// The job that would start next, or no_handle.
  std::uint32_t pick() const {
    if (paused_) return no_handle;
    for (std::uint32_t h = priority_head_; h != no_handle; h = entries_[h].next) {
      if (can_run(entries_[h].tenant)) return h;
    }
    return eligible_.empty() ? no_handle : tenants_[eligible_.top()].head;
  }

  /// Queued priority jobs whose tenant may start one now.
  std::size_t priority_waiting() const {
    std::size_t waiting = 0;
    for (std::uint32_t h = priority_head_; h != no_handle; h = entries_[h].next) waiting += can_run(entries_[h].tenant);
    return waiting;
  }

  /// A queued job starts; its tenant is charged `charge` of GPU time now.
  void start(std::uint32_t h, duration charge) {
    std::uint32_t t = entries_[h].tenant;
    bool priority = entries_[h].priority;
    unlink(h);
    tenant_account& a = tenants_[t];
    --a.queued;
    ++a.running;
    a.in_flight += static_cast<double>(charge.count()) / a.weight;
    if (!priority) a.turn = ++turns_;
    refresh(t);
  }

  /// A run ended; its charge is replaced by what it really cost (0 refunds it entirely).
  void finish(std::uint32_t t, duration charged, duration cost) {
    tenant_account& a = tenants_[t];
    --a.running;
    // With nothing left in progress the estimates are gone exactly, whatever rounding or
    // weight changes happened in between.
    a.in_flight = a.running == 0 ? 0.0 : a.in_flight - static_cast<double>(charged.count()) / a.weight;
    a.settled_clock += static_cast<double>(cost.count()) / a.weight;
    refresh(t);
  }

  /// A run ended without a result and its job goes back to the queue, keeping its place.
  void restart(std::uint32_t h, duration charged, duration cost) {
    const queue_entry& e = entries_[h];
    std::uint32_t t = e.tenant;
    enqueue(h, t, e.seq, e.priority);  // still running, so no re-entry: its clock is kept
    finish(t, charged, cost);
  }

 private:
  struct eligible_order {
    const dispatcher* owner;
    bool operator()(std::uint32_t a, std::uint32_t b) const { return owner->serves_before(a, b); }
  };
  struct settled_order {
    const dispatcher* owner;
    bool operator()(std::uint32_t a, std::uint32_t b) const {
      double ca = owner->tenants_[a].settled_clock, cb = owner->tenants_[b].settled_clock;
      return ca < cb || (ca == cb && a < b);
    }
  };

  bool serves_before(std::uint32_t a, std::uint32_t b) const {
    const tenant_account& x = tenants_[a];
    const tenant_account& y = tenants_[b];
    std::uint64_t sx = entries_[x.head].seq, sy = entries_[y.head].seq;
    switch (policy_) {
      case policy::fifo:
        return sx < sy;
      case policy::round_robin:
        return x.turn != y.turn ? x.turn < y.turn : sx < sy;
      case policy::fair_share:
        if (x.virtual_clock() != y.virtual_clock()) return x.virtual_clock() < y.virtual_clock();
        if ((x.running > 0) != (y.running > 0)) return x.running == 0;
        return x.turn != y.turn ? x.turn < y.turn : sx < sy;
    }
    return sx < sy;
  }

  bool can_run(std::uint32_t t) const {
    const tenant_account& a = tenants_[t];
    return !a.paused && a.running < a.max_running;
  }
  bool eligible(std::uint32_t t) const { return can_run(t) && tenants_[t].head != no_handle; }
  bool competing(std::uint32_t t) const {
    const tenant_account& a = tenants_[t];
    return a.running > 0 || (a.queued > 0 && !a.paused);
  }

  // Only called for a tenant with nothing running, so its clock is all settled.
  void reenter(std::uint32_t t) {
    if (competing_.empty()) return;
    double floor = tenants_[competing_.top()].settled_clock;
    tenants_[t].settled_clock = std::max(tenants_[t].settled_clock, floor);
  }

  void refresh(std::uint32_t t) {
    eligible_.set(t, eligible(t));
    competing_.set(t, competing(t));
  }

  // Lists are kept in sequence order. New jobs go to the back and a requeued job usually
  // to the front, so both ends are checked before walking.
  void link(std::uint32_t h, std::uint32_t& head, std::uint32_t& tail) {
    std::uint64_t seq = entries_[h].seq;
    std::uint32_t after = tail;
    if (head != no_handle && seq < entries_[head].seq) {
      after = no_handle;
    } else {
      while (after != no_handle && entries_[after].seq > seq) after = entries_[after].prev;
    }
    std::uint32_t before = after == no_handle ? head : entries_[after].next;
    entries_[h].prev = after;
    entries_[h].next = before;
    (after == no_handle ? head : entries_[after].next) = h;
    (before == no_handle ? tail : entries_[before].prev) = h;
  }

  void unlink(std::uint32_t h) {
    queue_entry& e = entries_[h];
    std::uint32_t& head = e.priority ? priority_head_ : tenants_[e.tenant].head;
    std::uint32_t& tail = e.priority ? priority_tail_ : tenants_[e.tenant].tail;
    (e.prev == no_handle ? head : entries_[e.prev].next) = e.next;
    (e.next == no_handle ? tail : entries_[e.next].prev) = e.prev;
    e.prev = e.next = no_handle;
    e.queued = false;
  }

  policy policy_;
  bool paused_ = false;
  std::uint64_t turns_ = 0;
  std::vector<tenant_account> tenants_;
  std::vector<queue_entry> entries_;
  std::uint32_t priority_head_ = no_handle;
  std::uint32_t priority_tail_ = no_handle;
  indexed_heap<eligible_order> eligible_{eligible_order{this}};
  indexed_heap<settled_order> competing_{settled_order{this}};
};

}  // namespace comfyq::detail
