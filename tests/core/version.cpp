// The version a program compiles against is the one CMake installs it as.

#include <catch2/catch.hpp>

#include <string>

#include "comfyq/version.hpp"

TEST_CASE("the version macros agree with each other and with the project's version", "[core][version]") {
  const std::string parts = std::to_string(COMFYQ_VERSION_MAJOR) + "." + std::to_string(COMFYQ_VERSION_MINOR) + "." +
                            std::to_string(COMFYQ_VERSION_PATCH);
  CHECK(parts == COMFYQ_VERSION);
  CHECK(std::string(COMFYQ_VERSION) == COMFYQ_PROJECT_VERSION);
}
