# find_package(comfyq COMPONENTS redis): comfyq::redis, and hiredis, which only it needs.
# hiredis's own CMake file defines no target; pkg-config makes PkgConfig::hiredis, the name the
# exported comfyq::redis links to. Keep the version in step with the top-level CMakeLists.txt.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::hiredis)
  pkg_check_modules(hiredis QUIET IMPORTED_TARGET hiredis>=0.14)
  if(NOT TARGET PkgConfig::hiredis)
    set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
    set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
      "comfyq::redis needs hiredis 0.14 or later, found with pkg-config (Debian: apt-get install libhiredis-dev)")
    return()
  endif()
endif()
include("${CMAKE_CURRENT_LIST_DIR}/comfyq-redis-targets.cmake")
