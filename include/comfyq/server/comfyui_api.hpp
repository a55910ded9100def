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

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comfyq/server/comfyui_file_api.hpp"
#include "comfyq/server/comfyui_frontend_api.hpp"
#include "comfyq/server/comfyui_node_api.hpp"
#include "comfyq/server/comfyui_prompt_api.hpp"
#include "comfyq/server/comfyui_socket.hpp"
#include "comfyq/server/comfyui_userdata_api.hpp"
#include "comfyq/server/detail/random_bytes.hpp"
#include "comfyq/server/file_api.hpp"
#include "comfyq/server/node_catalogs.hpp"
#include "comfyq/server/query_string.hpp"
#include "comfyq/server/router.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

class comfyui_api {
 public:
  /// Takes an open socket over: keeps it until the server stops, and runs it.
  using socket_keeper = std::function<void(const std::shared_ptr<comfyui_socket>&)>;

  /// What the web UI needs beside the API.
  struct web_ui {
    std::filesystem::path frontend;  ///< the web UI's static files (comfyui_frontend_api.hpp); empty: none
    std::filesystem::path workshop;  ///< the workshop's shared workflows; empty: none
    const std::vector<web_file>& pages;  ///< the page files, which hold comfyq's extension
    std::chrono::seconds stall_limit;  ///< a download whose client takes nothing this long is dropped
  };

  /// `files`: every tenant's files, which `file_routes` keeps and serves; empty: none kept.
  /// `max_upload_bytes`: the largest request body the server takes. All must outlive it.
  comfyui_api(store::contract& store, std::filesystem::path files, const file_api& file_routes,
              std::size_t max_upload_bytes, comfyui_socket_host sockets, socket_keeper keep, const web_ui& ui)
      : catalogs_(store),
        prompts_(store, catalogs_, files),
        files_(store, file_routes),
        nodes_(store, catalogs_, max_upload_bytes),
        userdata_(std::move(files), ui.workshop),
        frontend_(ui.frontend, ui.workshop, ui.pages, ui.stall_limit),
        max_upload_bytes_(max_upload_bytes),
        sockets_(sockets),
        keep_(std::move(keep)) {}

  void add_routes(router& routes) {
    prompts_.add_routes(routes);
    files_.add_routes(routes);
    nodes_.add_routes(routes);
    // Some clients open the WebSocket at the root whatever their base: it is the caller's own.
    routes.add(http::verb::get, "/ws", access::user, this, &comfyui_api::open_socket);
    for (const std::string_view base : comfyui_bases) {
      routes.add(http::verb::get, std::string(base) + "/ws", access::user, this, &comfyui_api::open_socket);
    }
    userdata_.add_routes(routes);
    frontend_.add_routes(routes);  // last: the web UI's files take every other GET below a tenant
  }

 private:
  // GET /ws?clientId=: the tenant's WebSocket; its clientId, or a new one, is its sid.
  stream_handoff open_socket(const request_context& c) {
    const std::string tenant = c.params.empty() ? c.who.user : comfyui_tenant(c);
    if (!boost::beast::websocket::is_upgrade(c.req)) {
      throw api_error(http::status::bad_request, "not_a_websocket",
                      "this is ComfyUI's WebSocket: open it as one (ws:// or wss://), e.g. with new WebSocket(url)");
    }
    const query_parameters params(c.query, {"clientId"}, unknown_parameters::ignored);
    comfyui_socket_setup setup{.tenant = tenant,
                               .sid = params.get("clientId").value_or(""),
                               .max_upload_bytes = max_upload_bytes_};
    if (setup.sid.empty()) setup.sid = new_sid();
    return [this, setup = std::move(setup), upgrade = c.req](boost::beast::tcp_stream&& connection) mutable {
      keep_(std::make_shared<comfyui_socket>(std::move(connection), std::move(upgrade), sockets_, std::move(setup)));
    };
  }

  // As ComfyUI makes one: uuid4().hex, 32 hex digits.
  static std::string new_sid() {
    std::array<std::byte, 16> bytes{};
    detail::fill_random(bytes);
    bytes[6] = (bytes[6] & std::byte{0x0F}) | std::byte{0x40};
    bytes[8] = (bytes[8] & std::byte{0x3F}) | std::byte{0x80};
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (std::byte b : bytes) {
      hex += digits[std::to_integer<unsigned>(b) >> 4];
      hex += digits[std::to_integer<unsigned>(b) & 0xF];
    }
    return hex;
  }

  node_catalogs catalogs_;
  comfyui_prompt_api prompts_;
  comfyui_file_api files_;
  comfyui_node_api nodes_;
  comfyui_userdata_api userdata_;
  comfyui_frontend_api frontend_;
  std::size_t max_upload_bytes_;
  comfyui_socket_host sockets_;
  socket_keeper keep_;
};

}  // namespace comfyq::server
