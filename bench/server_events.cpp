// Live events through comfyq-server's SSE streams (server.hpp, event_feed.hpp), the server and
// its clients in this process, on loopback.
//
// BM_progress_latency/<store>: 20 participants and an admin each hold a stream, as browsers
// do, and each participant has a running job. An iteration reports progress for the next job
// in the store, as its worker does, stamped with the time; the time is how long until the
// job's owner has the frame in hand, parsed (manual time). One event at a time: this is the
// latency of an event, not of a backlog. Store 0 is the memory store, 1 a private redis-server.
//   p50_us p99_us max_us   the percentiles of that latency
// Target: p99 under 50 ms.
//
// BM_idle_streams/<streams>: that many participants' streams open and idle (keep-alive
// comments every 15 s only). Once: the process's resident memory with the streams open and the
// CPU it spends in 5 s of idling; the clients' sockets are in the same process, so both are
// upper bounds of the server's.
//   rss_mb          the whole process's resident set with the streams open
//   rss_delta_mb    what opening them added
//   idle_cpu_pct    CPU time / wall time over the idle 5 s (100: one core busy)
// Target: 1,000 streams, under 100 MB, CPU near zero.

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/redis/store.hpp"
#include "comfyq/server/server.hpp"
#include "comfyq/store/memory.hpp"
#include "server/sse_client.hpp"
#include "support/percentile.hpp"
#include "support/redis_info.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int participants = 20;

// Users name themselves in X-Remote-User, as behind nginx; "admin" is the admin.
comfyq::server::identifier by_header() {
  return [](const comfyq::server::request& req, const boost::asio::ip::address&)
             -> std::variant<comfyq::server::identity, comfyq::server::api_error> {
    const std::string user(req["X-Remote-User"]);
    return comfyq::server::identity{.user = user, .admin = user == "admin"};
  };
}

std::unique_ptr<comfyq::store::contract> store_of(std::int64_t kind) {
  if (kind == 0) return std::make_unique<comfyq::store::memory>();
  comfyq_bench::flush_redis();
  return std::make_unique<comfyq::redis::store>(comfyq_bench::private_redis().connection_options(),
                                                comfyq::redis::store_options{});
}

std::string user_name(int i) { return "user" + std::to_string(i + 1); }

std::unique_ptr<comfyq::testing::sse_client> subscribe(std::uint16_t port, const std::string& user) {
  return std::make_unique<comfyq::testing::sse_client>(port, "/api/v1/events",
                                                       std::vector<std::pair<std::string, std::string>>{{"X-Remote-User", user}});
}

std::int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count(); }

void BM_progress_latency(benchmark::State& state) {
  const std::unique_ptr<comfyq::store::contract> store = store_of(state.range(0));
  comfyq::server::server web(*store, {.port = 0, .identify = by_header()});
  web.start();

  std::vector<std::string> jobs;
  std::vector<std::uint64_t> tokens;
  for (int i = 0; i < participants; ++i) {
    jobs.push_back(store->submit({.tenant = user_name(i), .workflow = R"({"1":{"class_type":"SaveImage","inputs":{}}})"}));
    const auto lease = store->lease("gpu-" + std::to_string(i));
    tokens.push_back(lease->token);
  }

  // Each owner's latest frame arrival, read on a thread of its own like a browser tab.
  std::atomic<bool> stopping{false};
  std::vector<std::atomic<std::int64_t>> arrived(participants);
  std::vector<std::atomic<std::int64_t>> latest_sent(participants);
  std::vector<std::jthread> readers;
  for (int i = 0; i < participants; ++i) {
    readers.emplace_back([&, i, client = std::shared_ptr(subscribe(web.port(), user_name(i)))] {
      while (!stopping) {
        const auto frame = client->next(std::chrono::milliseconds(100));
        if (!frame || frame->event != "progress") continue;
        const std::int64_t at = now_ns();
        latest_sent[i] = nlohmann::json::parse(frame->data).at("data").at("sent_ns").get<std::int64_t>();
        arrived[i] = at;
        arrived[i].notify_one();
      }
    });
  }
  const auto admin = subscribe(web.port(), "admin");             // sees every event, reads none: a slow tab
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // every stream subscribed

  std::vector<double> micros;
  int step = 0;
  for (auto _ : state) {
    const int i = step % participants;
    const std::int64_t sent = now_ns();
    store->report_progress(jobs[i], tokens[i], {{"node", "3"}, {"value", step}, {"max", 1000000}, {"sent_ns", sent}});
    for (std::int64_t seen = arrived[i].load(); latest_sent[i].load() != sent; seen = arrived[i].load()) {
      arrived[i].wait(seen);  // `seen` read before the check: an arrival after it wakes the wait
    }
    const double latency = static_cast<double>(arrived[i].load() - sent) / 1e3;
    micros.push_back(latency);
    state.SetIterationTime(latency / 1e6);
    ++step;
  }
  stopping = true;
  readers.clear();
  web.stop();
  state.counters["p50_us"] = comfyq_bench::percentile(micros, 0.50);
  state.counters["p99_us"] = comfyq_bench::percentile(micros, 0.99);
  state.counters["max_us"] = comfyq_bench::percentile(micros, 1.0);
}
BENCHMARK(BM_progress_latency)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(2000);

double resident_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double cpu_seconds() {
  rusage used{};
  ::getrusage(RUSAGE_SELF, &used);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(used.ru_utime) + seconds(used.ru_stime);
}

// Two descriptors a stream here (the client's and the server's): more than the usual soft limit.
void allow_descriptors() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

void BM_idle_streams(benchmark::State& state) {
  allow_descriptors();
  comfyq::store::memory store;
  comfyq::server::server web(store, {.port = 0, .identify = by_header()});
  web.start();
  for (auto _ : state) {
    const double before = resident_mb();
    std::vector<std::unique_ptr<comfyq::testing::sse_client>> streams;
    try {
      for (std::int64_t i = 0; i < state.range(0); ++i) {
        streams.push_back(subscribe(web.port(), user_name(static_cast<int>(i % participants))));
        if (streams.back()->head().find("200 OK") == std::string::npos) throw std::runtime_error("a stream was refused");
      }
    } catch (const std::exception& e) {  // e.g. too few file descriptors (ulimit -n)
      state.SkipWithError(("opened " + std::to_string(streams.size()) + " streams, then: " + e.what()).c_str());
      break;
    }
    const double open = resident_mb();
    const double cpu_before = cpu_seconds();
    const auto idle_from = clock_type::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const double idle_seconds = std::chrono::duration<double>(clock_type::now() - idle_from).count();
    state.counters["streams"] = static_cast<double>(web.stream_clients());
    state.counters["rss_mb"] = open;
    state.counters["rss_delta_mb"] = open - before;
    state.counters["idle_cpu_pct"] = 100.0 * (cpu_seconds() - cpu_before) / idle_seconds;
  }
  web.stop();
}
BENCHMARK(BM_idle_streams)->Arg(1000)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
