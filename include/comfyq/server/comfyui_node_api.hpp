#pragma once
// What ComfyUI's API per tenant says of the nodes: GET /object_info and /object_info/{class},
// from the union of what the workers' ComfyUIs publish (node_catalogs.hpp).

#include <memory>
#include <string>
#include <string_view>

#include "comfyq/server/comfyui_http.hpp"
#include "comfyq/server/node_catalogs.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class comfyui_node_api {
 public:
  comfyui_node_api(store::contract& store, node_catalogs& catalogs) : store_(store), catalogs_(catalogs) {}

  void add_routes(router& routes) {
    for (const std::string_view prefix : comfyui_bases) {
      const std::string base(prefix);
      routes.add(http::verb::get, base + "/object_info", access::user, this, &comfyui_node_api::object_info);
      routes.add(http::verb::get, base + "/object_info/{class}", access::user, this, &comfyui_node_api::object_info_of);
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

  store::contract& store_;
  node_catalogs& catalogs_;
};

}  // namespace comfyq::server
