#pragma once
// The job routes: POST /prompt (validate, number, queue), GET /prompt, GET/POST /queue,
// POST /interrupt, GET/POST /history, GET /history/{id}, POST /free.

#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "comfyq/comfyui/prompt_validation.hpp"
#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

/// str(uuid.uuid4()), or its .hex without dashes.
inline std::string uuid4(bool with_dashes = true) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uint64_t high = random();
  std::uint64_t low = random();
  high = (high & ~0xF000ULL) | 0x4000ULL;                 // version 4
  low = (low & ~(0xC0ULL << 56U)) | (0x80ULL << 56U);    // RFC 4122 variant
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    const std::uint64_t word = i < 16 ? high : low;
    out += digits[(word >> (60 - 4 * (i % 16))) & 0xFU];
    if (with_dashes && (i == 7 || i == 11 || i == 15 || i == 19)) out += '-';
  }
  return out;
}

inline http_response post_prompt(const server_context& context, const http_request& request) {
  const auto body = json_body(request);
  if (!body || !body->is_object()) return internal_error(request);
  server_state& state = context.state;

  json number;
  std::string invalid_node;
  {
    const std::lock_guard lock(state.mutex);
    if (body->contains("number")) {
      try {
        number = comfyui::detail::validation::to_float(body->at("number"));
      } catch (const comfyui::detail::validation::python_exception&) {
        return internal_error(request);
      }
    } else {
      const bool front = body->contains("front") && comfyui::detail::validation::truthy(body->at("front"));
      number = front ? -state.counter : state.counter;
      ++state.counter;
    }
    invalid_node = state.knobs.invalid_node;
  }
  if (!body->contains("prompt")) {
    return json_response(request,
                         json{{"error", {{"type", "no_prompt"}, {"message", "No prompt provided"},
                                         {"details", "No prompt provided"}, {"extra_info", json::object()}}},
                              {"node_errors", json::object()}},
                         http::status::bad_request);
  }
  const json& prompt = body->at("prompt");
  if (!prompt.is_object()) return internal_error(request);
  const std::string prompt_id = body->contains("prompt_id") ? python_str(body->at("prompt_id")) : uuid4();

  const auto upload_exists = [&](const std::string& name) {
    return std::filesystem::exists(context.folders.upload_path(name));
  };
  // The invalid_node knob (behaviour.hpp) fails the nodes it selects as their own validation would.
  const auto knob = [&](std::string_view id, std::string_view class_type) -> std::optional<std::string> {
    if (!selects(invalid_node, id, class_type)) return std::nullopt;
    return "rejected by comfyui-standin (invalid_node)";
  };
  // The recording host had no models, so every model list is empty: any name is taken there,
  // which lets tests run real graphs (a checkpoint loader) as if the model were installed.
  comfyui::validation_result validation =
      comfyui::prompt_validator(prompt, context.catalog,
                                {.upload_exists = upload_exists, .node_check = knob, .any_choice_when_none_listed = true})
          .run(body->value("partial_execution_targets", json()));

  json extra_data = body->value("extra_data", json::object());
  if (!extra_data.is_object()) return internal_error(request);
  if (body->contains("client_id")) extra_data["client_id"] = body->at("client_id");
  if (!validation.ok) {
    return json_response(request, json{{"error", validation.error}, {"node_errors", validation.node_errors}},
                         http::status::bad_request);
  }
  // Credentials for paid API nodes never reach the queue or the history.
  extra_data.erase("auth_token_comfy_org");
  extra_data.erase("api_key_comfy_org");
  extra_data["create_time"] = epoch_ms();
  {
    const std::lock_guard lock(state.mutex);
    state.pending.push(queue_item{.number = number,
                                  .prompt_id = prompt_id,
                                  .prompt = validation.prompt,
                                  .extra_data = extra_data,
                                  .outputs = validation.outputs,
                                  .sequence = state.next_sequence++});
    context.broadcast_status();
  }
  state.wake.notify_all();
  return json_response(request,
                       json{{"prompt_id", prompt_id}, {"number", number}, {"node_errors", validation.node_errors}});
}

inline http_response get_prompt(const server_context& context, const http_request& request) {
  const std::lock_guard lock(context.state.mutex);
  return json_response(request, json{{"exec_info", {{"queue_remaining", context.state.queue_remaining()}}}});
}

inline http_response get_queue(const server_context& context, const http_request& request) {
  const std::lock_guard lock(context.state.mutex);
  json running = json::array();
  if (context.state.running) running.push_back(context.state.running->as_tuple());
  json pending = json::array();
  for (const auto& item : context.state.pending.items()) pending.push_back(item.as_tuple());
  return json_response(request, json{{"queue_running", running}, {"queue_pending", pending}});
}

/// POST /queue {"clear": true} and/or {"delete": [prompt_id, ...]}: pending jobs only.
inline http_response post_queue(const server_context& context, const http_request& request) {
  const auto body = json_body(request);
  if (!body || !body->is_object()) return internal_error(request);
  const std::lock_guard lock(context.state.mutex);
  if (body->contains("clear") && comfyui::detail::validation::truthy(body->at("clear"))) {
    context.state.pending.clear();
    context.broadcast_status();
  }
  if (body->contains("delete") && body->at("delete").is_array()) {
    for (const auto& id : body->at("delete")) {
      if (context.state.pending.remove_first(python_str(id))) context.broadcast_status();
    }
  }
  return empty_response(request);
}

/// POST /interrupt [{"prompt_id": X}]: a cooperative interrupt of the running job (of X only
/// if X is running); without a prompt_id, of whatever runs.
inline http_response post_interrupt(const server_context& context, const http_request& request) {
  const json body = json_body(request).value_or(json::object());
  const json prompt_id = body.is_object() ? body.value("prompt_id", json()) : json();
  {
    const std::lock_guard lock(context.state.mutex);
    const bool targeted = comfyui::detail::validation::truthy(prompt_id);
    if (!targeted || (context.state.running && context.state.running->prompt_id == python_str(prompt_id))) {
      context.state.interrupt_requested = true;
    }
  }
  context.state.wake.notify_all();
  return empty_response(request);
}

inline http_response get_history(const server_context& context, const http_request& request,
                                  const request_target& target) {
  std::optional<std::size_t> max_items;
  std::optional<long long> offset;
  try {
    if (const auto value = target.param("max_items")) max_items = std::stoul(*value);
    if (const auto value = target.param("offset")) offset = std::stoll(*value);
  } catch (const std::logic_error&) {
    return internal_error(request);
  }
  const std::lock_guard lock(context.state.mutex);
  return json_response(request, context.state.history.view(max_items, offset));
}

inline http_response get_history_entry(const server_context& context, const http_request& request,
                                        const std::string& prompt_id) {
  const std::lock_guard lock(context.state.mutex);
  json out = json::object();
  if (const json* entry = context.state.history.find(prompt_id)) out[prompt_id] = *entry;
  return json_response(request, out);
}

/// POST /history {"clear": true} and/or {"delete": [prompt_id, ...]}.
inline http_response post_history(const server_context& context, const http_request& request) {
  const auto body = json_body(request);
  if (!body || !body->is_object()) return internal_error(request);
  const std::lock_guard lock(context.state.mutex);
  if (body->contains("clear") && comfyui::detail::validation::truthy(body->at("clear"))) context.state.history.clear();
  if (body->contains("delete") && body->at("delete").is_array()) {
    for (const auto& id : body->at("delete")) context.state.history.erase(python_str(id));
  }
  return empty_response(request);
}

/// POST /free: there are no models to unload.
inline http_response post_free(const http_request& request) {
  if (!json_body(request)) return internal_error(request);
  return empty_response(request);
}

}  // namespace comfyq::testing::standin
