# find_package(comfyq COMPONENTS comfyui): comfyq::comfyui, ComfyUI's protocol and the worker.
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-comfyui-targets.cmake")
