// Uses comfyq::redis of an installed comfyq without a Redis: parses a URL, and fails to connect
// where none listens, which also proves that hiredis links.
#include <cstdio>
#include <exception>

#include <comfyq/redis/connection.hpp>
#include <comfyq/redis/connection_options.hpp>

int main() {
  try {
    comfyq::redis::connection_options options = comfyq::redis::connection_options::from_url("redis://127.0.0.1:1/2");
    if (options.port != 1 || options.db != 2) {
      std::fprintf(stderr, "consumer: redis URL parsed as %s db %d\n", options.address().c_str(), options.db);
      return 1;
    }
    options.reconnect.attempts = 1;
    try {
      comfyq::redis::connection unreachable(options);
      std::fprintf(stderr, "consumer: connected to %s, where no Redis should listen\n", options.address().c_str());
      return 1;
    } catch (const comfyq::store_unavailable& e) {
      std::printf("consumer: %s\n", e.what());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
