# find_package(comfyq COMPONENTS comfyui): comfyq::comfyui, ComfyUI's protocol and the worker,
# and what only it needs: Boost.Beast/Asio (header-only), a thread library and OpenSSL (the
# client of an https files server). Keep the Boost version in step with the top-level
# CMakeLists.txt.
include(CMakeFindDependencyMacro)
find_dependency(Boost 1.74)
find_dependency(Threads)
find_dependency(OpenSSL)
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-comfyui-targets.cmake")
