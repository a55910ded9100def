#pragma once
// comfyq-server as the tests run it: a command to its end (for the tests named *_command.cpp,
// which CMake tells where the program is built).

#include <string>
#include <utility>
#include <vector>

#include "support/program_run.hpp"

namespace comfyq::testing {

inline program_result run_comfyq_server(std::vector<std::string> arguments) {
  return run_program(COMFYQ_SERVER_EXECUTABLE, std::move(arguments));
}

}  // namespace comfyq::testing
