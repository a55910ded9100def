#pragma once
// comfyq's version, for code that must know which one it compiles against. Kept in step with
// project(VERSION) in CMakeLists.txt (a test checks it).

#define COMFYQ_VERSION_MAJOR 0
#define COMFYQ_VERSION_MINOR 1
#define COMFYQ_VERSION_PATCH 0
/// "major.minor.patch"
#define COMFYQ_VERSION "0.1.0"
