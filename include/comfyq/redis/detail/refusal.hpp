#pragma once
// Turns a function's refusal ("COMFYQ <what> <details>") into the exception the memory store
// throws for the same call, with the same words (comfyq/store/refusals.hpp); and a queue
// written in another key layout, which only Redis can hold, into invalid_input on "queue".

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/store/refusals.hpp"
#include "comfyq/submission.hpp"

namespace comfyq::redis::detail {

inline std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    std::size_t end = text.find(' ');
    out.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return out;
}

inline std::uint64_t number(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

/// Throws what the error reply `r` of the store's function `function` means; `token` is the one
/// the caller presented.
[[noreturn]] inline void throw_refusal(std::string_view function, reply_view r, std::uint64_t token = 0) {
  std::vector<std::string_view> w = words(r.error_message());
  // A batch's refusal, "COMFYQ batch <index> <refusal>", names the job it refused.
  std::optional<std::size_t> job;
  if (w.size() >= 4 && w[0] == "COMFYQ" && w[1] == "batch") {
    job = number(w[2]);
    w.erase(w.begin() + 1, w.begin() + 3);
  }
  auto refuse = [&](const auto& refusal) {
    if (job) throw in_batch(refusal, *job);
    throw refusal;
  };
  if (w.size() >= 2 && w[0] == "COMFYQ") {
    if (w[1] == "duplicate" && w.size() == 3) refuse(comfyq::store::duplicate_job_id(w[2]));
    if (w[1] == "quota" && w.size() == 4) refuse(comfyq::store::queue_full(w[2], static_cast<std::uint32_t>(number(w[3]))));
    if (w[1] == "nojob" && w.size() == 3) throw comfyq::store::unknown_job(w[2]);
    if (w[1] == "notenant" && w.size() == 3) throw comfyq::store::unknown_tenant(w[2]);
    if (w[1] == "noworker" && w.size() == 3) throw comfyq::store::unknown_worker(w[2]);
    if ((w[1] == "notqueued" || w[1] == "noretry") && w.size() == 4) {
      if (auto state = parse_job_state(w[3])) {
        throw w[1] == "notqueued" ? comfyq::store::not_queued(w[2], *state) : comfyq::store::not_retryable(w[2], *state);
      }
    }
    if (w[1] == "layout" && w.size() == 5) {
      throw invalid_input("queue", "its keys in Redis (" + std::string(w[4]) + ") were written by a comfyq with layout " +
                                       std::string(w[2]) + ", and this comfyq reads layout " + std::string(w[3]) +
                                       "; finish its jobs with the comfyq that wrote them and delete those keys, or "
                                       "use another queue name");
    }
    if (w[1] == "lost" && w.size() == 5) {
      if (w[3] == "unknown") throw comfyq::store::unknown_lease(w[2]);
      if (auto state = parse_job_state(w[3])) throw comfyq::store::lost_lease(w[2], token, *state, number(w[4]));
    }
  }
  throw store_unavailable("Redis function '" + std::string(function) + "' failed: " + std::string(r.error_message()) + "; check the Redis server and its logs");
}

}  // namespace comfyq::redis::detail
