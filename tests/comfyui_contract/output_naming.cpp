// Output files named and placed as ComfyUI names them (saveimage_naming_output_directory.jsonl):
// subfolders from the prefix, consecutive counters for a batch, %batch_num%, date and size
// tokens, prefixes leaving the output folder failing at run time, a prefix without folder
// or with a trailing slash, and extra_data passed through to the history and the PNG.

#include <catch2/catch.hpp>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;

TEST_CASE("save nodes name their files as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  contract::check_replay("saveimage_naming_output_directory.jsonl", fixture.standin);

  const auto png = comfyq::testing::http_get(fixture.standin.port(),
                                             "/view?filename=out_00001_.png&subfolder=tenantA/job126&type=output");
  REQUIRE(png.status == 200);
  // tEXt chunks: the API graph as "prompt", each extra_pnginfo key as JSON.
  CHECK(png.body.find(std::string("tEXtprompt") + '\0' + R"({"1": {"class_type": "EmptyImage")") != std::string::npos);
  CHECK(png.body.find(std::string("tEXtworkflow") + '\0' + R"({"note": "ui workflow json goes here"})") !=
        std::string::npos);
}
