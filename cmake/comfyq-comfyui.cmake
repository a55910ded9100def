# find_package(comfyq COMPONENTS comfyui): comfyq::comfyui, ComfyUI's protocol and the worker,
# and what only it needs: Boost.Beast/Asio (header-only) and a thread library. Keep the Boost
# version in step with the top-level CMakeLists.txt.
include(CMakeFindDependencyMacro)
find_dependency(Boost 1.74)
find_dependency(Threads)
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-comfyui-targets.cmake")
