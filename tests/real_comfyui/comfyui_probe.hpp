#pragma once
// What a test asks the real ComfyUI itself (its queue, its history), through curl: a client of
// its own, so that what the test sees does not depend on the comfyq client under test.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "real_comfyui/real_comfyui.hpp"

namespace comfyq::testing::real {

struct http_reply {
  int status = 0;  ///< 0 when no answer came (curl's message is then the body)
  std::string body;
};

/// One request with curl (at most 15 s); `body`, when given, is POSTed as JSON.
inline http_reply curl(const std::string& url, const std::optional<nlohmann::json>& body = std::nullopt) {
  std::vector<std::string> arguments{"curl", "-sS", "--max-time", "15", "-w", "\n%{http_code}"};
  if (body) arguments.insert(arguments.end(), {"-H", "Content-Type: application/json", "--data-binary", body->dump()});
  arguments.push_back(url);
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("curl: pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, "curl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot run curl (scripts/install-deps installs it)");
  }
  std::string printed;
  char buffer[4096];
  for (ssize_t count; (count = ::read(out[0], buffer, sizeof buffer)) != 0;) {
    if (count < 0) {
      if (errno == EINTR) continue;
      break;
    }
    printed.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(out[0]);
  ::waitpid(pid, nullptr, 0);

  const std::size_t newline = printed.rfind('\n');
  http_reply reply;
  reply.body = printed.substr(0, newline == std::string::npos ? 0 : newline);
  if (newline != std::string::npos) reply.status = std::atoi(printed.c_str() + newline + 1);
  return reply;
}

/// GET `target` as JSON; throws std::runtime_error unless ComfyUI answers 200 with JSON.
inline nlohmann::json get_json(const real_comfyui& comfyui, const std::string& target) {
  const http_reply reply = curl(comfyui.url() + target);
  nlohmann::json parsed = nlohmann::json::parse(reply.body, nullptr, false);
  if (reply.status != 200 || parsed.is_discarded()) {
    throw std::runtime_error("GET " + target + " answered " + std::to_string(reply.status) + ": " + reply.body);
  }
  return parsed;
}

/// POST `body` to `target`; throws std::runtime_error unless ComfyUI answers 200.
inline void post_json(const real_comfyui& comfyui, const std::string& target, const nlohmann::json& body) {
  const http_reply reply = curl(comfyui.url() + target, body);
  if (reply.status != 200) {
    throw std::runtime_error("POST " + target + " answered " + std::to_string(reply.status) + ": " + reply.body);
  }
}

/// The prompt ids of ComfyUI's GET /queue: each entry is [number, prompt_id, prompt, extra_data, outputs].
struct queue_state {
  std::vector<std::string> running;
  std::vector<std::string> pending;

  bool empty() const noexcept { return running.empty() && pending.empty(); }
  bool runs(const std::string& prompt_id) const {
    return std::find(running.begin(), running.end(), prompt_id) != running.end();
  }
  std::string describe() const {
    return "running " + nlohmann::json(running).dump() + ", pending " + nlohmann::json(pending).dump();
  }
};

inline queue_state read_queue(const real_comfyui& comfyui) {
  const nlohmann::json queue = get_json(comfyui, "/queue");
  queue_state state;
  for (const auto& entry : queue.at("queue_running")) state.running.push_back(entry.at(1).get<std::string>());
  for (const auto& entry : queue.at("queue_pending")) state.pending.push_back(entry.at(1).get<std::string>());
  return state;
}

/// Polls `done(queue)` every 50 ms for at most `timeout`; the last queue seen, and whether it was done.
template <class Done>
std::pair<bool, queue_state> wait_for_queue(const real_comfyui& comfyui, std::chrono::milliseconds timeout, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    queue_state state = read_queue(comfyui);
    if (done(state)) return {true, std::move(state)};
    if (std::chrono::steady_clock::now() > deadline) return {false, std::move(state)};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

/// ComfyUI's /history entry of `prompt_id`, or null when it has none.
inline nlohmann::json history_of(const real_comfyui& comfyui, const std::string& prompt_id) {
  const nlohmann::json history = get_json(comfyui, "/history/" + prompt_id);
  return history.contains(prompt_id) ? history.at(prompt_id) : nlohmann::json();
}

/// The types of the status messages of a /history entry ("execution_start", "execution_interrupted", ...).
inline std::vector<std::string> status_messages(const nlohmann::json& entry) {
  std::vector<std::string> types;
  if (!entry.is_object() || !entry.contains("status")) return types;
  for (const auto& message : entry.at("status").value("messages", nlohmann::json::array())) {
    types.push_back(message.at(0).get<std::string>());
  }
  return types;
}

/// Leaves ComfyUI idle: whatever an earlier test left queued is dropped and what runs is
/// interrupted, so that one test's leftovers never hold up the next. Throws if it stays busy.
inline void settle(const real_comfyui& comfyui) {
  if (read_queue(comfyui).empty()) return;
  post_json(comfyui, "/queue", {{"clear", true}});
  post_json(comfyui, "/interrupt", nlohmann::json::object());
  // ComfyUI interrupts between nodes: a running ImageBlur finishes first.
  const auto [idle, last] = wait_for_queue(comfyui, std::chrono::minutes(2), [](const queue_state& q) { return q.empty(); });
  if (!idle) throw std::runtime_error("ComfyUI stayed busy for 2 minutes after an interrupt: " + last.describe());
}

}  // namespace comfyq::testing::real
