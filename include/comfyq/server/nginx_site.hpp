#pragma once
// The nginx site in front of comfyq-server: TLS, HTTP Basic authentication against the
// htpasswd that `comfyq-server init` writes, the user's name passed on in X-Remote-User, and
// what WebSockets, event streams and uploads need; the routes of workers on other machines
// pass with their own token instead. `comfyq-server nginx-config` prints it.

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/trusted_proxy.hpp"
#include "comfyq/version.hpp"

namespace comfyq::server {

/// What the site needs to know. Paths must be absolute: nginx reads relative ones from its
/// own prefix (/etc/nginx), not from where the command ran.
struct nginx_site {
  /// The host name participants open, e.g. "comfy.example.org".
  std::string server_name{};
  /// The TLS certificate chain and its private key (PEM), e.g. Let's Encrypt's
  /// fullchain.pem and privkey.pem.
  std::string cert{};
  std::string key{};
  /// Where comfyq-server listens, host:port.
  std::string upstream{};
  /// The htpasswd file nginx checks passwords against.
  std::string htpasswd{};
  unsigned listen_port = 443;
  /// The plain-HTTP port that redirects to HTTPS; 0: no redirect.
  unsigned redirect_port = 80;
  /// The largest request body (an upload), in nginx's units: 100m, 2g, 512k.
  std::string client_max_body_size = "100m";

  /// Throws invalid_input naming the field that is wrong and how to write it.
  void validate() const {
    const auto name_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    };
    if (server_name.empty() || server_name.size() > 253 ||
        !std::all_of(server_name.begin(), server_name.end(), name_char)) {
      throw invalid_input("server_name", "'" + comfyq::detail::printable(server_name) +
                                             "' is not a host name; give the one name participants open, e.g. "
                                             "comfy.example.org");
    }
    check_path("cert", cert);
    check_path("key", key);
    check_path("htpasswd", htpasswd);
    check_upstream();
    if (listen_port == 0 || listen_port > 65535) {
      throw invalid_input("listen_port", std::to_string(listen_port) + " is not a port; use 1-65535, normally 443");
    }
    if (redirect_port > 65535 || redirect_port == listen_port) {
      throw invalid_input("redirect_port", std::to_string(redirect_port) +
                                               " cannot redirect to HTTPS: use another port than listen_port, "
                                               "normally 80, or 0 for no redirect");
    }
    const std::size_t digits = client_max_body_size.find_first_not_of("0123456789");
    const bool size_ok =
        digits != 0 && (digits == std::string::npos ||
                        (digits + 1 == client_max_body_size.size() &&
                         std::string_view("kKmMgG").find(client_max_body_size.back()) != std::string_view::npos));
    if (!size_ok) {
      throw invalid_input("client_max_body_size", "'" + comfyq::detail::printable(client_max_body_size) +
                                                      "' is not a size; write a number with k, m or g, e.g. 100m");
    }
  }

 private:
  // Paths go into the configuration unquoted, and nginx expands variables in some of them.
  static void check_path(const char* field, const std::string& path) {
    if (!path.starts_with('/')) {
      throw invalid_input(field, "'" + comfyq::detail::printable(path) +
                                     "' is not an absolute path; nginx would look for it under its own prefix");
    }
    const auto unsafe = [](char c) {
      return static_cast<unsigned char>(c) <= ' ' || c == 0x7f ||
             std::string_view(";{}\"'$#\\").find(c) != std::string_view::npos;
    };
    if (std::any_of(path.begin(), path.end(), unsafe)) {
      throw invalid_input(field, "'" + comfyq::detail::printable(path) +
                                     "' has a space, a control character or one of ; { } \" ' $ # \\, which nginx "
                                     "would read as syntax; move the file to a plainer path");
    }
  }

  void check_upstream() const {
    const auto refuse = [&] {
      return invalid_input("upstream", "'" + comfyq::detail::printable(upstream) +
                                           "' is not host:port; give where comfyq-server listens, e.g. 127.0.0.1:8000");
    };
    const std::size_t colon = upstream.rfind(':');
    if (colon == std::string::npos || colon == 0) throw refuse();
    const std::string_view host = std::string_view(upstream).substr(0, colon);
    const std::string_view port = std::string_view(upstream).substr(colon + 1);
    unsigned number = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (error != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535) throw refuse();
    const bool bracketed_ipv6 = host.starts_with('[') && host.ends_with(']') &&
                                host.find_first_not_of("0123456789abcdefABCDEF:.", 1) == host.size() - 1;
    const bool name = host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
                      std::string_view::npos;
    if (!bracketed_ipv6 && !name) throw refuse();
  }
};

/// The nginx site (a file for /etc/nginx/sites-enabled/, inside nginx's `http` block) for
/// `site`. Throws invalid_input if `site` is wrong (see nginx_site::validate).
inline std::string render_nginx_site(const nginx_site& site) {
  site.validate();
  const std::string https_port = std::to_string(site.listen_port);
  const std::string https_origin =
      "https://" + site.server_name + (site.listen_port == 443 ? std::string() : ":" + https_port);
  const std::string user_header(default_user_header);
  // How each location passes a request on to comfyq-server. Host goes on as the client sent
  // it, port and all: the per-tenant ComfyUI API compares a POST's Origin with it.
  const std::string proxied = "        proxy_pass http://" + site.upstream + ";\n" +
                              "        proxy_http_version 1.1;\n"
                              "        proxy_set_header Host $http_host;\n"
                              "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
                              "        proxy_set_header X-Forwarded-Proto $scheme;\n";
  std::string text;
  text += "# comfyq " COMFYQ_VERSION " behind nginx, made by `comfyq-server nginx-config`.\n";
  text += "# nginx ends TLS and checks every request's password; comfyq-server believes the user it\n";
  text += "# names in " + user_header + " because the request comes from this proxy's address.\n\n";
  text += "# WebSocket upgrades get \"Connection: upgrade\"; other requests an empty Connection.\n";
  text += "map $http_upgrade $comfyq_connection {\n";
  text += "    default upgrade;\n";
  text += "    ''      '';\n";
  text += "}\n\n";
  if (site.redirect_port != 0) {
    const std::string http_port = std::to_string(site.redirect_port);
    text += "server {\n";
    text += "    listen " + http_port + ";\n";
    text += "    listen [::]:" + http_port + ";\n";
    text += "    server_name " + site.server_name + ";\n";
    text += "    server_tokens off;\n\n";
    text += "    # certbot --webroot -w /var/www/html renews the certificate through this port.\n";
    text += "    location /.well-known/acme-challenge/ {\n";
    text += "        root /var/www/html;\n";
    text += "    }\n";
    text += "    location / {\n";
    text += "        return 301 " + https_origin + "$request_uri;\n";
    text += "    }\n";
    text += "}\n\n";
  }
  text += "server {\n";
  text += "    listen " + https_port + " ssl http2;\n";
  text += "    listen [::]:" + https_port + " ssl http2;\n";
  text += "    server_name " + site.server_name + ";\n";
  text += "    server_tokens off;\n\n";
  text += "    ssl_certificate " + site.cert + ";\n";
  text += "    ssl_certificate_key " + site.key + ";\n";
  text += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
  text += "    ssl_session_timeout 1d;\n\n";
  text += "    add_header Strict-Transport-Security \"max-age=31536000\" always;\n";
  text += "    add_header X-Content-Type-Options nosniff always;\n";
  text += "    add_header X-Frame-Options SAMEORIGIN always;\n";
  text += "    add_header Content-Security-Policy \"frame-ancestors 'self'\" always;\n";
  text += "    add_header Referrer-Policy same-origin always;\n\n";
  text += "    auth_basic \"comfyq\";\n";
  text += "    auth_basic_user_file " + site.htpasswd + ";\n\n";
  text += "    # Uploads: images, sometimes a LoRA.\n";
  text += "    client_max_body_size " + site.client_max_body_size + ";\n\n";
  text += "    location / {\n";
  text += proxied;
  text += "        # Replaces any " + user_header + " the client sent; the password stays here.\n";
  text += "        proxy_set_header " + user_header + " $remote_user;\n";
  text += "        proxy_set_header Authorization \"\";\n";
  text += "        proxy_set_header Upgrade $http_upgrade;\n";
  text += "        proxy_set_header Connection $comfyq_connection;\n";
  text += "        # Events (SSE, WebSocket) flow as they come and stay open while a video renders.\n";
  text += "        proxy_buffering off;\n";
  text += "        proxy_read_timeout 1h;\n";
  text += "        proxy_send_timeout 1h;\n";
  text += "    }\n\n";
  text += "    # Workers on other machines send the server's worker token (Authorization: Bearer),\n";
  text += "    # which comfyq-server checks itself: no password here, and no user passed on.\n";
  text += "    location /api/v1/worker/ {\n";
  text += "        auth_basic off;\n";
  text += proxied;
  text += "        proxy_set_header " + user_header + " \"\";\n";
  text += "        # Outputs (a video) stream to the server as they come.\n";
  text += "        proxy_request_buffering off;\n";
  text += "        proxy_read_timeout 1h;\n";
  text += "        proxy_send_timeout 1h;\n";
  text += "    }\n";
  text += "}\n";
  return text;
}

}  // namespace comfyq::server
