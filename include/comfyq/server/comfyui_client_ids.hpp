#pragma once
// The client_id each prompt came with (POST /prompt {"client_id"}), which ComfyUI shows in a
// prompt's extra_data (GET /queue, /history, /api/jobs). Only a client that is connected needs
// it, so it is kept in memory, for the most recent prompts: after a restart, or for prompts
// long gone, extra_data has no client_id.

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace comfyq::server {

class comfyui_client_ids {
 public:
  explicit comfyui_client_ids(std::size_t kept = 100'000) : kept_(kept) {}

  void remember(const std::string& prompt, const std::string& client) {
    const std::lock_guard lock(mutex_);
    if (!clients_.insert_or_assign(prompt, client).second) return;
    order_.push_back(prompt);
    if (order_.size() > kept_) {
      clients_.erase(order_.front());
      order_.pop_front();
    }
  }

  /// The prompt's client_id; "" when it came without one, or long ago.
  std::string of(std::string_view prompt) const {
    const std::lock_guard lock(mutex_);
    const auto found = clients_.find(prompt);
    return found == clients_.end() ? std::string() : found->second;
  }

 private:
  std::size_t kept_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> clients_;
  std::deque<std::string> order_;
};

}  // namespace comfyq::server
