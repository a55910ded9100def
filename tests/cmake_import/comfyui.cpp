// Reads a ComfyUI frame with comfyq::comfyui of an installed comfyq, whose HTTP client fails
// where no ComfyUI listens (which proves that Boost.Beast and threads come along), and makes
// the TLS client of an https files server (which proves that OpenSSL does).
#include <cstdio>
#include <exception>

#include <comfyq/comfyui/http_client.hpp>
#include <comfyq/comfyui/messages.hpp>
#include <comfyq/comfyui/remote_tenant_files.hpp>

int main() {
  try {
    const comfyq::comfyui::message done =
        comfyq::comfyui::parse_message(R"({"type":"executing","data":{"node":null,"prompt_id":"j1"}})");
    if (!done.ends_prompt() || done.prompt_id != "j1") {
      std::fprintf(stderr, "consumer: the end of prompt j1 was not recognised\n");
      return 1;
    }
    try {
      comfyq::comfyui::http_client({.host = "127.0.0.1", .port = 1}).system_stats();
      std::fprintf(stderr, "consumer: a ComfyUI answered on 127.0.0.1:1, where none should listen\n");
      return 1;
    } catch (const comfyq::comfyui_unavailable& e) {
      std::printf("consumer: %s\n", e.what());
    }
    comfyq::comfyui::remote_files_options files = comfyq::comfyui::remote_files_options::from_url("https://127.0.0.1");
    files.token = "token";
    files.scratch = "consumer-scratch";
    const comfyq::comfyui::remote_tenant_files over_tls(files);
    std::printf("consumer: a files client of %s\n", over_tls.options().url().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
