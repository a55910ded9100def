#pragma once
// POST /prompt validation against a node catalog (node_catalog.hpp), reproducing ComfyUI
// 0.8.0's validate_prompt: the error types, messages and extra_info of its 400 answers,
// including its quirks (an exception in a linked node is reported under that node with the
// *caller's* input, a partial accept drops only the invalid outputs). Literal inputs are
// converted in place (an INT given as "64" is queued and echoed as 64), as ComfyUI does.
// comfyq-server validates each tenant's prompts with it before they join the queue, against the
// nodes its workers' ComfyUIs publish; the tests' ComfyUI stand-in validates with it too.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/comfyui/node_catalog.hpp"
#include "comfyq/comfyui/python_text.hpp"

namespace comfyq::comfyui {

struct validation_result {
  bool ok{};
  ordered_json error{};  ///< the "error" object of a rejection
  ordered_json node_errors = ordered_json::object();
  std::vector<std::string> outputs{};  ///< output nodes that will run (outputs_to_execute)
  ordered_json prompt{};               ///< the graph with literal inputs converted
};

struct validation_rules {
  /// Whether a LoadImage-style upload name ("sub/x.png", "x.png [output]") names a file; none:
  /// every name does.
  std::function<bool(const std::string&)> upload_exists{};
  /// A further check of each node (node id, class_type): why it fails, or nothing. A failure is
  /// custom_validation_failed on the node's first input, as a node's own VALIDATE_INPUTS is.
  std::function<std::optional<std::string>(std::string_view, std::string_view)> node_check{};
  /// A combo whose list of choices is empty takes any value (a catalog recorded on a machine
  /// without models); ComfyUI itself refuses every value there.
  bool any_choice_when_none_listed = false;
};

namespace detail::validation {

/// A Python exception raised while validating (KeyError, IndexError, TypeError ...).
struct python_exception {
  std::string type{};
  std::string message{};
  ordered_json traceback = ordered_json::array();
};

// The frames ComfyUI 0.8.0 printed for the two exceptions the recordings show.
inline ordered_json missing_node_traceback() {
  return ordered_json::array({
      "  File \"<comfyui>/execution.py\", line 838, in validate_inputs\n    r = await validate_inputs(prompt_id, "
      "prompt, o_id, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
      "  File \"<comfyui>/execution.py\", line 818, in validate_inputs\n    o_class_type = "
      "prompt[o_id]['class_type']\n                   ~~~~~~^^^^^^\n",
  });
}

inline ordered_json missing_slot_traceback() {
  return ordered_json::array({
      "  File \"<comfyui>/execution.py\", line 838, in validate_inputs\n    r = await validate_inputs(prompt_id, "
      "prompt, o_id, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
      "  File \"<comfyui>/execution.py\", line 820, in validate_inputs\n    received_type = r[val[1]]\n"
      "                    ~^^^^^^^^\n",
  });
}

inline std::string python_type_name(const ordered_json& value) {
  switch (value.type()) {
    case ordered_json::value_t::null: return "NoneType";
    case ordered_json::value_t::boolean: return "bool";
    case ordered_json::value_t::string: return "str";
    case ordered_json::value_t::array: return "list";
    case ordered_json::value_t::object: return "dict";
    case ordered_json::value_t::number_float: return "float";
    default: return "int";
  }
}

inline std::string strip(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n\r\f\v");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\n\r\f\v") - first + 1));
}

/// int(value); throws python_exception as Python would.
inline ordered_json to_int(const ordered_json& value) {
  if (value.is_number_float()) return static_cast<long long>(std::trunc(value.get<double>()));
  if (value.is_number() || value.is_boolean()) return value.is_boolean() ? ordered_json(value.get<bool>() ? 1 : 0) : value;
  if (value.is_string()) {
    std::string digits = strip(value.get<std::string>());
    std::string cleaned;
    bool ok = !digits.empty();
    for (std::size_t i = 0; ok && i < digits.size(); ++i) {
      const char c = digits[i];
      if (std::isdigit(static_cast<unsigned char>(c)) || (i == 0 && (c == '+' || c == '-'))) {
        cleaned += c;
      } else if (c == '_' && i > 0 && i + 1 < digits.size() && std::isdigit(static_cast<unsigned char>(digits[i - 1])) &&
                 std::isdigit(static_cast<unsigned char>(digits[i + 1]))) {
        continue;
      } else {
        ok = false;
      }
    }
    if (ok && cleaned.find_first_of("0123456789") != std::string::npos) return std::stoll(cleaned);
    throw python_exception{.type = "ValueError",
                           .message = "invalid literal for int() with base 10: " + python_repr(value)};
  }
  throw python_exception{.type = "TypeError",
                         .message = "int() argument must be a string, a bytes-like object or a real number, not '" +
                                    python_type_name(value) + "'"};
}

/// float(value); throws python_exception as Python would.
inline ordered_json to_float(const ordered_json& value) {
  if (value.is_boolean()) return value.get<bool>() ? 1.0 : 0.0;
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string text = strip(value.get<std::string>());
    char* end = nullptr;
    const double parsed = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) return parsed;
    throw python_exception{.type = "ValueError",
                           .message = "could not convert string to float: " + python_repr(value)};
  }
  throw python_exception{.type = "TypeError", .message = "float() argument must be a string or a real number, not '" +
                                                         python_type_name(value) + "'"};
}

/// bool(value): Python truthiness.
inline bool truthy(const ordered_json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number()) return value.get<double>() != 0.0;
  if (value.is_string() || value.is_array() || value.is_object()) return !value.empty();
  return false;
}

/// validate_node_input: may a link of `received` feed an input of type `expected`?
inline bool types_compatible(const ordered_json& received, const ordered_json& expected) {
  if (received == expected) return true;
  if (!received.is_string() || !expected.is_string()) return false;
  const auto split = [](const std::string& types) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= types.size()) {
      const std::size_t end = std::min(types.find(',', start), types.size());
      parts.push_back(strip(std::string_view(types).substr(start, end - start)));
      start = end + 1;
    }
    return parts;
  };
  const auto received_types = split(received.get<std::string>());
  const auto expected_types = split(expected.get<std::string>());
  for (const auto& r : received_types) {
    if (r == "*") return true;
    for (const auto& e : expected_types) {
      if (e == "*" || e == r) return true;
    }
  }
  for (const auto& e : expected_types) {
    if (e == "*") return true;
  }
  return false;
}

/// The file kind an upload input checks ("image" for LoadImage), or "" for other inputs.
inline std::string upload_kind(const input_spec& spec) {
  for (const char* kind : {"image", "video", "audio"}) {
    if (spec.options.value(std::string(kind) + "_upload", false)) return kind;
  }
  return "";
}

/// The choices of a combo input; nullopt when the input is not a combo.
inline std::optional<ordered_json> combo_choices(const input_spec& spec) {
  if (spec.type.is_array()) return spec.type;
  if (spec.type == "COMBO") return spec.options.value("options", ordered_json::array());
  return std::nullopt;
}

}  // namespace detail::validation

class prompt_validator {
 public:
  prompt_validator(ordered_json prompt, const node_catalog& catalog, validation_rules rules)
      : prompt_(std::move(prompt)), catalog_(catalog), rules_(std::move(rules)) {}

  /// validate_prompt(prompt, partial_execution_targets).
  validation_result run(const ordered_json& partial_targets) {
    using detail::validation::python_exception;
    validation_result result;
    std::vector<std::string> outputs;
    for (const auto& [id, node] : prompt_.items()) {
      if (!node.contains("class_type")) {
        return reject(invalid_prompt("Cannot execute because a node is missing the class_type property.", id));
      }
      const node_class* cls = catalog_.find(python_str(node.at("class_type")));
      if (cls == nullptr) {
        return reject(invalid_prompt(
            "Cannot execute because node " + python_str(node.at("class_type")) + " does not exist.", id));
      }
      const bool targeted = !partial_targets.is_array() || std::find(partial_targets.begin(), partial_targets.end(),
                                                                     ordered_json(id)) != partial_targets.end();
      if (cls->output_node && targeted) outputs.push_back(id);
    }
    if (outputs.empty()) return reject(error_object("prompt_no_outputs", "Prompt has no outputs", ""));

    for (const auto& output : outputs) {
      bool valid = false;
      try {
        valid = validate_node(output).valid;
      } catch (const python_exception& ex) {
        record(output, verdict{.valid = false,
                               .reasons = ordered_json::array({ordered_json{
                                   {"type", "exception_during_validation"},
                                   {"message", "Exception when validating node"},
                                   {"details", ex.message},
                                   {"extra_info", {{"exception_type", ex.type}, {"traceback", ex.traceback}}},
                               }})});
      }
      if (valid) {
        result.outputs.push_back(output);
        continue;
      }
      for (const auto& [node_id, node_verdict] : validated_) {
        if (node_verdict.valid || node_verdict.reasons.empty()) continue;
        ordered_json& entry = result.node_errors[node_id];
        if (entry.is_null()) {
          entry = ordered_json{{"errors", node_verdict.reasons},
                       {"dependent_outputs", ordered_json::array()},
                       {"class_type", prompt_.at(node_id).at("class_type")}};
        }
        entry["dependent_outputs"].push_back(output);
      }
    }
    result.prompt = prompt_;
    result.ok = !result.outputs.empty();
    if (!result.ok) {
      result.error = error_object("prompt_outputs_failed_validation", "Prompt outputs failed validation", "");
    }
    return result;
  }

 private:
  struct verdict {
    bool valid{};
    ordered_json reasons = ordered_json::array();
  };

  static ordered_json error_object(const std::string& type, const std::string& message, const std::string& details) {
    return ordered_json{{"type", type}, {"message", message}, {"details", details}, {"extra_info", ordered_json::object()}};
  }

  static ordered_json invalid_prompt(const std::string& message, const std::string& node_id) {
    return error_object("invalid_prompt", message, "Node ID '#" + node_id + "'");
  }

  validation_result reject(ordered_json error) const {
    validation_result result;
    result.error = std::move(error);
    result.prompt = prompt_;
    return result;
  }

  void record(const std::string& node_id, verdict v) {
    for (auto& [id, existing] : validated_) {
      if (id == node_id) {
        existing = std::move(v);
        return;
      }
    }
    validated_.emplace_back(node_id, std::move(v));
  }

  const verdict* find_validated(const std::string& node_id) const {
    for (const auto& [id, v] : validated_) {
      if (id == node_id) return &v;
    }
    return nullptr;
  }

  /// validate_inputs(unique_id); throws python_exception for what Python would raise.
  verdict validate_node(const std::string& id) {
    using namespace detail::validation;
    if (const verdict* known = find_validated(id)) return *known;
    if (std::find(in_progress_.begin(), in_progress_.end(), id) != in_progress_.end()) {
      throw python_exception{.type = "RecursionError", .message = "maximum recursion depth exceeded"};
    }
    in_progress_.push_back(id);
    struct leave_node {
      std::vector<std::string>& stack;
      ~leave_node() { stack.pop_back(); }
    } leave{in_progress_};
    ordered_json& node = prompt_.at(id);
    if (!node.contains("inputs")) throw python_exception{.type = "KeyError", .message = "'inputs'"};
    ordered_json& inputs = node.at("inputs");
    const node_class& cls = *catalog_.find(python_str(node.at("class_type")));
    ordered_json errors = ordered_json::array();
    bool valid = true;

    for (const auto& spec : cls.inputs) {
      if (!inputs.contains(spec.name)) {
        if (spec.required) {
          errors.push_back(ordered_json{{"type", "required_input_missing"},
                                {"message", "Required input is missing"},
                                {"details", spec.name},
                                {"extra_info", {{"input_name", spec.name}}}});
        }
        continue;
      }
      ordered_json& value = inputs.at(spec.name);
      const ordered_json info = ordered_json::array({spec.type, spec.options});
      if (value.is_array()) {
        if (value.size() != 2) {
          errors.push_back(ordered_json{{"type", "bad_linked_input"},
                                {"message", "Bad linked input, must be a length-2 list of [node_id, slot_index]"},
                                {"details", spec.name},
                                {"extra_info", {{"input_name", spec.name}, {"input_config", info}, {"received_value", value}}}});
          continue;
        }
        const ordered_json received_type = linked_type(value);
        if (!types_compatible(received_type, spec.type)) {
          errors.push_back(ordered_json{
              {"type", "return_type_mismatch"},
              {"message", "Return type mismatch between linked nodes"},
              {"details", spec.name + ", received_type(" + python_str(received_type) + ") mismatch input_type(" +
                              python_str(spec.type) + ")"},
              {"extra_info",
               {{"input_name", spec.name}, {"input_config", info}, {"received_type", received_type}, {"linked_node", value}}}});
          continue;
        }
        const std::string linked_id = value.at(0).get<std::string>();
        try {
          if (!validate_node(linked_id).valid) valid = false;
        } catch (const python_exception& ex) {
          valid = false;
          record(linked_id, verdict{.valid = false,
                                    .reasons = ordered_json::array({ordered_json{
                                        {"type", "exception_during_inner_validation"},
                                        {"message", "Exception when validating inner node"},
                                        {"details", ex.message},
                                        {"extra_info",
                                         {{"input_name", spec.name},
                                          {"input_config", info},
                                          {"exception_message", ex.message},
                                          {"exception_type", ex.type},
                                          {"traceback", ex.traceback},
                                          {"linked_node", value}}},
                                    }})});
        }
        continue;
      }
      check_literal(spec, value, info, errors);
    }

    for (const auto& spec : cls.inputs) {
      const std::string kind = upload_kind(spec);
      if (kind.empty() || !inputs.contains(spec.name) || inputs.at(spec.name).is_array()) continue;
      const std::string name = python_str(inputs.at(spec.name));
      if (rules_.upload_exists && !rules_.upload_exists(name)) {
        errors.push_back(custom_validation_failed(spec.name, "Invalid " + kind + " file: " + name));
      }
    }
    if (rules_.node_check) {
      if (const std::optional<std::string> reason = rules_.node_check(id, cls.name)) {
        errors.push_back(custom_validation_failed(cls.inputs.empty() ? "" : cls.inputs.front().name, *reason));
      }
    }

    verdict result{.valid = valid && errors.empty(), .reasons = errors};
    record(id, result);
    return result;
  }

  static ordered_json custom_validation_failed(const std::string& input_name, const std::string& reason) {
    return ordered_json{{"type", "custom_validation_failed"},
                {"message", "Custom validation failed for node"},
                {"details", input_name + " - " + reason},
                {"extra_info", {{"input_name", input_name}}}};
  }

  /// RETURN_TYPES[slot] of the node a link points at; raises what Python raises for a
  /// missing node (KeyError) or slot (IndexError, TypeError).
  ordered_json linked_type(const ordered_json& link) const {
    using detail::validation::python_exception;
    const ordered_json& source = link.at(0);
    if (!source.is_string() || !prompt_.contains(source.get<std::string>())) {
      throw python_exception{.type = "KeyError",
                             .message = python_repr(source),
                             .traceback = detail::validation::missing_node_traceback()};
    }
    const node_class& cls = *catalog_.find(python_str(prompt_.at(source.get<std::string>()).at("class_type")));
    const ordered_json& slot = link.at(1);
    if (!slot.is_number_integer() && !slot.is_boolean()) {
      throw python_exception{.type = "TypeError",
                             .message = "tuple indices must be integers or slices, not " +
                                        detail::validation::python_type_name(slot),
                             .traceback = detail::validation::missing_slot_traceback()};
    }
    long long index = slot.is_boolean() ? (slot.get<bool>() ? 1 : 0) : slot.get<long long>();
    const auto count = static_cast<long long>(cls.return_types.size());
    if (index < 0) index += count;
    if (index < 0 || index >= count) {
      throw python_exception{.type = "IndexError",
                             .message = "tuple index out of range",
                             .traceback = detail::validation::missing_slot_traceback()};
    }
    return cls.return_types[static_cast<std::size_t>(index)];
  }

  /// Converts a literal input in place and checks min, max and combo choices; false (with
  /// an entry in `errors`) when it fails.
  bool check_literal(const input_spec& spec, ordered_json& value, const ordered_json& info, ordered_json& errors) const {
    using namespace detail::validation;
    if (value.is_object() && value.contains("__value__")) value = ordered_json(value.at("__value__"));
    try {
      if (spec.type == "INT") value = to_int(value);
      if (spec.type == "FLOAT") value = to_float(value);
      if (spec.type == "STRING") value = python_str(value);
      if (spec.type == "BOOLEAN") value = truthy(value);
    } catch (const python_exception& ex) {
      errors.push_back(ordered_json{{"type", "invalid_input_type"},
                            {"message", "Failed to convert an input value to a " + python_str(spec.type) + " value"},
                            {"details", spec.name + ", " + python_str(value) + ", " + ex.message},
                            {"extra_info",
                             {{"input_name", spec.name},
                              {"input_config", info},
                              {"received_value", value},
                              {"exception_message", ex.message}}}});
      return false;
    }
    if (!upload_kind(spec).empty()) return true;  // checked by the node's own validation
    const auto bound_error = [&](const char* type, const char* relation, const ordered_json& bound) {
      errors.push_back(ordered_json{{"type", type},
                            {"message", "Value " + python_str(value) + " " + relation + " of " + python_str(bound)},
                            {"details", spec.name},
                            {"extra_info", {{"input_name", spec.name}, {"input_config", info}, {"received_value", value}}}});
      return false;
    };
    if (value.is_number() && spec.options.contains("min") && spec.options.at("min").is_number() &&
        value.get<double>() < spec.options.at("min").get<double>()) {
      return bound_error("value_smaller_than_min", "smaller than min", spec.options.at("min"));
    }
    if (value.is_number() && spec.options.contains("max") && spec.options.at("max").is_number() &&
        value.get<double>() > spec.options.at("max").get<double>()) {
      return bound_error("value_bigger_than_max", "bigger than max", spec.options.at("max"));
    }
    const auto choices = combo_choices(spec);
    if (choices && !(choices->empty() && rules_.any_choice_when_none_listed) && std::find(choices->begin(), choices->end(), value) == choices->end()) {
      const bool long_list = choices->size() > 20;
      const std::string list_info =
          long_list ? "(list of length " + std::to_string(choices->size()) + ")" : python_repr(*choices);
      errors.push_back(ordered_json{{"type", "value_not_in_list"},
                            {"message", "Value not in list"},
                            {"details", spec.name + ": '" + python_str(value) + "' not in " + list_info},
                            {"extra_info",
                             {{"input_name", spec.name},
                              {"input_config", long_list ? ordered_json() : info},
                              {"received_value", value}}}});
      return false;
    }
    return true;
  }

  ordered_json prompt_;
  const node_catalog& catalog_;
  validation_rules rules_;
  std::vector<std::pair<std::string, verdict>> validated_;
  std::vector<std::string> in_progress_;  // a link cycle would otherwise recurse forever
};

}  // namespace comfyq::comfyui
