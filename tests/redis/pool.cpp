// A pool gives every thread a connection of its own, and the same one on every call.
#include <catch2/catch.hpp>

#include <set>
#include <thread>
#include <vector>

#include "comfyq/redis/pool.hpp"
#include "support/expect_invalid.hpp"
#include "support/redis_server.hpp"

using comfyq::redis::connection;
using comfyq::redis::pool;
using comfyq::testing::shared_redis;

TEST_CASE("a pool gives each thread its own connection, the same one on every call", "[redis][pool]") {
  pool connections(shared_redis().connection_options());
  constexpr int thread_count = 4;
  std::vector<const connection*> first(thread_count);
  std::vector<const connection*> second(thread_count);
  std::vector<long long> client_ids(thread_count);

  std::vector<std::thread> threads;
  for (int i = 0; i < thread_count; ++i) {
    threads.emplace_back([&, i] {
      connection& mine = connections.get();
      first[i] = &mine;
      client_ids[i] = mine.command({"CLIENT", "ID"}).integer();
      second[i] = &connections.get();
    });
  }
  for (std::thread& thread : threads) thread.join();

  CHECK(first == second);
  CHECK(std::set<const connection*>(first.begin(), first.end()).size() == thread_count);
  CHECK(std::set<long long>(client_ids.begin(), client_ids.end()).size() == thread_count);
  CHECK(connections.size() == thread_count);
}

TEST_CASE("a pool connects nothing until a thread asks", "[redis][pool]") {
  comfyq::redis::connection_options nowhere;
  nowhere.port = 1;
  pool connections(nowhere);
  CHECK(connections.size() == 0);
}

TEST_CASE("a pool checks its options when made", "[redis][pool]") {
  comfyq::redis::connection_options broken;
  broken.reconnect.attempts = 0;
  CHECK(comfyq::test::expect_invalid([&] { pool connections(broken); }).field() == "reconnect.attempts");
}
