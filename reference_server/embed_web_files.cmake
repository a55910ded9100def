# Writes OUTPUT, a header that holds the files in FOLDER as
# comfyq_server::web_files, each as a raw string literal: the pages comfyq-server serves are part
# of its binary, so that a copy of the binary is all a workshop machine needs.
# Run as: cmake -DOUTPUT=<header> -DFOLDER=<folder> -P embed_web_files.cmake
file(GLOB files "${FOLDER}/*")
list(SORT files)
set(delimiter "comfyq_web")
set(text "// Made by reference_server/embed_web_files.cmake from reference_server/web/: edit those files.\n")
string(APPEND text "#pragma once\n\n#include <vector>\n\n#include \"comfyq/server/web_pages.hpp\"\n\n")
string(APPEND text "namespace comfyq_server {\n\ninline std::vector<comfyq::server::web_file> web_files() {\n  return {\n")
foreach(file IN LISTS files)
  get_filename_component(name "${file}" NAME)
  file(READ "${file}" content)
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} holds \")${delimiter}\"\", which ends the string it is embedded in")
  endif()
  string(APPEND text "      {\"${name}\", R\"${delimiter}(${content})${delimiter}\"},\n")
endforeach()
string(APPEND text "  };\n}\n\n}  // namespace comfyq_server\n")
file(WRITE "${OUTPUT}.new" "${text}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
