#pragma once
// Reading a request's query string ("state=queued,running&limit=20"), with refusals that say
// what is wrong: a parameter the endpoint does not know (a typo would otherwise be ignored),
// one given twice, or one that is not percent-encoded properly.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/ids.hpp"
#include "comfyq/server/api_error.hpp"
#include "comfyq/util/percent_decode.hpp"

namespace comfyq::server {

/// What a query's parameters outside those an endpoint knows are: refused (comfyq's API, where a
/// typo would otherwise be ignored), or ignored (ComfyUI's, whose clients add their own).
enum class unknown_parameters { refused, ignored };

/// The parameters of a query string, decoded ('+' is a space).
class query_parameters {
 public:
  /// Throws api_error 422 naming the parameter that is unknown (not in `known`, unless `unknown`
  /// says they are ignored), repeated or badly encoded.
  query_parameters(std::string_view query, std::initializer_list<std::string_view> known,
                   unknown_parameters unknown = unknown_parameters::refused) {
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const std::size_t eq = pair.find('=');
      const std::string name = decoded(pair.substr(0, eq), "the name of a parameter");
      const std::string value = eq == std::string_view::npos ? std::string() : decoded(pair.substr(eq + 1), name);
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        if (unknown == unknown_parameters::ignored) continue;
        std::string listed;
        for (std::string_view k : known) listed += std::string(listed.empty() ? "" : ", ") + std::string(k);
        throw api_error(http::status::unprocessable_entity, "invalid_input",
                        "unknown parameter '" + comfyq::detail::printable(name) + "'; this endpoint takes " +
                            (listed.empty() ? std::string("none") : listed),
                        name);
      }
      if (!values_.emplace(name, value).second) {
        throw api_error(http::status::unprocessable_entity, "invalid_input",
                        name + " is given twice; give it once (a list is comma-separated)", name);
      }
    }
  }

  /// The value of `name`, or nothing when the query does not give it.
  std::optional<std::string> get(const std::string& name) const {
    const auto found = values_.find(name);
    return found == values_.end() ? std::nullopt : std::optional(found->second);
  }

  /// The whole number `name` gives, from `least` to `most`, or nothing when the query does not
  /// give it; throws api_error 422 naming it when it is something else. `what` says what it
  /// counts ("jobs a page").
  std::optional<std::size_t> number(const std::string& name, std::size_t least, std::size_t most,
                                    std::string_view what) const {
    const std::optional<std::string> text = get(name);
    if (!text) return std::nullopt;
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (error != std::errc{} || end != text->data() + text->size() || value < least || value > most) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      "'" + comfyq::detail::printable(*text) + "' is not a number of " + std::string(what) + "; ask for " +
                          std::to_string(least) + " to " + std::to_string(most),
                      name);
    }
    return value;
  }

  /// The comma-separated items of `name` (none when absent or empty).
  std::vector<std::string> list(const std::string& name) const {
    std::vector<std::string> items;
    const std::optional<std::string> value = get(name);
    if (!value || value->empty()) return items;
    std::string_view rest = *value;
    while (true) {
      const std::size_t comma = rest.find(',');
      items.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return items;
  }

 private:
  static std::string decoded(std::string_view text, const std::string& what) {
    std::string spaced(text);
    std::replace(spaced.begin(), spaced.end(), '+', ' ');
    std::optional<std::string> plain = util::percent_decode(spaced);
    if (!plain) {
      throw api_error(http::status::unprocessable_entity, "invalid_input",
                      what + " is not percent-encoded properly; write a '%' as %25", what);
    }
    return *plain;
  }

  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace comfyq::server
