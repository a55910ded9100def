// Where the worker's ComfyUI is, as operators write it: host:port, a bare host, or the URL
// ComfyUI prints; and the options no client can use.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/client_options.hpp"
#include "support/expect_error.hpp"

using comfyq::comfyui::client_options;
using comfyq::test::expect_error;

namespace {

std::string address_of(const char* written) { return client_options::from_address(written).address(); }

comfyq::invalid_input refusal_of(const char* written) {
  return expect_error<comfyq::invalid_input>([&] { client_options::from_address(written, "--comfyui"); });
}

}  // namespace

TEST_CASE("a ComfyUI address is host:port, or a host on port 8188", "[comfyui][client_options]") {
  const client_options options = client_options::from_address("10.0.0.5:8189");
  CHECK(options.host == "10.0.0.5");
  CHECK(options.port == 8189);
  CHECK(address_of("127.0.0.1:8188") == "127.0.0.1:8188");
  CHECK(address_of("localhost") == "localhost:8188");
  CHECK(address_of("gpu-box") == "gpu-box:8188");
  CHECK(address_of("  gpu-box:8190\n") == "gpu-box:8190");  // pasted with the line's end
}

TEST_CASE("the URL ComfyUI prints is an address too, with or without its last slash", "[comfyui][client_options]") {
  CHECK(address_of("http://127.0.0.1:8188") == "127.0.0.1:8188");
  CHECK(address_of("http://127.0.0.1:8188/") == "127.0.0.1:8188");
  CHECK(address_of("HTTP://gpu-box:8190") == "gpu-box:8190");
  CHECK(address_of("http://gpu-box") == "gpu-box:80");  // a URL without a port means HTTP's
  CHECK(address_of("http://gpu-box/") == "gpu-box:80");
}

TEST_CASE("an address comfyq cannot call says what to write instead", "[comfyui][client_options]") {
  SECTION("HTTPS") {
    const auto refused = refusal_of("https://comfy.example.org");
    CHECK(refused.field() == "--comfyui");
    CHECK_THAT(refused.what(), Catch::Contains("is HTTPS, which comfyq does not speak") &&
                                   Catch::Contains("write host:port, e.g. 127.0.0.1:8188"));
  }
  SECTION("a path") {
    for (const char* written : {"http://127.0.0.1:8188/api", "127.0.0.1:8188/comfy/", "gpu-box:8188?x=1",
                                "http://gpu-box//"}) {
      INFO(written);
      CHECK_THAT(refusal_of(written).what(), Catch::Contains("has a path") && Catch::Contains("e.g. http://127.0.0.1:8188"));
    }
  }
  SECTION("another scheme") {
    CHECK_THAT(refusal_of("ws://127.0.0.1:8188").what(), Catch::Contains("is not an http:// URL"));
  }
  SECTION("no host or no valid port") {
    for (const char* written : {"host:", "host:0", "host:70000", "host:80a", ":8188", "http://", "http://:8188", ""}) {
      INFO(written);
      CHECK(refusal_of(written).field() == "--comfyui");
    }
  }
}

TEST_CASE("options no client can use are refused, naming the option", "[comfyui][client_options]") {
  const auto refused_field = [](client_options options) {
    return expect_error<comfyq::invalid_input>([&] { options.validate(); }).field();
  };
  CHECK(refused_field({.host = ""}) == "comfyui.host");
  CHECK(refused_field({.port = 0}) == "comfyui.port");
  CHECK(refused_field({.connect_timeout = std::chrono::milliseconds(0)}) == "comfyui.connect_timeout");
  CHECK(refused_field({.request_timeout = std::chrono::milliseconds(-1)}) == "comfyui.request_timeout");
  CHECK(refused_field({.max_answer_bytes = 0}) == "comfyui.max_answer_bytes");
  CHECK(refused_field({.max_download_bytes = 0}) == "comfyui.max_download_bytes");
  CHECK(refused_field({.max_frame_bytes = 0}) == "comfyui.max_frame_bytes");
  CHECK_NOTHROW(client_options{}.validate());
}
