// Uploads, downloads and a run-time failure as recorded in
// upload_view_and_execution_error.jsonl: POST /upload/image (new name, identical and
// different duplicates, overwrite, subfolder, traversal, unchecked content, missing
// field), GET /view (found, 404, 400, 403, /api alias), LoadImage of a corrupt upload
// failing with execution_error, and LoadImage of "subfolder/name".
// The recording keeps no upload bodies; its labels say what each request sent.

#include <catch2/catch.hpp>

#include <map>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "comfyui_standin/png.hpp"

namespace contract = comfyq::testing::contract;
using comfyq::testing::form_part;
using comfyq::testing::http_call;
using comfyq::testing::multipart_call;
using comfyq::testing::standin::encode_png;

namespace {

std::optional<http_call> upload_for(const std::string& label) {
  const std::string first = encode_png({4, 4}, {10, 20, 30});
  const std::string second = encode_png({4, 4}, {200, 20, 30});
  const std::map<std::string, std::vector<form_part>> uploads{
      {"upload new file (type defaults to input)", {{"image", first, "tenantE_in.png"}}},
      {"same name, identical bytes -> same name returned", {{"image", first, "tenantE_in.png"}}},
      {"same name, different bytes -> renamed 'name (1).png'", {{"image", second, "tenantE_in.png"}}},
      {"overwrite=true", {{"image", second, "tenantE_in.png"}, {"overwrite", "true"}}},
      {"with subfolder + type=input",
       {{"image", encode_png({3, 3}, {}), "up.png"}, {"subfolder", "tenantE/uploads"}, {"type", "input"}}},
      {"subfolder traversal attempt", {{"image", first, "evil.png"}, {"subfolder", "../../escape"}}},
      {"corrupt image bytes (accepted: no validation)", {{"image", "this is not an image", "corrupt.png"}}},
      {"missing image field", {{"type", "input"}}},
  };
  return multipart_call("/upload/image", uploads.at(label));
}

}  // namespace

TEST_CASE("uploads, views and a failing LoadImage behave as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  contract::replay_options options;
  options.request_for = [](const contract::json& event) -> std::optional<http_call> {
    const auto& request = event.at("request");
    const std::string label = request.value("label", "");
    if (request.at("path") == "/upload/image") return upload_for(label);
    // Not simulated: the stand-in serves files as stored, without transcoding them.
    if (label == "preview=webp;50 transcode") return std::nullopt;
    http_call call{request.at("method").get<std::string>(), request.at("path").get<std::string>()};
    if (request.contains("json")) call.body = request.at("json").dump();
    return call;
  };
  contract::check_replay("upload_view_and_execution_error.jsonl", fixture.standin, std::move(options));
}
