// Every text frame a real ComfyUI sent in the recordings reads into a typed message; frames
// that break the protocol are refused naming the part; frames of unknown types pass as other.
#include <catch2/catch.hpp>

#include <string>

#include "comfyq/comfyui/messages.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_error.hpp"

using comfyq::comfyui::message;
using comfyq::comfyui::message_type;
using comfyq::comfyui::parse_message;

TEST_CASE("every recorded text frame reads as a known type with its prompt and node", "[comfyui][messages]") {
  std::size_t frames = 0;
  for (const std::string& name : comfyq::testing::transcript_names()) {
    for (const nlohmann::json& e : comfyq::testing::load_transcript(name)) {
      if (e.value("dir", "") != "server->ws" || e.value("kind", "") != "text") continue;
      ++frames;
      INFO(name << ": " << e["data"].dump());
      const message m = parse_message(e["data"].dump());
      const nlohmann::json& data = e["data"]["data"];
      CHECK(m.type != message_type::other);
      CHECK(m.type_name == e["data"]["type"].get<std::string>());
      CHECK(m.prompt_id == data.value("prompt_id", ""));
      CHECK(m.data == data);
      if (m.type == message_type::executing || m.type == message_type::executed || m.type == message_type::progress) {
        CHECK(m.node == (data["node"].is_null() ? std::nullopt : std::optional(data["node"].get<std::string>())));
      }
      if (m.type == message_type::progress) {
        CHECK(m.value == data["value"].get<std::uint64_t>());
        CHECK(m.max == data["max"].get<std::uint64_t>());
      }
    }
  }
  CHECK(frames > 400);
}

TEST_CASE("a prompt is over at its outcome frame or at executing with node null", "[comfyui][messages]") {
  CHECK(parse_message(R"({"type":"executing","data":{"node":null,"prompt_id":"j1"}})").ends_prompt());
  CHECK(parse_message(R"({"type":"execution_success","data":{"prompt_id":"j1","timestamp":1}})").ends_prompt());
  CHECK(parse_message(R"({"type":"execution_interrupted","data":{"prompt_id":"j1","node_id":"3"}})").ends_prompt());
  CHECK_FALSE(parse_message(R"({"type":"executing","data":{"node":"2","prompt_id":"j1"}})").ends_prompt());
  CHECK_FALSE(parse_message(R"({"type":"executed","data":{"node":"2","prompt_id":"j1","output":{}}})").ends_prompt());
}

TEST_CASE("a frame of a type ComfyUI's core does not send is kept as other", "[comfyui][messages]") {
  const message m = parse_message(R"({"type":"crystools.monitor","data":{"cpu_utilization":12}})");
  CHECK(m.type == message_type::other);
  CHECK(m.type_name == "crystools.monitor");
  CHECK(m.data["cpu_utilization"] == 12);
  CHECK_FALSE(m.ends_prompt());
}

TEST_CASE("frames that break the protocol are refused, naming the part", "[comfyui][messages]") {
  using comfyq::comfyui_protocol_error;
  using comfyq::test::expect_error;
  const auto field_of = [](const char* text) {
    return expect_error<comfyui_protocol_error>([&] { parse_message(text); }).field();
  };
  CHECK(field_of("not json") == "ws");
  CHECK(field_of(R"(["status"])") == "ws.type");
  CHECK(field_of(R"({"data":{}})") == "ws.type");
  CHECK(field_of(R"({"type":"status","data":[]})") == "ws.status.data");
  CHECK(field_of(R"({"type":"executing","data":{"node":"1","prompt_id":7}})") == "ws.executing.prompt_id");
  CHECK(field_of(R"({"type":"executing","data":{"node":{"id":"1"}}})") == "ws.executing.node");
  CHECK(field_of(R"({"type":"progress","data":{"node":"1","value":"3","max":20}})") == "ws.progress.value");
  CHECK(field_of(R"({"type":"progress","data":{"node":"1","value":3}})") == "ws.progress.max");
  const comfyq::comfyui_protocol_error e =
      expect_error<comfyui_protocol_error>([] { parse_message(R"({"type":"progress","data":{"value":-1,"max":2}})"); });
  CHECK(e.code() == comfyq::errc::comfyui_protocol);
  CHECK_THAT(e.what(), Catch::Matchers::StartsWith("[comfyq.comfyui_protocol] ws.progress.value: "));
}
