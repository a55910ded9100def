#pragma once
// Tenant ids for the benchmarks: "tenant-0000", "tenant-0001", ...

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace comfyq_bench {

inline std::vector<std::string> make_tenant_ids(std::size_t count) {
  std::vector<std::string> ids;
  ids.reserve(count);
  char name[32];
  for (std::size_t i = 0; i < count; ++i) {
    std::snprintf(name, sizeof name, "tenant-%04zu", i);
    ids.emplace_back(name);
  }
  return ids;
}

}  // namespace comfyq_bench
