// position() and forecast(workers, limit) answer from one replay kept until the queue changes,
// taken only as far as a question needs: whatever order they are asked in, they give exactly
// what a whole forecast made afresh at that moment gives; asked later, exactly that too while
// the replay still holds, and otherwise for up to forecast_reuse what the replay gave, its ETAs
// that follow the clock moved on.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "comfyq/comfyq.hpp"
#include "support/random.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

namespace {

const comfyq::scheduler_config config{.lease_ttl = 24h * 30, .worker_ttl = 24h * 30};
const comfyq::scheduler_config exact{.lease_ttl = 24h * 30, .worker_ttl = 24h * 30, .forecast_reuse = 0ms};

struct random_queue {
  std::vector<std::string> ids;  ///< every job submitted, in any state
  double now = 0;                ///< seconds: when to ask
  int workers = 0;               ///< workers up
  comfyq::policy policy{};
};

// Builds the same queue on any store from `seed`: tenants with weights and caps, measured
// history in several shapes, a policy, queued normal and priority work, runs in progress that
// began at different times (some are overdue by the time the queue is asked), paused tenants
// and now and then a paused queue or no worker ever seen.
template <class Queue>
random_queue build(Queue& q, std::uint64_t seed) {
  comfyq::testing::random rng(seed);
  random_queue out;
  double& now = out.now;
  const char* shapes[] = {"ltx", "wan", "sdxl", "flux"};
  const int tenants = rng.between(1, 10);
  auto tenant = [&] { return "t" + std::to_string(rng.between(0, tenants - 1)); };
  for (int t = 0; t < tenants; ++t) {
    q.set_tenant({.id = "t" + std::to_string(t),
                  .weight = rng.between(1, 4) / 2.0,
                  .max_running = rng.chance(30) ? static_cast<std::uint32_t>(rng.between(1, 2)) : comfyq::unlimited},
                 at(now));
  }
  auto submit = [&](bool may_be_priority) {
    // Ids chosen here, so that two queues built from one seed name their jobs alike.
    out.ids.push_back(q.submit({.tenant = tenant(),
                                .shape = shapes[rng.between(0, 3)],
                                .priority = may_be_priority && rng.chance(15),
                                .id = "j" + std::to_string(out.ids.size() + 1)},
                               at(now)));
  };
  const bool anyone_up = !rng.chance(10);
  for (int i = 0, n = anyone_up ? rng.between(0, 30) : 0; i < n; ++i) {
    submit(false);
    if (auto lease = q.lease("w0", at(now))) {
      now += rng.between(1, 300);
      q.complete(lease->job_id, lease->token, {}, at(now));
    }
  }
  out.policy = static_cast<comfyq::policy>(rng.between(0, 2));
  q.set_policy(out.policy, at(now));
  for (int i = 0, n = rng.between(0, 50); i < n; ++i) submit(true);
  out.workers = anyone_up ? rng.between(1, 4) : 0;
  for (int w = 0, busy = rng.between(0, out.workers); w < busy; ++w) {
    q.lease("w" + std::to_string(w), at(now));
    now += rng.between(0, 120);
  }
  for (int w = 0; w < out.workers; ++w) q.touch_worker("w" + std::to_string(w), at(now));
  for (int i = 0, n = rng.between(0, 30); i < n; ++i) submit(true);
  for (int i = 0, n = rng.chance(40) ? rng.between(1, 2) : 0; i < n; ++i) q.pause_tenant(tenant(), at(now));
  if (rng.chance(8)) q.pause_queue(at(now));
  now += rng.between(0, 200);
  return out;
}

// Two queues built alike from `seed`: one to ask, and one whose answers it must give.
template <class Queue>
struct built_alike {
  built_alike(std::uint64_t seed, const comfyq::scheduler_config& asked_config,
              const comfyq::scheduler_config& reference_config)
      : asked(asked_config), reference(reference_config), queue(build(asked, seed)), now(at(queue.now)) {
    build(reference, seed);
  }
  Queue asked;
  Queue reference;
  const random_queue queue;
  const comfyq::time_point now;
};

std::string text(const std::optional<comfyq::queue_position>& p) {
  if (!p) return "none";
  std::ostringstream out;
  out << p->job << " #" << p->position << " @" << (p->eta ? std::to_string(p->eta->time_since_epoch().count()) : "-");
  return out.str();
}

std::string text(const std::vector<comfyq::queue_position>& forecast) {
  std::string out;
  for (const auto& p : forecast) out += text(p) + '\n';
  return out;
}

// The position each job has in a whole forecast, or none.
std::map<std::string, std::string> positions_in(const std::vector<comfyq::queue_position>& forecast,
                                                const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  for (const std::string& id : ids) out[id] = "none";
  for (const auto& p : forecast) out[p.job] = text(p);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("position() is a job's entry in the whole forecast, whatever order jobs are asked in", "[store]", comfyq::testing::stores) {
  comfyq::testing::random rng(20261201);
  for (int round = 0; round < TestType::property_seeds * 30; ++round) {
    built_alike<TestType> twins(7000 + static_cast<std::uint64_t>(round), config, config);
    auto& [asked, whole, queue, now] = twins;
    INFO("round " << round << ", " << queue.ids.size() << " jobs, " << queue.workers << " workers");

    std::vector<std::string> order = queue.ids;
    for (std::size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[static_cast<std::size_t>(rng.between(0, static_cast<int>(i) - 1))]);
    }
    std::map<std::string, std::string> answered;
    for (const std::string& id : order) answered[id] = text(asked.position(id, now));
    CHECK(answered == positions_in(whole.forecast(now), queue.ids));
  }
}

TEMPLATE_LIST_TEST_CASE("a forecast of the first N is the first N of the whole forecast", "[store]", comfyq::testing::stores) {
  comfyq::testing::random rng(20261202);
  for (int round = 0; round < TestType::property_seeds * 30; ++round) {
    built_alike<TestType> twins(8000 + static_cast<std::uint64_t>(round), config, config);
    auto& [asked, whole, queue, now] = twins;
    const std::size_t workers = rng.chance(30) ? static_cast<std::size_t>(rng.between(1, 5)) : 0;
    INFO("round " << round << ", " << queue.ids.size() << " jobs, workers asked for " << workers);

    std::vector<comfyq::queue_position> all = whole.forecast(now, workers);
    for (std::size_t limit : {std::size_t{0}, std::size_t{1}, std::size_t{3}, static_cast<std::size_t>(rng.between(0, 90))}) {
      std::vector<comfyq::queue_position> first(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(limit, all.size())));
      CHECK(text(asked.forecast(now, workers, limit)) == text(first));
    }
    CHECK(text(asked.forecast(now, workers)) == text(all));
  }
}

TEMPLATE_LIST_TEST_CASE("a kept forecast answers later as one made then would (runs fall overdue, idle workers wait)", "[store]", comfyq::testing::stores) {
  comfyq::testing::random rng(20261203);
  for (int round = 0; round < TestType::property_seeds * 30; ++round) {
    built_alike<TestType> twins(9000 + static_cast<std::uint64_t>(round), exact, exact);
    auto& [kept, fresh, queue, made] = twins;
    comfyq::time_point now = made;
    kept.forecast(now);  // the replay later questions start from
    for (int step = 0; step < 5 && !queue.ids.empty(); ++step) {
      now += rng.chance(50) ? std::chrono::milliseconds(rng.between(0, 2)) : std::chrono::milliseconds(rng.between(0, 300'000));
      const std::string job = queue.ids[static_cast<std::size_t>(rng.between(0, static_cast<int>(queue.ids.size()) - 1))];
      INFO("round " << round << ", step " << step << ", asked " << (now - made).count() << " ms later about " << job);
      fresh.set_policy(queue.policy, now);  // changes nothing but what the store kept: its forecast starts afresh
      const std::vector<comfyq::queue_position> expected = fresh.forecast(now);
      CHECK(text(kept.position(job, now)) == positions_in(expected, queue.ids)[job]);
      CHECK(text(kept.forecast(now)) == text(expected));
    }
  }
}

TEMPLATE_LIST_TEST_CASE("for forecast_reuse a forecast answers again, its ETAs moved on with the clock where they follow it", "[store]", comfyq::testing::stores) {
  comfyq::testing::random rng(20261204);
  for (int round = 0; round < TestType::property_seeds * 30; ++round) {
    built_alike<TestType> twins(10000 + static_cast<std::uint64_t>(round), config, exact);
    auto& [kept, fresh, queue, made] = twins;
    const std::vector<comfyq::queue_position> first = kept.forecast(made);
    INFO("round " << round);

    const comfyq::duration soon(rng.between(0, 999));
    const std::vector<comfyq::queue_position> again = kept.forecast(made + soon);
    REQUIRE(again.size() == first.size());
    for (std::size_t k = 0; k < first.size(); ++k) {
      CHECK(again[k].job == first[k].job);
      CHECK(again[k].position == first[k].position);
      if (first[k].eta) CHECK((*again[k].eta == *first[k].eta || *again[k].eta == *first[k].eta + soon));
    }
    if (!queue.ids.empty()) {
      const std::string& job = queue.ids[static_cast<std::size_t>(rng.between(0, static_cast<int>(queue.ids.size()) - 1))];
      CHECK(text(kept.position(job, made + soon)) == positions_in(again, queue.ids)[job]);
    }

    // Later than that, what a forecast made then gives.
    const comfyq::time_point later = made + config.forecast_reuse + comfyq::duration(rng.between(0, 200'000));
    CHECK(text(kept.forecast(later)) == text(fresh.forecast(later)));
  }
}
