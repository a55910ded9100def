#pragma once
// comfyui-standin as a child process (COMFYUI_STANDIN_EXECUTABLE), for tests that signal
// or kill it: it prints its port on the first line of stdout.

#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"

namespace comfyq::testing::contract {

class standin_process : public child_process {
 public:
  explicit standin_process(std::vector<std::string> arguments, const std::string& stderr_file = "")
      : child_process(COMFYUI_STANDIN_EXECUTABLE, std::move(arguments), stderr_file) {}

  /// The port the process printed, waiting at most 15 s for it.
  unsigned short port() {
    if (!port_) port_ = static_cast<unsigned short>(std::stoi(first_line()));
    return port_;
  }

 private:
  unsigned short port_ = 0;
};

}  // namespace comfyq::testing::contract
