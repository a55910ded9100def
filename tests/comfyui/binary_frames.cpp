// The binary frames a real ComfyUI sent (previews of types 1 and 4, progress text of type 3)
// read as the transcripts describe them; truncated or unknown frames are refused.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "comfyq/comfyui/binary_frames.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_error.hpp"

using comfyq::comfyui::binary_frame;
using comfyq::comfyui::binary_type;
using comfyq::comfyui::parse_binary_frame;

namespace {

constexpr std::string_view png_signature = "\x89PNG";

}  // namespace

TEST_CASE("every recorded binary frame reads as its transcript describes it", "[comfyui][binary]") {
  std::size_t frames = 0;
  for (const char* name : {"ws_binary_frames_legacy_client.jsonl", "ws_binary_frames_featureflags_client.jsonl"}) {
    for (const nlohmann::json& e : comfyq::testing::load_transcript(name)) {
      if (e.value("kind", "") != "binary") continue;
      ++frames;
      const std::string bytes = comfyq::testing::recording_bytes(e["file"].get<std::string>());
      INFO(e["file"].get<std::string>());
      REQUIRE(bytes.size() == e["len"].get<std::size_t>());
      const binary_frame f = parse_binary_frame(bytes);
      CHECK(static_cast<std::uint32_t>(f.type) == e["event_type_u32be"].get<std::uint32_t>());
      switch (f.type) {
        case binary_type::preview_image:
          CHECK(f.media_type == "image/png");
          CHECK(f.prompt_id.empty());
          CHECK(f.payload.starts_with(png_signature));
          CHECK(f.payload.size() == bytes.size() - 8);
          break;
        case binary_type::preview_image_with_metadata:
          CHECK(f.media_type == e["metadata_json"]["image_type"].get<std::string>());
          CHECK(f.prompt_id == e["metadata_json"]["prompt_id"].get<std::string>());
          CHECK(f.node == e["metadata_json"]["node_id"].get<std::string>());
          CHECK(f.payload.starts_with(png_signature));
          break;
        case binary_type::progress_text:
          CHECK(f.node == e["node_id"].get<std::string>());
          CHECK(f.payload == e["text"].get<std::string>());
          break;
      }
    }
  }
  CHECK(frames == 7);
}

TEST_CASE("a binary frame that is short, unknown or runs past its end is refused", "[comfyui][binary]") {
  using comfyq::comfyui_protocol_error;
  using comfyq::test::expect_error;
  const auto field_of = [](std::string bytes) {
    return expect_error<comfyui_protocol_error>([&] { parse_binary_frame(bytes); }).field();
  };
  using namespace std::string_literals;
  CHECK(field_of("\0\0\0\1\0\0"s) == "ws.binary");
  CHECK(field_of("\0\0\0\2\0\0\0\2png"s) == "ws.binary.type");  // type 2 never leaves ComfyUI
  CHECK(field_of("\0\0\0\1\0\0\0\7png"s) == "ws.binary.format");
  CHECK(field_of("\0\0\0\3\0\0\0\x09node"s) == "ws.binary.node_id_length");
  CHECK(field_of("\0\0\0\4\0\0\0\x20{}"s) == "ws.binary.metadata_length");
  CHECK(field_of("\0\0\0\4\0\0\0\2[]png"s) == "ws.binary.metadata");
}

TEST_CASE("a JPEG preview and an empty progress text read too", "[comfyui][binary]") {
  using namespace std::string_literals;
  const std::string jpeg_bytes = "\0\0\0\1\0\0\0\1\xff\xd8\xff"s;
  const binary_frame jpeg = parse_binary_frame(jpeg_bytes);
  CHECK(jpeg.media_type == "image/jpeg");
  CHECK(jpeg.payload == "\xff\xd8\xff"s);
  const std::string text_bytes = "\0\0\0\3\0\0\0\x02"s + "12";
  const binary_frame text = parse_binary_frame(text_bytes);
  CHECK(text.node == "12");
  CHECK(text.payload.empty());
}

// A frame views the bytes it was parsed from: parsing a temporary would leave it dangling
// (undefined behaviour that only optimised builds showed), so it does not compile.
template <class Bytes>
concept parses_frames_of = requires(Bytes&& bytes) { comfyq::comfyui::parse_binary_frame(std::forward<Bytes>(bytes)); };
static_assert(!parses_frames_of<std::string>);
static_assert(parses_frames_of<const std::string&>);
static_assert(parses_frames_of<std::string_view>);
