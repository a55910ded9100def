#pragma once
// A worker of the test server that published the recorded ComfyUI 0.8.0's nodes, as the
// per-tenant ComfyUI API validates prompts against what the workers publish.

#include <string>

#include "comfyq/util/sha256.hpp"
#include "server/api_server.hpp"
#include "support/comfyui_recordings.hpp"

namespace comfyq::testing {

inline void publish_recorded_nodes(running_server& s, const std::string& worker = "gpu0") {
  const std::string document = recording_bytes("GET_object_info_full.json");
  const std::string sha = comfyq::util::sha256_hex(document);
  s.queue.put_object_info(sha, document);
  s.queue.register_worker({.id = worker, .comfyui = "127.0.0.1:8188", .object_info = sha});
}

}  // namespace comfyq::testing
