// The ids stores give jobs submitted without one: valid ids, in submission order, and unique
// beyond one queue's life, so that a job's outputs (<tenant>/outputs/<job>/<attempt>/) never
// land in another job's folder. The clock stands still in these tests: only the random part
// tells apart ids generated in the same millisecond.
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <string>

#include "comfyq/comfyq.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using comfyq::testing::at;

namespace {

std::string submit(auto& q, double when = 0) { return q.submit({.tenant = "alice", .workflow = "{}"}, at(when)); }

}  // namespace

TEMPLATE_LIST_TEST_CASE("generated job ids are valid ids, all different within a millisecond", "[store][ids]", comfyq::testing::stores) {
  TestType q;
  std::set<std::string> ids;
  for (int n = 0; n < 200; ++n) {
    const std::string id = submit(q);
    INFO("id " << id);
    CHECK(comfyq::is_valid_id(id));
    ids.insert(id);
  }
  CHECK(ids.size() == 200);
}

TEMPLATE_LIST_TEST_CASE("a generated job id is j, the submission time in hex and eight random characters", "[store][ids]", comfyq::testing::stores) {
  TestType q;
  const std::string id = submit(q, 1.5);
  INFO("id " << id);
  char time[16];
  std::snprintf(time, sizeof time, "%011llx", static_cast<unsigned long long>(at(1.5).time_since_epoch().count()));
  REQUIRE(id.size() == 20);
  CHECK(id.substr(0, 12) == std::string("j") + time);
  for (char c : id.substr(12)) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')));
}

TEMPLATE_LIST_TEST_CASE("generated job ids sort in submission order across milliseconds", "[store][ids]", comfyq::testing::stores) {
  TestType q;
  const std::string first = submit(q, 0);
  const std::string second = submit(q, 0.001);
  const std::string later = submit(q, 100'000);
  CHECK(first < second);
  CHECK(second < later);
}

TEMPLATE_LIST_TEST_CASE("two queues give their first jobs different ids", "[store][ids]", comfyq::testing::stores) {
  TestType one;
  TestType other;
  const std::string a = submit(one);
  const std::string b = submit(other);
  CHECK(a != b);
  CHECK_FALSE(other.find(a));
  CHECK_FALSE(one.find(b));
}

TEMPLATE_LIST_TEST_CASE("a caller-chosen id that a generated one took is refused", "[store][ids]", comfyq::testing::stores) {
  TestType q;
  const std::string generated = submit(q);
  CHECK_THROWS_AS(q.submit({.tenant = "bob", .workflow = "{}", .id = generated}, at(1)), comfyq::invalid_input);
  CHECK(q.find(generated)->tenant == "alice");
}
