#pragma once
// Catches the comfyq::invalid_input an action throws, so a test can look at its field and message.

#include <optional>

#include <catch2/catch.hpp>

#include "comfyq/errors.hpp"

namespace comfyq::test {

/// The invalid_input `action` throws; the test fails if it throws nothing (other exceptions propagate).
template <class Action>
comfyq::invalid_input expect_invalid(Action&& action) {
  std::optional<comfyq::invalid_input> caught;
  try {
    action();
  } catch (const comfyq::invalid_input& error) {
    caught = error;
  }
  REQUIRE(caught.has_value());
  return *caught;
}

}  // namespace comfyq::test
