// Checks a password and writes the metrics with comfyq::server of an installed comfyq, which
// hashes with libcrypt and writes Prometheus's format with prometheus-cpp (which proves that
// both come along).
#include <cstdio>
#include <exception>
#include <string>

#include <comfyq/server/basic_auth.hpp>
#include <comfyq/server/bcrypt.hpp>
#include <comfyq/server/metrics.hpp>

int main() {
  try {
    const std::string hash = comfyq::server::bcrypt_hash("secret", comfyq::server::min_bcrypt_cost);
    const comfyq::server::basic_credentials sent = comfyq::server::parse_basic_authorization("Basic YWxpY2U6c2VjcmV0");
    if (sent.user != "alice" || !comfyq::server::bcrypt_verify(sent.password, hash)) {
      std::fprintf(stderr, "consumer: alice's password was not recognised\n");
      return 1;
    }
    comfyq::server::server_metrics metrics;
    const std::string scrape = metrics.scrape(comfyq::queue_snapshot{.paused = true}, 0);
    if (scrape.find("\ncomfyq_queue_paused 1\n") == std::string::npos) {
      std::fprintf(stderr, "consumer: the scrape does not say the queue is paused:\n%s", scrape.c_str());
      return 1;
    }
    std::printf("consumer: %s\n", hash.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
