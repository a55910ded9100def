#pragma once
// The stand-in writes text as ComfyUI's Python does (comfyq/comfyui/python_text.hpp).

#include "comfyq/comfyui/python_text.hpp"

namespace comfyq::testing::standin {

using json = comfyq::comfyui::ordered_json;
using comfyq::comfyui::append_python_json;
using comfyq::comfyui::python_dumps;
using comfyq::comfyui::python_repr;
using comfyq::comfyui::python_str;

}  // namespace comfyq::testing::standin
