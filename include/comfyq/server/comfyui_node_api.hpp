#pragma once
// What ComfyUI's API per tenant says of what the GPU workers have: GET /object_info and
// /object_info/{class}, from the union of the nodes the workers' ComfyUIs publish
// (node_catalogs.hpp); the models a loader node offers (GET /models, /models/{folder}); the
// devices (GET /system_stats); what the API takes (GET /features, /embeddings); and the web UI's
// start-up reads of what custom nodes add (GET /i18n, /global_subgraphs, /internal/folder_paths,
// /experiment/models).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/comfyui/prompt_validation.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/node_catalogs.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class comfyui_node_api {
 public:
  /// `max_upload_bytes`: the largest upload the server takes, as GET /features says.
  comfyui_node_api(store::contract& store, node_catalogs& catalogs, std::size_t max_upload_bytes)
      : store_(store), catalogs_(catalogs), max_upload_bytes_(max_upload_bytes) {}

  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/object_info", access::user, this, &comfyui_node_api::object_info);
      routes.add(http::verb::get, base + "/object_info/{class}", access::user, this, &comfyui_node_api::object_info_of);
      routes.add(http::verb::get, base + "/models", access::user, this, &comfyui_node_api::model_folders);
      routes.add(http::verb::get, base + "/models/{folder}", access::user, this, &comfyui_node_api::models_in);
      routes.add(http::verb::get, base + "/system_stats", access::user, this, &comfyui_node_api::system_stats);
      routes.add(http::verb::get, base + "/features", access::user, this, &comfyui_node_api::features);
      routes.add(http::verb::get, base + "/embeddings", access::user, this, &comfyui_node_api::nothing_listed);
      routes.add(http::verb::get, base + "/experiment/models", access::user, this, &comfyui_node_api::model_folder_paths);
      routes.add(http::verb::get, base + "/internal/folder_paths", access::user, this, &comfyui_node_api::nothing_known);
      routes.add(http::verb::get, base + "/global_subgraphs", access::user, this, &comfyui_node_api::nothing_known);
      routes.add(http::verb::get, base + "/i18n", access::user, this, &comfyui_node_api::nothing_known);
    }
  }

 private:
  // GET /object_info: every node class the workers' ComfyUIs have.
  response object_info(const request_context& c) {
    comfyui_tenant(c);
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    response res = comfyui_json_response(c.req, http::status::ok, catalog->nodes.object_info());
    if (!catalog->differing.empty()) {
      std::string classes;
      for (const std::string& name : catalog->differing) classes += (classes.empty() ? "" : ", ") + name;
      res.set("X-Comfyq-Note", "the workers' ComfyUIs define " + classes +
                                   " differently; this shows the first worker's definition");
    }
    return res;
  }

  // GET /object_info/{class}: {class: definition}, or {} for a class no worker has.
  response object_info_of(const request_context& c) {
    comfyui_tenant(c);
    const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
    const std::string& name = c.params[1];
    const ordered_json& all = catalog->nodes.object_info();
    ordered_json one = ordered_json::object();
    if (const auto found = all.find(name); found != all.end()) one[name] = *found;
    return comfyui_json_response(c.req, http::status::ok, one);
  }

  // Each model folder ComfyUI 0.8.0 has, and the core loader node whose input lists its files.
  struct model_folder {
    std::string_view folder, loader, input;
  };
  static constexpr model_folder model_folders_[] = {
      {"checkpoints", "CheckpointLoaderSimple", "ckpt_name"},
      {"configs", "CheckpointLoader", "config_name"},
      {"loras", "LoraLoader", "lora_name"},
      {"vae", "VAELoader", "vae_name"},
      {"text_encoders", "CLIPLoader", "clip_name"},
      {"diffusion_models", "UNETLoader", "unet_name"},
      {"clip_vision", "CLIPVisionLoader", "clip_name"},
      {"style_models", "StyleModelLoader", "style_model_name"},
      {"embeddings", "", ""},
      {"diffusers", "", ""},
      {"vae_approx", "", ""},
      {"controlnet", "ControlNetLoader", "control_net_name"},
      {"gligen", "GLIGENLoader", "gligen_name"},
      {"upscale_models", "UpscaleModelLoader", "model_name"},
      {"latent_upscale_models", "LatentUpscaleModelLoader", "model_name"},
      {"custom_nodes", "", ""},
      {"hypernetworks", "HypernetworkLoader", "hypernetwork_name"},
      {"photomaker", "PhotoMakerLoader", "photomaker_model_name"},
      {"classifiers", "", ""},
      {"model_patches", "ModelPatchLoader", "name"},
      {"audio_encoders", "AudioEncoderLoader", "audio_encoder_name"},
  };

  // GET /models: the model folders ComfyUI has.
  response model_folders(const request_context& c) {
    comfyui_tenant(c);
    ordered_json folders = ordered_json::array();
    for (const model_folder& f : model_folders_) folders.push_back(f.folder);
    return comfyui_json_response(c.req, http::status::ok, folders);
  }

  // GET /experiment/models: the model folders, each with the folders it is read from, which are
  // the workers' own and not shown.
  response model_folder_paths(const request_context& c) {
    comfyui_tenant(c);
    ordered_json folders = ordered_json::array();
    for (const model_folder& f : model_folders_) {
      if (f.folder != "configs" && f.folder != "custom_nodes") {
        folders.push_back({{"name", f.folder}, {"folders", ordered_json::array()}});
      }
    }
    return comfyui_json_response(c.req, http::status::ok, folders);
  }

  // GET /models/{folder}: the files its loader offers on the workers; 404 for no such folder.
  response models_in(const request_context& c) {
    comfyui_tenant(c);
    const std::string& folder = c.params[1];
    for (const model_folder& f : model_folders_) {
      if (f.folder != folder) continue;
      ordered_json files = ordered_json::array();
      const std::shared_ptr<const workers_catalog> catalog = catalogs_.of(store_.snapshot());
      if (const comfyui::node_class* loader = catalog->nodes.find(f.loader)) {
        for (const comfyui::input_spec& spec : loader->inputs) {
          if (spec.name != f.input) continue;
          if (const std::optional<ordered_json> choices = comfyui::detail::validation::combo_choices(spec)) files = *choices;
        }
      }
      return comfyui_json_response(c.req, http::status::ok, files);
    }
    throw api_error(http::status::not_found, "not_found",
                    "no model folder '" + comfyq::detail::printable(folder) + "'; GET /models lists them", "folder");
  }

  // GET /system_stats: the GPU workers' ComfyUI version and devices, one device per worker that
  // is up. What a worker does not publish (memory, Python and PyTorch versions) is left empty.
  response system_stats(const request_context& c) {
    comfyui_tenant(c);
    std::string version;
    ordered_json devices = ordered_json::array();
    for (const worker_snapshot& w : store_.snapshot().workers) {
      if (w.state == worker_state::down) continue;
      if (version.empty()) version = w.comfyui_version;
      devices.push_back({{"name", w.gpu}, {"type", w.gpu.starts_with("cuda") ? "cuda" : w.gpu.empty() ? "" : "cpu"},
                         {"index", devices.size()}, {"vram_total", 0}, {"vram_free", 0}, {"torch_vram_total", 0},
                         {"torch_vram_free", 0}, {"worker", w.id}});
    }
    return comfyui_json_response(c.req, http::status::ok,
                                 {{"system", {{"os", ""}, {"ram_total", 0}, {"ram_free", 0}, {"comfyui_version", version},
                                              {"required_frontend_version", ""}, {"installed_templates_version", nullptr},
                                              {"required_templates_version", nullptr}, {"python_version", ""},
                                              {"pytorch_version", ""}, {"embedded_python", false},
                                              {"argv", ordered_json::array()}}},
                                  {"devices", devices}});
  }

  // GET /features: preview frames with metadata, and the largest upload the server takes.
  response features(const request_context& c) {
    comfyui_tenant(c);
    return comfyui_json_response(c.req, http::status::ok, comfyui_server_features(max_upload_bytes_));
  }

  // GET /internal/folder_paths, /global_subgraphs, /i18n: what custom nodes and the machine's
  // folders add, which the workers do not publish: {}.
  response nothing_known(const request_context& c) {
    comfyui_tenant(c);
    return comfyui_json_response(c.req, http::status::ok, ordered_json::object());
  }

  // GET /embeddings: none (embeddings are not listed by the workers).
  response nothing_listed(const request_context& c) {
    comfyui_tenant(c);
    return comfyui_json_response(c.req, http::status::ok, ordered_json::array());
  }

  store::contract& store_;
  node_catalogs& catalogs_;
  std::size_t max_upload_bytes_;
};

}  // namespace comfyq::server
