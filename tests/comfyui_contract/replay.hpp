#pragma once
// Replays a recorded transcript against the stand-in: opens and closes the same sockets,
// sends the same requests in the same order, and compares every answer and every frame
// each socket received with the recording (see json_shape.hpp for what "the same" means).
//
// Before each request it waits until every socket has received the frames recorded before
// that request, so that requests see the state they saw when recorded (a job finished, a
// job still running). The one frame a POST /prompt itself causes (the status of the queue
// growing) may be recorded just before it, and is not waited for. POST /prompt numbers are
// server-wide counters; the replay raises the stand-in's counter to the recorded value
// first, the way ComfyUI's own counter rises: with rejected prompts.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "comfyui_contract/json_shape.hpp"
#include "comfyui_contract/recordings.hpp"
#include "comfyui_standin/standin.hpp"
#include "comfyui_standin/test_client.hpp"

namespace comfyq::testing::contract {

enum class frame_order {
  strict,     // a socket's frames in exactly the recorded order
  by_prompt,  // the order within each job and among frames of no job; jobs and queue-status
              // updates may interleave differently (they race in ComfyUI too)
};

struct replay_options {
  frame_order order{frame_order::strict};
  /// The request to send for an HTTP event; nullopt: skip the event (not reproducible).
  /// Default: the recorded request.
  std::function<std::optional<http_call>(const json& event)> request_for{};
  /// How to compare the answer to an HTTP event. Default: values, after normalising.
  std::function<comparison(const json& event)> rules_for{};
  /// The stand-in's prompt counter when the replay starts.
  long long counter{0};
  std::chrono::milliseconds wait{std::chrono::seconds(15)};
};

namespace replay_detail {

inline std::uint32_t u32_at(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4 && at + i < bytes.size(); ++i) value = (value << 8U) | static_cast<std::uint8_t>(bytes[at + i]);
  return value;
}

inline std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += digits[static_cast<std::uint8_t>(c) >> 4U];
    out += digits[static_cast<std::uint8_t>(c) & 0xFU];
  }
  return out;
}

/// A frame reduced to what is compared: text frames as JSON; binary frames as their
/// header (event type, image format or metadata, node id and text) and the image's magic.
inline json describe_frame(bool binary, const std::string& data) {
  if (!binary) return json::parse(data);
  const std::uint32_t type = u32_at(data, 0);
  json out{{"binary_type", type}};
  if (type == 1) {
    out["image_format"] = u32_at(data, 4);
    out["image_magic"] = hex(data.substr(8, 4));
  } else if (type == 3) {
    const std::uint32_t length = u32_at(data, 4);
    out["node_id"] = data.substr(8, length);
    out["text"] = data.substr(8 + length);
  } else if (type == 4) {
    const std::uint32_t length = u32_at(data, 4);
    out["metadata"] = json::parse(data.substr(8, length));
    out["image_magic"] = hex(data.substr(8 + length, 4));
  }
  return out;
}

/// The job a frame belongs to ("" for none): its prompt_id, or for a frame without one
/// (a type-1 preview, progress text) the job of the frame before it.
inline std::string job_of(const json& described, const std::string& previous) {
  if (described.contains("binary_type")) {
    return described.contains("metadata") ? described.at("metadata").value("prompt_id", "") : previous;
  }
  const json& data = described.value("data", json::object());
  if (data.is_object() && data.contains("prompt_id") && data.at("prompt_id").is_string()) {
    return data.at("prompt_id").get<std::string>();
  }
  return described.value("type", "") == "status" || described.value("type", "") == "feature_flags" ? "" : previous;
}

struct socket_record {
  std::unique_ptr<ws_client> client{};
  std::vector<json> expected{};  // described recorded frames
  std::vector<json> actual{};    // described received frames
  std::size_t learned{};         // frames searched for names to translate
  bool ended{};
};

class replayer {
 public:
  replayer(comfyui_standin& standin, replay_options options) : standin_(standin), options_(std::move(options)) {}

  std::vector<std::string> run(const std::vector<json>& transcript) {
    for (const auto& event : transcript) {
      const std::string direction = event.at("dir").get<std::string>();
      if (direction == "ws-open") {
        sockets_[tag_of(event)].client = std::make_unique<ws_client>(standin_.port(), event.at("url").get<std::string>());
      } else if (direction == "ws->server") {
        sockets_.at(tag_of(event)).client->send_text(event.at("data").dump());
      } else if (direction == "server->ws") {
        sockets_.at(tag_of(event)).expected.push_back(recorded_frame(event));
      } else if (direction == "ws-close") {
        auto& socket = sockets_.at(tag_of(event));
        collect(tag_of(event), socket.expected.size(), "before it closes");
        socket.client->close();
      } else if (direction == "http") {
        replay_http(event);
      }
    }
    for (auto& [tag, socket] : sockets_) collect(tag, socket.expected.size(), "by the end");
    for (auto& [tag, socket] : sockets_) {
      // Anything more than recorded must show up too.
      while (!socket.ended) {
        if (!receive(tag, std::chrono::milliseconds(300))) break;
      }
      compare_frames(tag, socket);
    }
    return differences_;
  }

 private:
  static std::string tag_of(const json& event) { return event.at("ws").get<std::string>(); }

  static json recorded_frame(const json& event) {
    if (event.at("kind") == "text") return event.at("data");
    return describe_frame(true, recording_bytes(event.at("file").get<std::string>()));
  }

  /// Takes one frame off the socket; false on a timeout.
  bool receive(const std::string& tag, std::chrono::milliseconds timeout) {
    auto& socket = sockets_.at(tag);
    const auto frame = socket.client->next_frame(timeout);
    if (!frame) return false;
    if (frame->ended) {
      socket.ended = true;
      return false;
    }
    socket.actual.push_back(describe_frame(frame->binary, frame->data));
    return true;
  }

  void collect(const std::string& tag, std::size_t count, const std::string& when) {
    auto& socket = sockets_.at(tag);
    const auto deadline = std::chrono::steady_clock::now() + options_.wait;
    while (socket.actual.size() < count && !socket.ended && std::chrono::steady_clock::now() < deadline) {
      receive(tag, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    }
    if (socket.actual.size() < count) {
      differences_.push_back("socket " + tag + ": " + std::to_string(count) + " frames expected " + when + ", got " +
                             std::to_string(socket.actual.size()));
    }
  }

  static bool is_prompt_post(const json& request) {
    return request.at("method") == "POST" && (request.at("path") == "/prompt" || request.at("path") == "/api/prompt");
  }

  /// The frames a socket must have before `request` is sent (see the header comment).
  static std::size_t frames_before(const socket_record& socket, const json& request) {
    std::size_t count = socket.expected.size();
    if (!is_prompt_post(request) || count == 0 || socket.expected.back().value("type", "") != "status") return count;
    const auto remaining = [](const json& frame) {
      return frame.at("data").at("status").at("exec_info").at("queue_remaining").get<long long>();
    };
    for (std::size_t i = count - 1; i-- > 0;) {
      if (socket.expected[i].value("type", "") == "status") {
        return remaining(socket.expected.back()) > remaining(socket.expected[i]) ? count - 1 : count;
      }
    }
    return count;
  }

  void replay_http(const json& event) {
    const json& request = event.at("request");
    const std::string label = request.value("label", request.at("method").get<std::string>() + " " +
                                                          request.at("path").get<std::string>());
    for (auto& [tag, socket] : sockets_) {
      collect(tag, frames_before(socket, request), "before \"" + label + "\"");
      learn_names(socket);
    }

    std::optional<http_call> call = options_.request_for ? options_.request_for(event) : recorded_call(event);
    if (!call) return;
    if (is_prompt_post(request)) align_counter(event);
    call->target = with_actual_ids(call->target);
    call->body = with_actual_ids(call->body);
    const http_reply reply = send_http(standin_.port(), *call);
    if (is_prompt_post(request)) {
      if (request.contains("json") && !request.at("json").contains("number")) ++counter_;
      learn_id(event.at("response"), reply);
    }
    compare_answer(label, event.at("response"), reply, options_.rules_for ? options_.rules_for(event) : comparison{});
  }

  /// A prompt_id the recorded server chose stands for the one the stand-in chose.
  void learn_id(const json& recorded, const http_reply& reply) {
    const json& recorded_body = recorded.value("json", json());
    if (reply.status != 200 || !recorded_body.is_object() || !recorded_body.contains("prompt_id")) return;
    const std::string recorded_id = recorded_body.at("prompt_id").get<std::string>();
    const std::string actual_id = reply.json().at("prompt_id").get<std::string>();
    if (recorded_id != actual_id) actual_ids_[recorded_id] = actual_id;
  }

  /// PreviewImage's random file names, as the recorded and the received frames show them.
  void learn_names(socket_record& socket) {
    static const std::regex temp_name("ComfyUI_temp_[a-z]{5}_");
    for (; socket.learned < std::min(socket.expected.size(), socket.actual.size()); ++socket.learned) {
      const std::string expected = socket.expected[socket.learned].dump();
      const std::string actual = socket.actual[socket.learned].dump();
      auto recorded_name = std::sregex_iterator(expected.begin(), expected.end(), temp_name);
      auto actual_name = std::sregex_iterator(actual.begin(), actual.end(), temp_name);
      for (; recorded_name != std::sregex_iterator() && actual_name != std::sregex_iterator(); ++recorded_name, ++actual_name) {
        actual_ids_[recorded_name->str()] = actual_name->str();
      }
    }
  }

  std::string with_actual_ids(std::string text) const {
    for (const auto& [recorded, actual] : actual_ids_) {
      for (std::size_t at = text.find(recorded); at != std::string::npos; at = text.find(recorded, at + actual.size())) {
        text.replace(at, recorded.size(), actual);
      }
    }
    return text;
  }

  static std::optional<http_call> recorded_call(const json& event) {
    const json& request = event.at("request");
    http_call call{request.at("method").get<std::string>(), request.at("path").get<std::string>()};
    if (request.contains("json")) {
      call.body = request.at("json").dump();
      call.content_type = "application/json";
    } else if (request.contains("raw_body")) {
      call.body = request.at("raw_body").get<std::string>();
      call.content_type = "application/json";
    }
    return call;
  }

  /// Rejected prompts raise ComfyUI's counter too: send empty ones up to the recorded number.
  void align_counter(const json& event) {
    const json& request = event.at("request");
    const json& answer = event.at("response").value("json", json());
    if (!request.contains("json") || request.at("json").contains("number") || !answer.is_object() ||
        !answer.contains("number") || !answer.at("number").is_number_integer()) {
      return;
    }
    const long long recorded = std::abs(answer.at("number").get<long long>());
    for (; counter_ < recorded; ++counter_) http_post_json(standin_.port(), "/prompt", json{{"prompt", json::object()}});
  }

  void compare_answer(const std::string& label, const json& recorded, const http_reply& reply, const comparison& rules) {
    const auto differ = [&](const std::string& what) { differences_.push_back("\"" + label + "\": " + what); };
    if (reply.status != recorded.at("status").get<unsigned>()) {
      differ("status " + std::to_string(reply.status) + ", recorded " + recorded.at("status").dump());
    }
    const json& headers = recorded.at("headers");
    for (const char* name : {"Content-Type", "Content-Disposition"}) {
      if (!headers.contains(name)) continue;
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string expected = expected_norm_.text(headers.at(name).get<std::string>());
      const std::string actual = actual_norm_.text(reply.header(lower));
      if (expected != actual) differ(std::string(name) + " \"" + actual + "\", recorded \"" + expected + "\"");
    }
    for (const char* name : {"Etag", "Last-Modified", "Accept-Ranges"}) {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (headers.contains(name) && reply.header(lower).empty()) differ(std::string("no ") + name + " header");
    }
    if (recorded.contains("json")) {
      json actual;
      try {
        actual = reply.json();
      } catch (const std::exception&) {
        differ("body is not JSON: " + reply.body.substr(0, 200));
        return;
      }
      for (const auto& difference : compare_json(expected_norm_(recorded.at("json")), actual_norm_(actual), rules)) {
        differ(difference);
      }
    } else if (recorded.contains("text")) {
      if (reply.body != recorded.at("text").get<std::string>()) differ("body \"" + reply.body + "\"");
    } else if (recorded.value("body_len", 0) == 0) {
      if (!reply.body.empty()) differ("a body of " + std::to_string(reply.body.size()) + " bytes, recorded none");
    } else {
      const std::string magic = recorded.at("body_head_hex").get<std::string>().substr(0, 16);
      if (hex(reply.body.substr(0, 8)) != magic) differ("body starts " + hex(reply.body.substr(0, 8)) + ", recorded " + magic);
    }
  }

  void compare_frames(const std::string& tag, socket_record& socket) {
    const auto differ = [&](const std::string& what) { differences_.push_back("socket " + tag + ": " + what); };
    if (socket.expected.size() != socket.actual.size()) {
      differ(std::to_string(socket.actual.size()) + " frames, recorded " + std::to_string(socket.expected.size()) +
             "\n  recorded: " + kinds(socket.expected) + "\n  received: " + kinds(socket.actual));
      return;
    }
    if (options_.order == frame_order::strict) {
      compare_sequences(tag, socket.expected, socket.actual);
      return;
    }
    const auto by_job = [](const std::vector<json>& frames) {
      std::vector<std::pair<std::string, std::vector<json>>> jobs;
      std::string current;
      for (const auto& frame : frames) {
        current = job_of(frame, current);
        auto found = std::find_if(jobs.begin(), jobs.end(), [&](const auto& job) { return job.first == current; });
        if (found == jobs.end()) found = jobs.insert(jobs.end(), {current, {}});
        found->second.push_back(frame);
        if (frame.value("type", "") == "executing" && frame.at("data").value("node", json()).is_null()) current.clear();
      }
      return jobs;
    };
    const auto expected_jobs = by_job(socket.expected);
    const auto actual_jobs = by_job(socket.actual);
    if (expected_jobs.size() != actual_jobs.size()) {
      differ(std::to_string(actual_jobs.size()) + " jobs, recorded " + std::to_string(expected_jobs.size()));
      return;
    }
    for (std::size_t i = 0; i < expected_jobs.size(); ++i) {
      const std::string expected_job = expected_norm_.text(expected_jobs[i].first);
      const std::string actual_job = actual_norm_.text(actual_jobs[i].first);
      if (expected_job != actual_job) differ("job #" + std::to_string(i) + " is " + actual_job + ", recorded " + expected_job);
      compare_sequences(tag + " job " + expected_job, expected_jobs[i].second, actual_jobs[i].second);
    }
  }

  static std::string kinds(const std::vector<json>& frames) {
    std::string out;
    for (const auto& frame : frames) {
      out += (out.empty() ? "" : " ") +
             (frame.contains("binary_type") ? "binary" + frame.at("binary_type").dump() : frame.value("type", "?"));
    }
    return out;
  }

  void compare_sequences(const std::string& what, const std::vector<json>& expected, const std::vector<json>& actual) {
    if (kinds(expected) != kinds(actual)) {
      differences_.push_back(what + ": frames differ\n  recorded: " + kinds(expected) + "\n  received: " + kinds(actual));
      return;
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
      for (const auto& difference : compare_json(expected_norm_(expected[i]), actual_norm_(actual[i]))) {
        differences_.push_back(what + " frame " + std::to_string(i) + " (" + kinds({expected[i]}) + "): " + difference);
      }
    }
  }

  comfyui_standin& standin_;
  replay_options options_;
  std::map<std::string, socket_record> sockets_;
  normaliser expected_norm_;
  normaliser actual_norm_;
  long long counter_{options_.counter};
  std::map<std::string, std::string> actual_ids_;  // recorded server-chosen ids and names -> ours
  std::vector<std::string> differences_;
};

}  // namespace replay_detail

/// Replays `transcript` against `standin`; the differences from the recording, one per line.
inline std::vector<std::string> replay(const std::vector<json>& transcript, comfyui_standin& standin,
                                       replay_options options = {}) {
  return replay_detail::replayer(standin, std::move(options)).run(transcript);
}

}  // namespace comfyq::testing::contract
