#pragma once
// Waiting for a job that a worker runs on the real ComfyUI, with a failure that says where to look.

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::testing::real {

/// Waits until job `id` of `queue` is finished and returns it; the test fails after `timeout`,
/// naming `logs` (the logs to read).
inline comfyq::job wait_until_finished(comfyq::store::contract& queue, const std::string& id,
                                       std::chrono::seconds timeout, const std::string& logs) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const comfyq::job j = *queue.find(id);
    if (comfyq::is_finished(j.state)) return j;
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("job " << id << " is still " << comfyq::to_string(j.state) << " (attempt " << j.attempt << ", reason '"
                  << j.reason << "') after " << timeout.count() << " s; " << logs);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace comfyq::testing::real
