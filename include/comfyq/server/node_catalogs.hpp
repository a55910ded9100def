#pragma once
// The nodes the workers' ComfyUIs have, as one catalog: what the per-tenant ComfyUI API
// validates prompts against and serves as GET /object_info. Each worker publishes its ComfyUI's
// /object_info once, under its sha256 (worker_info::object_info); the catalog is the union of
// those of the workers the queue knows, rebuilt only when that set of documents changes. A
// class that workers define differently keeps the first definition (by worker id), and is
// listed in `differing` so that the API can say so.

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "comfyq/comfyui/node_catalog.hpp"
#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::server {

/// The union of the workers' node catalogs.
struct workers_catalog {
  comfyui::node_catalog nodes{comfyui::ordered_json::object()};
  std::vector<std::string> differing{};  ///< classes whose definition differs between workers
  std::size_t documents = 0;              ///< how many different /object_info documents it joins
};

class node_catalogs {
 public:
  explicit node_catalogs(store::contract& store) : store_(store) {}

  /// The catalog of the workers in `snapshot` (empty when none has published one).
  std::shared_ptr<const workers_catalog> of(const queue_snapshot& snapshot) {
    std::vector<std::string> shas;
    for (const worker_snapshot& w : snapshot.workers) {
      if (!w.object_info.empty() && std::find(shas.begin(), shas.end(), w.object_info) == shas.end()) {
        shas.push_back(w.object_info);
      }
    }
    const std::lock_guard lock(mutex_);
    if (current_ && shas == shas_) return current_;
    comfyui::ordered_json joined = comfyui::ordered_json::object();
    std::set<std::string> differing;
    std::size_t documents = 0;
    for (const std::string& sha : shas) {
      const std::optional<std::string> document = store_.object_info(sha);
      if (!document) continue;
      const comfyui::ordered_json info = comfyui::ordered_json::parse(*document, nullptr, false);
      if (!info.is_object()) continue;
      ++documents;
      for (const auto& [name, definition] : info.items()) {
        if (!joined.contains(name)) {
          joined[name] = definition;
        } else if (joined[name] != definition) {
          differing.insert(name);
        }
      }
    }
    auto next = std::make_shared<workers_catalog>();
    next->nodes = comfyui::node_catalog(std::move(joined));
    next->differing.assign(differing.begin(), differing.end());
    next->documents = documents;
    if (documents < shas.size()) return next;  // not kept: the next reading tries again
    shas_ = std::move(shas);
    current_ = std::move(next);
    return current_;
  }

 private:
  store::contract& store_;
  std::mutex mutex_;
  std::vector<std::string> shas_;  ///< the documents current_ joins, in worker order
  std::shared_ptr<const workers_catalog> current_;
};

}  // namespace comfyq::server
