// Runs one job through the scheduler of an installed comfyq: lease it, complete it, check it.
// It links comfyq::comfyq alone: no network library, no fmt, no Boost.
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <comfyq/comfyq.hpp>

int main() {
  try {
    const comfyq::time_point now{std::chrono::milliseconds{1'700'000'000'000}};
    comfyq::scheduler queue;
    queue.set_tenant({.id = "alice", .weight = 1.0}, now);
    const std::string id = queue.submit({.tenant = "alice", .workflow = "{}"}, now);

    const std::optional<comfyq::lease> lease = queue.lease("worker-1", now);
    if (!lease || lease->job_id != id) {
      std::fprintf(stderr, "consumer: job %s was not leased\n", id.c_str());
      return 1;
    }
    queue.complete(lease->job_id, lease->token, {}, now + std::chrono::seconds(5));

    const comfyq::job* job = queue.find(id);
    if (job == nullptr || job->state != comfyq::job_state::succeeded) {
      std::fprintf(stderr, "consumer: job %s did not succeed\n", id.c_str());
      return 1;
    }
    std::printf("consumer: comfyq %s, job %s %s\n", COMFYQ_VERSION, id.c_str(), comfyq::to_string(job->state).data());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
