#pragma once
// Who sends a request, decided once for every request comfyq-server receives: a trusted proxy's
// user header (nginx checked the password), or else HTTP Basic credentials checked against the
// server's own htpasswd, with failed attempts limited per client. Admins are named in the
// settings. Time is a parameter; the only waiting is bcrypt's own work.

#include <algorithm>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"
#include "comfyq/server/basic_auth.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/login_limiter.hpp"
#include "comfyq/server/request_headers.hpp"
#include "comfyq/server/trusted_proxy.hpp"

namespace comfyq::server {

/// The user `comfyq-server init` makes for the instructor, an admin unless the settings say otherwise.
inline constexpr std::string_view default_admin = "admin";

/// How requests are authenticated.
struct auth_settings {
  trusted_proxy_settings proxy;
  /// The users who may use the admin API and see every tenant.
  std::vector<std::string> admins{std::string(default_admin)};
  /// Shown by the browser's login prompt.
  std::string realm = "comfyq";
  login_limits limits;

  /// Throws invalid_input naming the field that is wrong.
  void validate() const {
    proxy.validate();
    for (const std::string& admin : admins) validate_id("admins", admin);
    if (realm.empty() || realm.find_first_of("\"\\\r\n") != std::string::npos) {
      throw invalid_input("realm", "must be non-empty text without '\"', '\\' or line breaks");
    }
    limits.validate();
  }
};

/// The answer for one request.
struct auth_decision {
  enum class verdict {
    authenticated,  ///< `user` sent it; answer it
    challenge,      ///< no valid credentials: 401 with WWW-Authenticate (see authenticator::challenge)
    throttled,      ///< too many failures from this client: 429 with Retry-After `retry_after`
    forbidden,      ///< this server cannot authenticate this peer at all: 403
  };
  verdict outcome = verdict::challenge;
  std::string user{};
  bool admin = false;
  duration retry_after{};
  /// Why it was not authenticated, for the server's log; never for the client.
  std::string reason{};
};

/// Decides who sends each request. Safe to call from several threads at once.
class authenticator {
 public:
  /// `users`: the server's own htpasswd, or nullopt when only a trusted proxy authenticates.
  /// Throws invalid_input if the settings are wrong.
  authenticator(auth_settings settings, std::optional<htpasswd> users)
      : settings_(validated(std::move(settings))), users_(std::move(users)), limiter_(settings_.limits) {}

  /// Who sent a request that came from `peer` (an IP address) with `headers`, at `now`.
  /// Checking a password takes bcrypt's time (milliseconds): call it where that may block.
  auth_decision authenticate(std::string_view peer, std::span<const header_field> headers, time_point now) {
    using verdict = auth_decision::verdict;
    const proxy_identity by_proxy = identify_by_proxy(peer, headers, settings_.proxy);
    if (by_proxy.outcome == proxy_identity::verdict::user) return accepted(by_proxy.user);
    if (by_proxy.outcome == proxy_identity::verdict::refused) {
      return {.outcome = verdict::forbidden, .reason = by_proxy.reason};
    }
    if (!users_) {
      return {.outcome = verdict::forbidden,
              .reason = std::string(peer) + " is not a trusted proxy and this server has no htpasswd of its own"};
    }

    const std::string client = client_key(peer);
    if (const duration wait = refused_for(client, now); wait > duration::zero()) {
      return {.outcome = verdict::throttled, .retry_after = wait, .reason = "too many failed logins from " + client};
    }
    const std::vector<std::string_view> authorizations = header_values(headers, "Authorization");
    if (authorizations.empty()) return {.outcome = verdict::challenge, .reason = "no credentials"};
    if (authorizations.size() > 1) return failed(client, now, "more than one Authorization header");
    basic_credentials credentials;
    try {
      credentials = parse_basic_authorization(authorizations.front());
    } catch (const invalid_input& e) {
      return failed(client, now, e.what());
    }
    if (!users_->verify(credentials.user, credentials.password)) {
      return failed(client, now,
                    "wrong user name or password for '" + comfyq::detail::printable(credentials.user) + "'");
    }
    return accepted(credentials.user);
  }

  /// The value of the WWW-Authenticate header that asks a browser for a password.
  std::string challenge() const { return "Basic realm=\"" + settings_.realm + "\", charset=\"UTF-8\""; }

  bool is_admin(std::string_view user) const {
    return std::find(settings_.admins.begin(), settings_.admins.end(), user) != settings_.admins.end();
  }

 private:
  static auth_settings validated(auth_settings settings) {
    settings.validate();
    return settings;
  }

  auth_decision accepted(const std::string& user) const {
    return {.outcome = auth_decision::verdict::authenticated, .user = user, .admin = is_admin(user)};
  }

  auth_decision failed(const std::string& client, time_point now, std::string reason) {
    const std::lock_guard lock(limiter_mutex_);
    limiter_.record_failure(client, now);
    return {.outcome = auth_decision::verdict::challenge, .reason = std::move(reason)};
  }

  duration refused_for(const std::string& client, time_point now) const {
    const std::lock_guard lock(limiter_mutex_);
    return limiter_.refused_for(client, now);
  }

  auth_settings settings_;
  std::optional<htpasswd> users_;
  mutable std::mutex limiter_mutex_;
  login_limiter limiter_;
};

}  // namespace comfyq::server
