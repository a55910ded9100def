#pragma once
// The scheduling state that decides which queued job starts next: per-tenant queues,
// the priority lane, virtual clocks and round-robin turns. It holds no job data beyond
// handles and sequence numbers. A queue-position forecast runs exactly the same picks forward
// on a lookahead (basic_dispatcher<lookahead_lanes>): a copy of the per-tenant state, O(tenants),
// that reads the live job lists instead of copying them, since jobs only leave them there.
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
// estimates charged for its runs in progress; a run's start tag is its tenant's virtual clock
// when it started. A tenant that starts competing again (idle, or resumed) re-enters at the
// virtual time of start-time fair queuing: the smallest start tag of the work in service and
// of the work waiting (a waiting tenant with nothing running starts its next job at its settled
// clock). Idleness banks no credit, and with several workers a newcomer cannot start below the
// tags of work already started, whatever the runs that ended since cost.

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <utility>
#include <vector>

#include "comfyq/detail/indexed_heap.hpp"
#include "comfyq/model.hpp"

namespace comfyq::engine {

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

/// What a dispatcher orders eligible tenants by, compared member by member; a policy leaves
/// the members it does not use at zero.
struct serve_key {
  double clock = 0.0;      ///< fair_share: the virtual clock
  bool busy = false;       ///< fair_share: something running (so a tenant with nothing running goes first)
  std::uint64_t turn = 0;  ///< round_robin, fair_share: when last served
  std::uint64_t seq = 0;   ///< the head's sequence number
  friend auto operator<=>(const serve_key&, const serve_key&) = default;
};

/// The live queue's lanes: each tenant's normal jobs (from tenant_account::head) and the
/// priority lane, as lists linked through the entries, in sequence order.
class linked_lanes {
 public:
  static constexpr bool accepts_jobs = true;

  const queue_entry& operator[](std::uint32_t h) const { return entries_[h]; }
  std::uint32_t priority_head() const noexcept { return priority_head_; }
  std::uint32_t next_priority(std::uint32_t h) const { return entries_[h].next; }

  void place(std::uint32_t h, const queue_entry& entry) {
    if (h >= entries_.size()) entries_.resize(h + 1);
    entries_[h] = entry;
  }

  // Lists are kept in sequence order. New jobs go to the back and a requeued job usually
  // to the front, so both ends are checked before walking.
  void link(std::uint32_t h, tenant_account& a) {
    std::uint32_t& head = entries_[h].priority ? priority_head_ : a.head;
    std::uint32_t& tail = entries_[h].priority ? priority_tail_ : a.tail;
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

  void unlink(std::uint32_t h, tenant_account& a) {
    queue_entry& e = entries_[h];
    std::uint32_t& head = e.priority ? priority_head_ : a.head;
    std::uint32_t& tail = e.priority ? priority_tail_ : a.tail;
    (e.prev == no_handle ? head : entries_[e.prev].next) = e.next;
    (e.next == no_handle ? tail : entries_[e.next].prev) = e.prev;
    e.prev = e.next = no_handle;
    e.queued = false;
  }

 private:
  std::vector<queue_entry> entries_;
  std::uint32_t priority_head_ = no_handle;
  std::uint32_t priority_tail_ = no_handle;
};

/// A lookahead's lanes: the live lists, read and never written. Jobs only leave them (start),
/// none joins, so a tenant's next job is the one after its head in the live list, and the
/// priority lane skips the priority jobs started out of order (a tenant ahead was at its cap).
/// Valid while the live lanes do not change.
class lookahead_lanes {
 public:
  static constexpr bool accepts_jobs = false;

  explicit lookahead_lanes(const linked_lanes& live) : live_(&live), priority_head_(live.priority_head()) {}

  const queue_entry& operator[](std::uint32_t h) const { return (*live_)[h]; }
  std::uint32_t priority_head() const noexcept { return priority_head_; }
  std::uint32_t next_priority(std::uint32_t h) const {
    for (h = (*live_)[h].next; h != no_handle && started_.contains(h);) h = (*live_)[h].next;
    return h;
  }

  void unlink(std::uint32_t h, tenant_account& a) {
    if (!(*live_)[h].priority) {
      a.head = (*live_)[h].next;  // normal work starts from its tenant's head
      return;
    }
    if (h != priority_head_) {
      started_.insert(h);
      return;
    }
    priority_head_ = next_priority(h);
    // What the head passed over no longer needs remembering.
    for (std::uint32_t passed = (*live_)[h].next; passed != priority_head_; passed = (*live_)[passed].next) {
      started_.erase(passed);
    }
  }

 private:
  const linked_lanes* live_;
  std::uint32_t priority_head_;
  std::unordered_set<std::uint32_t> started_;  ///< priority jobs started behind the head
};

template <class Lanes>
class basic_dispatcher {
 public:
  explicit basic_dispatcher(policy p = policy::fair_share) : policy_(p) {}

  /// A lookahead of `live`: its per-tenant state copied, its lanes read in place. Only picks,
  /// starts and finishes happen in it (nothing joins a lane); valid while `live` does not change.
  template <class Live>
  explicit basic_dispatcher(const basic_dispatcher<Live>& live)
      : policy_(live.policy_),
        paused_(live.paused_),
        turns_(live.turns_),
        tenants_(live.tenants_),
        lanes_(live.lanes_),
        eligible_(live.eligible_) {}

  policy current_policy() const noexcept { return policy_; }
  bool paused() const noexcept { return paused_; }
  const tenant_account& tenant(std::uint32_t t) const { return tenants_[t]; }
  const queue_entry& entry(std::uint32_t h) const { return lanes_[h]; }
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
    lanes_.place(h, queue_entry{.seq = seq, .tenant = t, .priority = priority, .queued = true});
    lanes_.link(h, tenants_[t]);
    ++tenants_[t].queued;
    refresh(t);
  }
  void restore_turns(std::uint64_t turns) noexcept { turns_ = turns; }
  /// A tenant's account as saved elsewhere, in place of its own; its queued jobs stay.
  void restore_account(std::uint32_t t, tenant_account saved) {
    tenant_account& a = tenants_[t];
    saved.queued = a.queued;
    saved.head = a.head;
    saved.tail = a.tail;
    a = saved;
    refresh(t);
  }

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
    bool was_competing = competing(t);
    lanes_.place(h, queue_entry{.seq = seq, .tenant = t, .priority = priority, .queued = true});
    tenant_account& a = tenants_[t];
    lanes_.link(h, a);
    ++a.queued;
    if (was_competing && a.head != h) return;  // nothing the heaps order by has changed
    if (!was_competing) reenter(t);
    refresh(t);
  }

  /// A queued job leaves without running (cancelled, or gone from a queue kept elsewhere).
  void remove(std::uint32_t h) {
    std::uint32_t t = lanes_[h].tenant;
    lanes_.unlink(h, tenants_[t]);
    --tenants_[t].queued;
    refresh(t);
  }

  /// A queued job moves into (or out of) the priority lane, in sequence order there. It stays
  /// queued, so its tenant neither leaves nor re-enters the competition.
  void move_lane(std::uint32_t h, bool priority) {
    std::uint32_t t = lanes_[h].tenant;
    queue_entry entry = lanes_[h];
    lanes_.unlink(h, tenants_[t]);
    entry.priority = priority;
    lanes_.place(h, entry);
    lanes_.link(h, tenants_[t]);
    refresh(t);
  }

  /// The job that would start next, or no_handle.
  std::uint32_t pick() const {
    if (paused_) return no_handle;
    for (std::uint32_t h = lanes_.priority_head(); h != no_handle; h = lanes_.next_priority(h)) {
      if (can_run(lanes_[h].tenant)) return h;
    }
    return eligible_.empty() ? no_handle : tenants_[eligible_.top()].head;
  }

  /// The normal job in front, which pick() returns unless priority work comes first; no_handle
  /// if none may start.
  std::uint32_t front() const { return eligible_.empty() ? no_handle : tenants_[eligible_.top()].head; }

  /// Queued jobs in the priority lane, per tenant (indexed as the tenants are).
  std::vector<std::uint32_t> priority_queued() const {
    std::vector<std::uint32_t> counts(tenants_.size());
    for (std::uint32_t h = lanes_.priority_head(); h != no_handle; h = lanes_.next_priority(h)) ++counts[lanes_[h].tenant];
    return counts;
  }

  /// Queued priority jobs whose tenant may start one now.
  std::size_t priority_waiting() const {
    std::size_t waiting = 0;
    for (std::uint32_t h = lanes_.priority_head(); h != no_handle; h = lanes_.next_priority(h)) {
      waiting += can_run(lanes_[h].tenant);
    }
    return waiting;
  }

  /// A queued job starts; its tenant is charged `charge` of GPU time now.
  void start(std::uint32_t h, duration charge) {
    std::uint32_t t = lanes_[h].tenant;
    bool priority = lanes_[h].priority;
    tenant_account& a = tenants_[t];
    lanes_.unlink(h, a);
    --a.queued;
    ++a.running;
    if constexpr (Lanes::accepts_jobs) started_.push(h, {a.virtual_clock(), h});
    a.in_flight += static_cast<double>(charge.count()) / a.weight;
    if (!priority) a.turn = ++turns_;
    refresh(t);
  }

  /// Job h's run ended; its charge is replaced by what it really cost (0 refunds it entirely;
  /// never negative: settled clocks only grow). A lookahead's runs that were under way when it
  /// was made have no handle in it: no_handle.
  void finish(std::uint32_t t, std::uint32_t h, duration charged, duration cost) {
    if constexpr (Lanes::accepts_jobs) started_.set(h, false, {});
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
    const queue_entry& e = lanes_[h];
    std::uint32_t t = e.tenant;
    enqueue(h, t, e.seq, e.priority);  // still running, so no re-entry: its clock is kept
    finish(t, h, charged, cost);
  }

 private:
  template <class>
  friend class basic_dispatcher;

  serve_key key(const tenant_account& a) const {
    std::uint64_t seq = a.head == no_handle ? 0 : lanes_[a.head].seq;
    switch (policy_) {
      case policy::fifo: return {.seq = seq};
      case policy::round_robin: return {.turn = a.turn, .seq = seq};
      case policy::fair_share: return {.clock = a.virtual_clock(), .busy = a.running > 0, .turn = a.turn, .seq = seq};
    }
    return {.seq = seq};
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
    if (started_.empty() && backlogged_.empty()) return;
    double virtual_time = started_.empty()      ? backlogged_.top_key().first
                          : backlogged_.empty() ? started_.top_key().first
                                                : std::min(started_.top_key().first, backlogged_.top_key().first);
    tenants_[t].settled_clock = std::max(tenants_[t].settled_clock, virtual_time);
  }
  // Waiting with nothing running: its next job's start tag is its settled clock.
  bool backlogged(std::uint32_t t) const {
    const tenant_account& a = tenants_[t];
    return a.running == 0 && a.queued > 0 && !a.paused;
  }

  // Called after every change of a tenant's state.
  void refresh(std::uint32_t t) {
    const tenant_account& a = tenants_[t];
    eligible_.set(t, eligible(t), key(a));
    // Only arrivals re-enter a tenant, and none happen in a lookahead.
    if constexpr (Lanes::accepts_jobs) backlogged_.set(t, backlogged(t), {a.settled_clock, t});
  }

  policy policy_;
  bool paused_ = false;
  std::uint64_t turns_ = 0;
  std::vector<tenant_account> tenants_;
  Lanes lanes_;
  detail::indexed_heap<serve_key> eligible_;
  // What sets the virtual time a tenant re-enters at: the runs in progress by {start tag, job},
  // and the backlogged tenants by {settled clock, tenant}.
  detail::indexed_heap<std::pair<double, std::uint32_t>> started_;
  detail::indexed_heap<std::pair<double, std::uint32_t>> backlogged_;
};

/// The live scheduling state.
using dispatcher = basic_dispatcher<linked_lanes>;
/// A forecast's copy of it, made by dispatcher_lookahead(live).
using dispatcher_lookahead = basic_dispatcher<lookahead_lanes>;

}  // namespace comfyq::engine
