#pragma once
// Catches the comfyq::invalid_input an action throws, so a test can look at its field and message.

#include <utility>

#include "comfyq/errors.hpp"
#include "support/expect_error.hpp"

namespace comfyq::test {

/// The invalid_input `action` throws; the test fails if it throws nothing (other exceptions propagate).
template <class Action>
comfyq::invalid_input expect_invalid(Action&& action) {
  return expect_error<comfyq::invalid_input>(std::forward<Action>(action));
}

}  // namespace comfyq::test
