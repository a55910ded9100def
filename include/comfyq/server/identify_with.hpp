#pragma once
// The server's way of asking an authenticator who sent a request: its decision as an identity,
// or as the refusal the client gets (401 with the password prompt, 429 with when to retry, 403).

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/authenticator.hpp"
#include "comfyq/server/http.hpp"
#include "comfyq/server/identity.hpp"
#include "comfyq/server/request_headers.hpp"
#include "comfyq/store/clock.hpp"

namespace comfyq::server {

/// An identifier over `users`, which must outlive it; the time of each request is the system's.
inline identifier identify_with(authenticator& users) {
  return [&users](const request& req, const boost::asio::ip::address& peer) -> std::variant<identity, api_error> {
    std::vector<header_field> headers;
    for (const auto& field : req) headers.push_back({view(field.name_string()), view(field.value())});
    const auth_decision decision = users.authenticate(peer.to_string(), headers, store::system_now());
    switch (decision.outcome) {
      case auth_decision::verdict::authenticated: return identity{.user = decision.user, .admin = decision.admin};
      case auth_decision::verdict::throttled: {
        const auto seconds = std::chrono::ceil<std::chrono::seconds>(decision.retry_after).count();
        return api_error(http::status::too_many_requests, "too_many_failed_logins",
                         "too many failed logins from this address; try again in " + std::to_string(seconds) + " s")
            .with_header(http::field::retry_after, std::to_string(seconds));
      }
      case auth_decision::verdict::forbidden:
        return api_error(http::status::forbidden, "forbidden", "this server does not accept requests from this address");
      case auth_decision::verdict::challenge: break;
    }
    return api_error(http::status::unauthorized, "unauthorized", "log in with your workshop user name and password")
        .with_header(http::field::www_authenticate, users.challenge());
  };
}

}  // namespace comfyq::server
