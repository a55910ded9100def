#pragma once
// Who is asking: the authenticated user, who is the tenant of everything it submits, and
// whether it is an admin. How a request proves it (nginx's header, the server's own htpasswd)
// is the authenticator's business.

#include <functional>
#include <string>
#include <variant>

#include <boost/asio/ip/address.hpp>

#include "comfyq/server/api_error.hpp"
#include "comfyq/server/http.hpp"

namespace comfyq::server {

struct identity {
  std::string user;    ///< the tenant
  bool admin = false;  ///< may see and change everyone's work
};

/// Decides who sent a request from its headers and the peer's address: an identity, or the
/// refusal to answer (401 with a challenge, 429 after too many failures).
using identifier = std::function<std::variant<identity, api_error>(const request&, const boost::asio::ip::address& peer)>;

}  // namespace comfyq::server
