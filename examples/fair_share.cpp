// Three participants share one GPU under fair_share: one queues ten long video jobs, two
// queue a few short image jobs later. The scheduler interleaves them by GPU time used, so the
// short jobs do not wait behind the whole video backlog. Time is a parameter: this program
// plays the clock itself.
//
//   build/examples/example_fair_share

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include <comfyq/comfyq.hpp>

int main() {
  using namespace std::chrono_literals;
  comfyq::time_point now{};
  // Leases last longer than the longest job: nothing heartbeats here.
  comfyq::scheduler queue(
      {.policy = comfyq::policy::fair_share, .lease_ttl = std::chrono::hours(1), .worker_ttl = std::chrono::hours(1)});

  for (int i = 0; i < 10; ++i) queue.submit({.tenant = "hog", .workflow = "{}", .shape = "video"}, now);
  now += 1s;
  for (int i = 0; i < 3; ++i) {
    queue.submit({.tenant = "alice", .workflow = "{}", .shape = "image"}, now);
    queue.submit({.tenant = "bob", .workflow = "{}", .shape = "image"}, now);
  }

  // One worker runs everything; videos take 5 minutes, images 20 seconds.
  while (std::optional<comfyq::lease> lease = queue.lease("gpu0", now)) {
    const comfyq::job& job = *queue.find(lease->job_id);
    now += job.shape == "video" ? comfyq::duration(5min) : comfyq::duration(20s);
    queue.complete(lease->job_id, lease->token, {}, now);
    std::printf("%6llds  %-5s %-5s %s\n", static_cast<long long>(now.time_since_epoch() / 1s), job.tenant.c_str(),
                job.shape.c_str(), job.id.c_str());
  }
  return 0;
}
