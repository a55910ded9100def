// The nginx site in front of comfyq-server: what it must say, and settings that would make it
// wrong (or inject configuration) refused, naming the setting. nginx itself checks it in
// nginx_config_command.cpp.

#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/nginx_site.hpp"
#include "support/expect_invalid.hpp"

using comfyq::server::nginx_site;
using comfyq::server::render_nginx_site;
using comfyq::test::expect_invalid;

namespace {

nginx_site workshop_site() {
  return {.server_name = "comfy.example.org",
          .cert = "/etc/letsencrypt/live/comfy.example.org/fullchain.pem",
          .key = "/etc/letsencrypt/live/comfy.example.org/privkey.pem",
          .upstream = "127.0.0.1:8000",
          .htpasswd = "/var/lib/comfyq/htpasswd"};
}

std::string refused_field(const nginx_site& site) {
  return expect_invalid([&] { render_nginx_site(site); }).field();
}

}  // namespace

TEST_CASE("the site ends TLS, asks for passwords and passes the user on", "[server][nginx_site]") {
  const std::string site = render_nginx_site(workshop_site());
  CHECK_THAT(site, Catch::Contains("listen 443 ssl http2;"));
  CHECK_THAT(site, Catch::Contains("server_name comfy.example.org;"));
  CHECK_THAT(site, Catch::Contains("ssl_certificate /etc/letsencrypt/live/comfy.example.org/fullchain.pem;"));
  CHECK_THAT(site, Catch::Contains("ssl_certificate_key /etc/letsencrypt/live/comfy.example.org/privkey.pem;"));
  CHECK_THAT(site, Catch::Contains("auth_basic_user_file /var/lib/comfyq/htpasswd;"));
  CHECK_THAT(site, Catch::Contains("proxy_pass http://127.0.0.1:8000;"));
  // Set by nginx, so whatever X-Remote-User a client sends is replaced; the password stays in nginx.
  CHECK_THAT(site, Catch::Contains("proxy_set_header X-Remote-User $remote_user;"));
  CHECK_THAT(site, Catch::Contains("proxy_set_header Authorization \"\";"));
}

TEST_CASE("the site carries WebSockets and event streams, and takes uploads", "[server][nginx_site]") {
  const std::string site = render_nginx_site(workshop_site());
  CHECK_THAT(site, Catch::Contains("proxy_http_version 1.1;"));
  CHECK_THAT(site, Catch::Contains("proxy_set_header Upgrade $http_upgrade;"));
  CHECK_THAT(site, Catch::Contains("proxy_set_header Connection $comfyq_connection;"));
  CHECK_THAT(site, Catch::Contains("proxy_buffering off;"));
  CHECK_THAT(site, Catch::Contains("proxy_read_timeout 1h;"));
  CHECK_THAT(site, Catch::Contains("client_max_body_size 100m;"));
  nginx_site bigger = workshop_site();
  bigger.client_max_body_size = "2g";
  CHECK_THAT(render_nginx_site(bigger), Catch::Contains("client_max_body_size 2g;"));
}

TEST_CASE("the routes of remote workers pass their token on, without a password or a user", "[server][nginx_site]") {
  const std::string site = render_nginx_site(workshop_site());
  const std::size_t worker = site.find("location /api/v1/worker/ {");
  REQUIRE(worker != std::string::npos);
  const std::string block = site.substr(worker, site.find('}', worker) - worker);
  CHECK_THAT(block, Catch::Contains("auth_basic off;"));
  CHECK_THAT(block, Catch::Contains("proxy_pass http://127.0.0.1:8000;"));
  CHECK_THAT(block, Catch::Contains("proxy_set_header X-Remote-User \"\";"));
  // The worker's Authorization header goes through as it came.
  CHECK_THAT(block, !Catch::Contains("Authorization"));
}

TEST_CASE("the site sends the security headers on every answer", "[server][nginx_site]") {
  const std::string site = render_nginx_site(workshop_site());
  CHECK_THAT(site, Catch::Contains("add_header Strict-Transport-Security \"max-age=31536000\" always;"));
  CHECK_THAT(site, Catch::Contains("add_header X-Content-Type-Options nosniff always;"));
  CHECK_THAT(site, Catch::Contains("add_header X-Frame-Options SAMEORIGIN always;"));
  CHECK_THAT(site, Catch::Contains("add_header Content-Security-Policy \"frame-ancestors 'self'\" always;"));
  CHECK_THAT(site, Catch::Contains("add_header Referrer-Policy same-origin always;"));
}

TEST_CASE("plain HTTP redirects to HTTPS, on the port chosen or not at all", "[server][nginx_site]") {
  CHECK_THAT(render_nginx_site(workshop_site()),
             Catch::Contains("listen 80;") && Catch::Contains("return 301 https://comfy.example.org$request_uri;"));
  nginx_site other_ports = workshop_site();
  other_ports.listen_port = 8443;
  other_ports.redirect_port = 8080;
  CHECK_THAT(render_nginx_site(other_ports),
             Catch::Contains("listen 8443 ssl http2;") && Catch::Contains("listen 8080;") &&
                 Catch::Contains("return 301 https://comfy.example.org:8443$request_uri;"));
  nginx_site no_redirect = workshop_site();
  no_redirect.redirect_port = 0;
  CHECK_THAT(render_nginx_site(no_redirect), !Catch::Contains("return 301") && !Catch::Contains("listen 80;"));
}

TEST_CASE("settings that nginx would misread are refused, naming the setting", "[server][nginx_site]") {
  const auto with = [](auto change) {
    nginx_site site = workshop_site();
    change(site);
    return refused_field(site);
  };
  CHECK(with([](nginx_site& s) { s.server_name = ""; }) == "server_name");
  CHECK(with([](nginx_site& s) { s.server_name = "a.org; include /etc/passwd"; }) == "server_name");
  CHECK(with([](nginx_site& s) { s.cert = "fullchain.pem"; }) == "cert");
  CHECK(with([](nginx_site& s) { s.key = "/etc/my keys/privkey.pem"; }) == "key");
  CHECK(with([](nginx_site& s) { s.htpasswd = "/var/lib/comfyq/$host"; }) == "htpasswd");
  CHECK(with([](nginx_site& s) { s.htpasswd = "/a;}"; }) == "htpasswd");
  CHECK(with([](nginx_site& s) { s.upstream = "127.0.0.1"; }) == "upstream");
  CHECK(with([](nginx_site& s) { s.upstream = "127.0.0.1:0"; }) == "upstream");
  CHECK(with([](nginx_site& s) { s.upstream = "127.0.0.1:70000"; }) == "upstream");
  CHECK(with([](nginx_site& s) { s.upstream = "http://127.0.0.1:8000"; }) == "upstream");
  CHECK(with([](nginx_site& s) { s.listen_port = 0; }) == "listen_port");
  CHECK(with([](nginx_site& s) { s.redirect_port = 443; }) == "redirect_port");
  CHECK(with([](nginx_site& s) { s.client_max_body_size = "100 MB"; }) == "client_max_body_size");
  CHECK(with([](nginx_site& s) { s.client_max_body_size = "m"; }) == "client_max_body_size");

  nginx_site ipv6 = workshop_site();
  ipv6.upstream = "[::1]:8000";
  CHECK_THAT(render_nginx_site(ipv6), Catch::Contains("proxy_pass http://[::1]:8000;"));
}

TEST_CASE("a wrong path says why it must be absolute", "[server][nginx_site]") {
  nginx_site site = workshop_site();
  site.cert = "fullchain.pem";
  CHECK_THAT(expect_invalid([&] { render_nginx_site(site); }).what(),
             Catch::Contains("'fullchain.pem' is not an absolute path; nginx would look for it under its own prefix"));
}
