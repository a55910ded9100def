// What a serving server is told: addresses to listen on, the ComfyUIs it drives, how it
// authenticates, and the users its first start makes; each wrong setting named with its fix.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/server/first_start.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/serve_settings.hpp"
#include "support/expect_invalid.hpp"
#include "support/scratch_folder.hpp"

using comfyq::server::auth_mode;
using comfyq::server::parse_listen_address;
using comfyq::server::serve_settings;
using comfyq::test::expect_invalid;

TEST_CASE("a listen address is HOST:PORT, with brackets around an IPv6 host", "[server][serve]") {
  CHECK(parse_listen_address("127.0.0.1:8080").host == "127.0.0.1");
  CHECK(parse_listen_address("127.0.0.1:8080").port == 8080);
  CHECK(parse_listen_address("0.0.0.0:0").port == 0);
  CHECK(parse_listen_address("[::1]:9000").host == "::1");
  CHECK(parse_listen_address("[::1]:9000").port == 9000);

  for (const char* wrong : {"127.0.0.1", "localhost:8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x", ":8080",
                            "[::1:80"}) {
    INFO(wrong);
    const auto e = expect_invalid([&] { parse_listen_address(wrong); });
    CHECK(e.field() == "listen");
    CHECK(std::string(e.what()).find("e.g. 127.0.0.1:8080") != std::string::npos);
  }
}

TEST_CASE("a server drives ComfyUI's default address unless told others, and none in a demo", "[server][serve]") {
  serve_settings s;
  CHECK(s.drives() == std::vector<std::string>{"127.0.0.1:8188"});
  s.comfyui = {"10.0.0.5:8188", "http://10.0.0.6:8189"};
  CHECK(s.drives() == s.comfyui);
  s.comfyui.clear();
  s.demo = true;
  CHECK(s.drives().empty());
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("how to attach a worker names the ComfyUI to start, --comfyui, comfyq-worker with Redis, --demo",
          "[server][serve]") {
  serve_settings s;
  s.comfyui = {"10.0.0.5:8190"};
  const std::string alone = s.how_to_attach_a_worker();
  CHECK(alone.find("python main.py --listen 10.0.0.5 --port 8190") != std::string::npos);
  CHECK(alone.find("--comfyui") != std::string::npos);
  CHECK(alone.find("--demo") != std::string::npos);
  CHECK(alone.find("comfyq-worker") == std::string::npos);
  s.redis = "redis://10.0.0.2:6379";
  const std::string with_redis = s.how_to_attach_a_worker();
  CHECK(with_redis.find("comfyq-worker --id ID --comfyui 127.0.0.1:8188 --redis redis://10.0.0.2:6379") != std::string::npos);
  CHECK(with_redis.find("--files-url http://") != std::string::npos);
  CHECK(with_redis.find("--files-token-file " + s.worker_token_file().string()) != std::string::npos);
}

TEST_CASE("each wrong serve setting is refused naming its field", "[server][serve]") {
  const auto refused_field = [](const serve_settings& s) { return expect_invalid([&] { s.validate(); }).field(); };
  serve_settings s;
  CHECK_NOTHROW(s.validate());

  s.listen = "8080";
  CHECK(refused_field(s) == "listen");
  s = {};
  s.data.clear();
  CHECK(refused_field(s) == "data");
  s = {};
  s.redis = "10.0.0.2:6379";
  CHECK(refused_field(s) == "redis");
  s = {};
  s.comfyui = {"http://"};
  CHECK(refused_field(s) == "comfyui");
  s = {};
  s.demo = true;
  s.comfyui = {"127.0.0.1:8188"};
  CHECK(refused_field(s) == "demo");
  s = {};
  s.auth = auth_mode::header;
  s.trusted_proxies.clear();
  CHECK(refused_field(s) == "trusted_proxies");
  s.trusted_proxies = {"nginx"};
  CHECK(refused_field(s) == "trusted_proxies");
  s = {};
  s.users = 0;
  CHECK(refused_field(s) == "users");
  s = {};
  s.max_body_mb = 0;
  CHECK(refused_field(s) == "max_body_mb");
  s.max_body_mb = serve_settings::max_body_mb_limit + 1;
  CHECK(refused_field(s) == "max_body_mb");
  s.max_body_mb = 1;
  CHECK(s.max_body_bytes() == 1024 * 1024);
  CHECK(serve_settings{}.max_body_bytes() == std::size_t{100} * 1024 * 1024);  // nginx-config's 100m
  s = {};
  s.auth = auth_mode::header;  // a proxy's users are not made here
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("the queue lives in the embedded store unless told memory or an outside Redis", "[server][serve]") {
  using comfyq::server::store_kind;
  serve_settings s;
  CHECK(s.store_in_use() == store_kind::private_redis);
  CHECK(s.redis_folder() == s.data / "redis");
  s.store = store_kind::memory;
  CHECK(s.store_in_use() == store_kind::memory);
  CHECK_NOTHROW(s.validate());
  s = {};
  s.redis = "redis://10.0.0.2:6379";
  CHECK(s.store_in_use() == store_kind::redis);
  CHECK_NOTHROW(s.validate());
  s.redis = "unix:///run/redis/redis.sock";
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("contradictory store settings are refused naming the field to change", "[server][serve]") {
  using comfyq::server::store_kind;
  const auto refused = [](const serve_settings& s) { return expect_invalid([&] { s.validate(); }); };
  serve_settings s;
  s.store = store_kind::memory;
  s.redis = "redis://10.0.0.2:6379";
  const auto memory_and_redis = refused(s);
  CHECK(memory_and_redis.field() == "store");
  CHECK(std::string(memory_and_redis.what()).find("'memory'") != std::string::npos);
  s.store = store_kind::private_redis;
  CHECK(refused(s).field() == "store");

  s = {};
  s.store = store_kind::redis;
  CHECK(refused(s).field() == "redis");

  s = {};
  s.data = "/" + std::string(120, 'd');
  const auto too_long = refused(s);
  CHECK(too_long.field() == "data");
  CHECK(std::string(too_long.what()).find("Unix socket") != std::string::npos);
  s.store = store_kind::memory;  // nothing listens in the folder then
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("only htpasswd auth believes no proxy, header auth believes the configured ones", "[server][serve]") {
  serve_settings s;
  CHECK(s.authentication().proxy.addresses.empty());
  CHECK(s.authentication().admins == std::vector<std::string>{"admin"});
  s.auth = auth_mode::header;
  s.user_header = "X-User";
  CHECK(s.authentication().proxy.addresses == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(s.authentication().proxy.user_header == "X-User");
}

TEST_CASE("the first start makes the users, later starts and header auth make none", "[server][serve]") {
  const comfyq::testing::scratch_folder scratch;
  serve_settings s;
  s.data = scratch.path() / "data";
  s.users = 3;
  s.prefix = "p";

  const auto made = comfyq::server::make_users_on_first_start(s);
  REQUIRE(made);
  CHECK(made->names == std::vector<std::string>{"admin", "p01", "p02", "p03"});
  const auto users = comfyq::server::htpasswd::load(s.htpasswd_file());
  const auto modified = std::filesystem::last_write_time(s.credentials_file());

  CHECK_FALSE(comfyq::server::make_users_on_first_start(s));
  CHECK(std::filesystem::last_write_time(s.credentials_file()) == modified);

  serve_settings behind_proxy;
  behind_proxy.auth = auth_mode::header;
  behind_proxy.data = scratch.path() / "proxied";
  CHECK_FALSE(comfyq::server::make_users_on_first_start(behind_proxy));
  CHECK_FALSE(std::filesystem::exists(behind_proxy.data));
}

TEST_CASE("the worker token is made on first start, readable by the server's user only, and then kept", "[server][serve]") {
  comfyq::testing::scratch_folder scratch;
  serve_settings s;
  s.data = scratch.path() / "data";

  const std::string token = comfyq::server::worker_token_on_first_start(s);
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  const auto permissions = std::filesystem::status(s.worker_token_file()).permissions();
  CHECK((permissions & std::filesystem::perms::all) == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(comfyq::server::worker_token_on_first_start(s) == token);

  std::ofstream(s.worker_token_file(), std::ios::trunc) << "an-operator's-token\n";
  CHECK(comfyq::server::worker_token_on_first_start(s) == "an-operator's-token");
  std::ofstream(s.worker_token_file(), std::ios::trunc) << "\n";
  CHECK(expect_invalid([&] { comfyq::server::worker_token_on_first_start(s); }).field() == s.worker_token_file().string());
}
