#pragma once
// Catches the comfyq error an action throws, so a test can look at its field and message.

#include <optional>
#include <utility>

#include <catch2/catch.hpp>

namespace comfyq::test {

/// The `Error` that `action` throws; the test fails if it throws nothing (other exceptions propagate).
template <class Error, class Action>
Error expect_error(Action&& action) {
  std::optional<Error> caught;
  try {
    action();
  } catch (const Error& error) {
    caught = error;
  }
  REQUIRE(caught.has_value());
  return *caught;
}

}  // namespace comfyq::test
