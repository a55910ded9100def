// Runs one job through the scheduler of an installed comfyq: lease it, complete it, check it.
// Then uses comfyq::redis without a Redis: parses a URL, and fails to connect where none listens,
// which also proves that hiredis links. And reads a ComfyUI frame with comfyq::comfyui, whose HTTP
// client fails where no ComfyUI listens (which proves that Boost.Beast and threads come along).
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <comfyq/comfyq.hpp>
#include <comfyq/comfyui/http_client.hpp>
#include <comfyq/comfyui/messages.hpp>
#include <comfyq/redis/connection.hpp>
#include <comfyq/redis/connection_options.hpp>

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
    std::printf("consumer: job %s %s\n", id.c_str(), comfyq::to_string(job->state).data());

    comfyq::redis::connection_options options = comfyq::redis::connection_options::from_url("redis://127.0.0.1:1/2");
    if (options.port != 1 || options.db != 2) {
      std::fprintf(stderr, "consumer: redis URL parsed as %s db %d\n", options.address().c_str(), options.db);
      return 1;
    }
    options.reconnect.attempts = 1;
    try {
      comfyq::redis::connection unreachable(options);
      std::fprintf(stderr, "consumer: connected to %s, where no Redis should listen\n", options.address().c_str());
      return 1;
    } catch (const comfyq::store_unavailable& e) {
      std::printf("consumer: %s\n", e.what());
    }

    const comfyq::comfyui::message done =
        comfyq::comfyui::parse_message(R"({"type":"executing","data":{"node":null,"prompt_id":"j1"}})");
    if (!done.ends_prompt() || done.prompt_id != "j1") {
      std::fprintf(stderr, "consumer: the end of prompt j1 was not recognised\n");
      return 1;
    }

    try {
      comfyq::comfyui::http_client({.host = "127.0.0.1", .port = 1}).system_stats();
      std::fprintf(stderr, "consumer: a ComfyUI answered on 127.0.0.1:1, where none should listen\n");
      return 1;
    } catch (const comfyq::comfyui_unavailable& e) {
      std::printf("consumer: %s\n", e.what());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
