#pragma once
// Routes: a method, a path pattern ("/api/v1/jobs/{id}") and who may call it. A path that
// matches no pattern is 404; one that matches with another method is 405 with the methods it
// allows. Path segments are percent-decoded before they reach a handler. A pattern's last
// parameter may take the rest of the path ("/api/v1/inputs/{path...}"): its segments, joined
// by '/', are one parameter, which the handler checks as the file path it is.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/identity.hpp"
#include "comfyq/util/percent_decode.hpp"

namespace comfyq::server {

/// Who may call a route.
enum class access {
  everyone,  ///< no authentication (health checks, metrics)
  user,      ///< any authenticated user, on its own work
  admin,     ///< admins only; others get 403
  worker,    ///< workers on other machines, with the server's worker token; never a user
};

/// What a handler is given.
struct request_context {
  const request& req;
  boost::asio::ip::address peer;
  identity who;                     ///< empty on routes open to everyone
  std::vector<std::string> params;  ///< the {…} segments of the route, in order
  std::string_view query;           ///< after '?', not decoded
};

class router {
 public:
  using handler = std::function<response(const request_context&)>;
  /// A route answered by a stream: what takes the connection over.
  using stream_handler = std::function<stream_handoff(const request_context&)>;

  struct route {
    http::verb method;
    std::string pattern;                ///< as added, e.g. "/api/v1/jobs/{id}"
    std::vector<std::string> segments;  ///< "{}" for a parameter, "{...}" for the rest of the path
    server::access access;
    handler handle;
    stream_handler stream{};  ///< set for a stream route, instead of handle
  };

  /// A route and its parameters.
  struct match {
    const route* found;
    std::vector<std::string> params;
  };

  void add(http::verb method, std::string_view pattern, server::access who, handler h) {
    std::vector<std::string> segments;
    for (std::string_view segment : split(pattern)) {
      if (!segment.starts_with('{')) {
        segments.emplace_back(segment);
      } else {
        segments.emplace_back(segment.ends_with("...}") ? rest : "{}");
      }
    }
    routes_.push_back(route{method, std::string(pattern), std::move(segments), who, std::move(h)});
  }

  /// A route whose answer is a stream (e.g. Server-Sent Events).
  void add_stream(http::verb method, std::string_view pattern, server::access who, stream_handler s) {
    add(method, pattern, who, {});
    routes_.back().stream = std::move(s);
  }

  /// A route answered by `api`'s member function `member`: a handler, or a stream handler when
  /// it returns a stream_handoff.
  template <class Api, class Member>
  void add(http::verb method, std::string_view pattern, server::access who, Api* api, Member member) {
    auto call = [api, member](const request_context& c) { return std::invoke(member, api, c); };
    if constexpr (std::is_same_v<std::invoke_result_t<Member, Api*, const request_context&>, stream_handoff>) {
      add_stream(method, pattern, who, std::move(call));
    } else {
      add(method, pattern, who, handler(std::move(call)));
    }
  }

  /// Every route, in the order added.
  const std::vector<route>& routes() const noexcept { return routes_; }

  /// The route for `method` and `path` (without the query); throws api_error 404 or 405.
  match find(http::verb method, std::string_view path) const {
    std::vector<std::string_view> parts = split(path);
    std::string allowed;
    for (const route& r : routes_) {
      std::optional<std::vector<std::string>> params = bind(r, parts);
      if (!params) continue;
      if (r.method == method) return match{&r, std::move(*params)};
      allowed += std::string(allowed.empty() ? "" : ", ") + std::string(http::to_string(r.method));
    }
    if (allowed.empty()) throw api_error(http::status::not_found, "not_found", "no such resource: " + std::string(path));
    throw api_error(http::status::method_not_allowed, "method_not_allowed",
                    std::string(http::to_string(method)) + " is not allowed here; use " + allowed);
  }

 private:
  static std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
      if (path.front() == '/') {
        path.remove_prefix(1);
        continue;
      }
      std::size_t end = path.find('/');
      out.push_back(path.substr(0, end));
      path = end == std::string_view::npos ? std::string_view() : path.substr(end);
    }
    return out;
  }

  static constexpr std::string_view rest = "{...}";

  static std::optional<std::vector<std::string>> bind(const route& r, const std::vector<std::string_view>& parts) {
    const bool takes_rest = !r.segments.empty() && r.segments.back() == rest;
    if (takes_rest ? parts.size() < r.segments.size() : parts.size() != r.segments.size()) return std::nullopt;
    std::vector<std::string> params;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const bool beyond = i >= r.segments.size();  // more of the rest of the path
      if (beyond || r.segments[i] == "{}" || r.segments[i] == rest) {
        std::optional<std::string> decoded = util::percent_decode(parts[i]);
        if (!decoded) return std::nullopt;
        if (beyond) {
          params.back() += "/" + *decoded;
        } else {
          params.push_back(std::move(*decoded));
        }
      } else if (r.segments[i] != parts[i]) {
        return std::nullopt;
      }
    }
    return params;
  }

  std::vector<route> routes_;
};

}  // namespace comfyq::server
