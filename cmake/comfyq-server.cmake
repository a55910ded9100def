# find_package(comfyq COMPONENTS server): comfyq::server, the server's logic, which builds on the
# comfyui component (loaded here too) and links libcrypt by name, as glibc systems install it
# (Debian: libcrypt-dev).
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-comfyui.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-server-targets.cmake")
