// docs/openapi.json and the server list the same operations: a route added without its
// documentation, or documentation of a route that is gone, fails here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "comfyq/server/server.hpp"
#include "comfyq/store/memory.hpp"

TEST_CASE("docs/openapi.json documents exactly the operations the server serves, with who may call them",
          "[server][openapi]") {
  std::ifstream file(COMFYQ_OPENAPI_DOCUMENT);
  REQUIRE(file);
  const nlohmann::json document = nlohmann::json::parse(file);
  CHECK(document.at("openapi").get<std::string>().starts_with("3."));

  std::set<std::pair<std::string, std::string>> documented;
  std::set<std::pair<std::string, std::string>> open_to_everyone;
  for (const auto& [path, operations] : document.at("paths").items()) {
    for (const auto& [method, operation] : operations.items()) {
      documented.emplace(method, path);
      if (operation.contains("security") && operation.at("security").empty()) open_to_everyone.emplace(method, path);
      INFO(method << " " << path);
      CHECK(operation.contains("operationId"));
    }
  }

  comfyq::store::memory queue;
  const comfyq::server::server web(queue, {});
  std::set<std::pair<std::string, std::string>> served;
  std::set<std::pair<std::string, std::string>> served_open;
  for (const auto& route : web.routes()) {
    // ComfyUI's own API per tenant is ComfyUI's, not this one: docs/comfyui-api.md lists it.
    if (route.pattern.starts_with("/user/{name}/") || route.pattern == "/ws") continue;
    std::string method(boost::beast::http::to_string(route.method));
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    // "{path...}", a parameter that takes the rest of the path, is "{path}" in OpenAPI.
    std::string pattern = route.pattern;
    if (const std::size_t rest = pattern.find("...}"); rest != std::string::npos) pattern.erase(rest, 3);
    served.emplace(method, pattern);
    if (route.access == comfyq::server::access::everyone) served_open.emplace(method, pattern);
  }
  CHECK(served == documented);
  CHECK(served_open == open_to_everyone);
}
