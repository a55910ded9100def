#pragma once
// Names that no other test uses, for queues and keys on a Redis that several tests share.

#include <atomic>
#include <string>
#include <string_view>

#include <unistd.h>

namespace comfyq::testing {

/// "<stem>-<process id>-<n>", different on every call, also across test processes.
inline std::string unique_queue_name(std::string_view stem = "queue") {
  static std::atomic<unsigned> counter{0};
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace comfyq::testing
