#pragma once
// The stand-in tracks progress_state as comfyq does (comfyq/comfyui/progress_state.hpp).

#include "comfyq/comfyui/progress_state.hpp"

namespace comfyq::testing::standin {

using comfyq::comfyui::progress_state;

}  // namespace comfyq::testing::standin
