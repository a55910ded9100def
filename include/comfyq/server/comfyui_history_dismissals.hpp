#pragma once
// What a tenant removed from its ComfyUI history (POST /history {"delete": [ids]} or
// {"clear": true}, comfyui_prompt_api.hpp). The jobs themselves stay in the queue's store, with
// their outputs, for comfyq's own pages and API; ComfyUI's history, and /api/jobs, no longer
// show them. Kept per tenant in <files>/<tenant>/comfyui-history.json, so that it outlives the
// server; in memory when the server keeps no files.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/detail/synced_file.hpp"

namespace comfyq::server {

class comfyui_history_dismissals {
 public:
  /// `files`: every tenant's files; empty: kept in memory only.
  explicit comfyui_history_dismissals(std::filesystem::path files) : files_(std::move(files)) {}

  /// Whether `j`'s tenant removed it from its history.
  bool dismissed(const job& j) {
    const std::lock_guard lock(mutex_);
    const removed& r = of(j.tenant);
    return j.finished_at <= r.cleared_through || r.deleted.contains(j.id);
  }

  /// Removes every job of `tenant` that ended by `through`.
  void clear(const std::string& tenant, time_point through) {
    const std::lock_guard lock(mutex_);
    removed& r = of(tenant);
    r.cleared_through = std::max(r.cleared_through, through);
    r.deleted.clear();  // ended by then, all of them
    save(tenant, r);
  }

  /// Removes the jobs `ids` of `tenant` (which ended).
  void remove(const std::string& tenant, const std::vector<std::string>& ids) {
    const std::lock_guard lock(mutex_);
    removed& r = of(tenant);
    r.deleted.insert(ids.begin(), ids.end());
    save(tenant, r);
  }

 private:
  struct removed {
    time_point cleared_through{};
    std::set<std::string> deleted;
  };

  removed& of(const std::string& tenant) {
    const auto known = tenants_.find(tenant);
    if (known != tenants_.end()) return known->second;
    removed r;
    if (!files_.empty()) {
      std::ifstream in(file_of(tenant));
      const nlohmann::json kept = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
      if (kept.is_object()) {
        r.cleared_through = time_point(duration(kept.value("cleared_through_ms", std::int64_t{0})));
        for (const auto& id : kept.value("deleted", nlohmann::json::array())) {
          if (id.is_string()) r.deleted.insert(id.get<std::string>());
        }
      }
    }
    return tenants_.emplace(tenant, std::move(r)).first->second;
  }

  void save(const std::string& tenant, const removed& r) const {
    if (files_.empty()) return;
    const nlohmann::json kept{{"cleared_through_ms", r.cleared_through.time_since_epoch().count()},
                              {"deleted", r.deleted}};
    if (const std::error_code ec =
            detail::place_synced(files_ / tenant / ".partial", file_of(tenant), kept.dump() + "\n")) {
      throw std::filesystem::filesystem_error("cannot keep what was removed from the history", file_of(tenant), ec);
    }
  }

  std::filesystem::path file_of(const std::string& tenant) const {
    validate_id("tenant", tenant);
    return files_ / tenant / "comfyui-history.json";
  }

  std::filesystem::path files_;
  std::mutex mutex_;
  std::map<std::string, removed, std::less<>> tenants_;
};

}  // namespace comfyq::server
