// The embedded store as a server would use it: a worker thread waits for work (no polling),
// runs it and reports progress; the main thread submits, reads the job's position and follows
// the store's event log until the job is over.
//
//   build/examples/example_embedded_store

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include <comfyq/store/memory.hpp>

int main() {
  using namespace std::chrono_literals;
  comfyq::store::memory queue;

  std::thread worker([&] {
    std::optional<comfyq::lease> lease = queue.wait_for_lease("gpu0", 10s);
    if (!lease) return;
    for (int step = 1; step <= 3; ++step) {
      std::this_thread::sleep_for(10ms);  // ComfyUI at work
      queue.report_progress(lease->job_id, lease->token, {{"node", "3"}, {"value", step}, {"max", 3}});
    }
    queue.complete(lease->job_id, lease->token, {});
  });

  const std::string after = queue.last_event_id();
  const std::string id = queue.submit({.tenant = "alice", .workflow = R"({"1": {"class_type": "EmptyImage"}})"});
  std::printf("submitted %s\n", id.c_str());

  std::string cursor = after;
  bool over = false;
  while (!over) {
    for (const comfyq::store::logged_event& e : queue.read_events(cursor, 100, 1s)) {
      cursor = e.id;
      std::printf("event %s: %s %s\n", e.id.c_str(), comfyq::to_string(e.value.type).data(), e.value.data.dump().c_str());
      over = over || (e.value.job == id && e.value.type == comfyq::event_type::succeeded);
    }
  }
  worker.join();
  return queue.find(id)->state == comfyq::job_state::succeeded ? 0 : 1;
}
