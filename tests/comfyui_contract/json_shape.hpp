#pragma once
// Comparing what the stand-in says with what ComfyUI said. Values that differ between any
// two runs are normalised first (server-chosen prompt ids become <id:1>, <id:2>... in order
// of appearance, anonymous socket ids <sid>, PreviewImage's random name part <random>,
// dates <date>); set-like lists ComfyUI fills in arbitrary order are sorted; timestamps,
// tracebacks and exception texts are compared by type only. Then the key sets, value types
// and (unless shapes only) values must match.

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "comfyui_contract/recordings.hpp"

namespace comfyq::testing::contract {

class normaliser {
 public:
  json operator()(const json& value) {
    if (value.is_string()) return text(value.get<std::string>());
    if (value.is_array()) {
      json out = json::array();
      for (const auto& item : value) out.push_back((*this)(item));
      if (is_prompt_tuple(out)) sort_strings(out[4]);
      return out;
    }
    if (!value.is_object()) return value;
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      json normalised = (*this)(item);
      if ((key == "executed" || key == "current_outputs") && normalised.is_array()) sort_strings(normalised);
      out[text(key)] = std::move(normalised);
    }
    return out;
  }

  std::string text(const std::string& input) {
    static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    static const std::regex hex_id("^[0-9a-f]{32}$");
    static const std::regex temp_name("ComfyUI_temp_[a-z]{5}_");
    static const std::regex date("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    std::string out;
    auto begin = std::sregex_iterator(input.begin(), input.end(), uuid);
    std::size_t copied = 0;
    for (auto match = begin; match != std::sregex_iterator(); ++match) {
      out += input.substr(copied, static_cast<std::size_t>(match->position()) - copied);
      auto [entry, added] = ids_.try_emplace(match->str(), "<id:" + std::to_string(ids_.size() + 1) + ">");
      out += entry->second;
      copied = static_cast<std::size_t>(match->position() + match->length());
    }
    out += input.substr(copied);
    out = std::regex_replace(out, hex_id, "<sid>");
    out = std::regex_replace(out, temp_name, "ComfyUI_temp_<random>_");
    return std::regex_replace(out, date, "<date>");
  }

 private:
  /// [number, prompt_id, graph, extra_data, outputs_to_execute]: the last comes from a set.
  static bool is_prompt_tuple(const json& value) {
    return value.size() == 5 && value[0].is_number() && value[1].is_string() && value[2].is_object() &&
           value[3].is_object() && value[4].is_array();
  }

  static void sort_strings(json& list) {
    if (std::all_of(list.begin(), list.end(), [](const json& item) { return item.is_string(); })) {
      std::sort(list.begin(), list.end());
    }
  }

  std::map<std::string, std::string> ids_;
};

struct comparison {
  bool shapes_only{};  // every scalar by type only
  std::set<std::string> type_only_keys{"timestamp",         "create_time",   "execution_start_time",
                                       "execution_end_time", "traceback",     "exception_message",
                                       "current_inputs"};
};

inline std::string type_name(const json& value) {
  if (value.is_number_float()) return "float";
  if (value.is_number()) return "int";
  return value.type_name();
}

/// The differences between `expected` and `actual` (both normalised), one line each.
inline void compare_json(const json& expected, const json& actual, const comparison& rules, const std::string& path,
                         std::vector<std::string>& differences) {
  if (type_name(expected) != type_name(actual)) {
    differences.push_back(path + ": expected a " + type_name(expected) + " (" + expected.dump() + "), got a " +
                          type_name(actual) + " (" + actual.dump() + ")");
    return;
  }
  if (expected.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key)) {
        differences.push_back(path + ": missing key \"" + key + "\"");
      } else if (rules.type_only_keys.contains(key)) {
        if (type_name(value) != type_name(actual.at(key))) {
          differences.push_back(path + "." + key + ": expected a " + type_name(value) + ", got a " + type_name(actual.at(key)));
        }
      } else {
        compare_json(value, actual.at(key), rules, path + "." + key, differences);
      }
    }
    for (const auto& [key, value] : actual.items()) {
      if (!expected.contains(key)) differences.push_back(path + ": unexpected key \"" + key + "\"");
    }
    return;
  }
  if (expected.is_array()) {
    if (rules.shapes_only) {  // lists may differ in length; every item has the recorded items' shape
      for (std::size_t i = 0; !expected.empty() && i < actual.size(); ++i) {
        compare_json(expected[std::min(i, expected.size() - 1)], actual[i], rules, path + "[" + std::to_string(i) + "]",
                     differences);
      }
      return;
    }
    if (expected.size() != actual.size()) {
      differences.push_back(path + ": expected " + std::to_string(expected.size()) + " items " + expected.dump() + ", got " +
                            std::to_string(actual.size()) + " " + actual.dump());
      return;
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
      compare_json(expected[i], actual[i], rules, path + "[" + std::to_string(i) + "]", differences);
    }
    return;
  }
  if (!rules.shapes_only && expected != actual) {
    differences.push_back(path + ": expected " + expected.dump() + ", got " + actual.dump());
  }
}

inline std::vector<std::string> compare_json(const json& expected, const json& actual, const comparison& rules = {}) {
  std::vector<std::string> differences;
  compare_json(expected, actual, rules, "$", differences);
  return differences;
}

}  // namespace comfyq::testing::contract
