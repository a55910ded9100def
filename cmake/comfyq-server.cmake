# find_package(comfyq COMPONENTS server): comfyq::server, the server's logic, which builds on the
# comfyui component (loaded here too), links libcrypt by name, as glibc systems install it
# (Debian: libcrypt-dev), and prometheus-cpp's core library (Debian: prometheus-cpp-dev).
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-comfyui.cmake")
find_dependency(prometheus-cpp)
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-server-targets.cmake")
