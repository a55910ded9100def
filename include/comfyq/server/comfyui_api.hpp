#pragma once
// ComfyUI's own API, per tenant: at /user/<name>/ (and /user/<name>/api/, as ComfyUI has every
// route both ways) the server answers as a ComfyUI server would, for that tenant alone, while
// every job goes through the fair queue to the GPU workers. Unmodified ComfyUI clients point at
// https://<site>/user/<name>/ with the participant's password. docs/comfyui-api.md lists what
// is served and how it differs from ComfyUI.
//
// Bodies are written as ComfyUI's Python writes them (python_text.hpp); a prompt is validated
// as ComfyUI validates it (prompt_validation.hpp), against the nodes the workers' ComfyUIs
// publish (node_catalogs.hpp).

#include <cstddef>
#include <filesystem>

#include "comfyq/server/comfyui_file_api.hpp"
#include "comfyq/server/comfyui_node_api.hpp"
#include "comfyq/server/comfyui_prompt_api.hpp"
#include "comfyq/server/file_api.hpp"
#include "comfyq/server/node_catalogs.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class comfyui_api {
 public:
  /// `files`: every tenant's files, which `file_routes` keeps and serves; empty: none kept.
  /// `max_upload_bytes`: the largest request body the server takes. All must outlive it.
  comfyui_api(store::contract& store, std::filesystem::path files, const file_api& file_routes,
              std::size_t max_upload_bytes)
      : catalogs_(store),
        prompts_(store, catalogs_, std::move(files)),
        files_(store, file_routes),
        nodes_(store, catalogs_, max_upload_bytes) {}

  void add_routes(router& routes) {
    prompts_.add_routes(routes);
    files_.add_routes(routes);
    nodes_.add_routes(routes);
  }

 private:
  node_catalogs catalogs_;
  comfyui_prompt_api prompts_;
  comfyui_file_api files_;
  comfyui_node_api nodes_;
};

}  // namespace comfyq::server
