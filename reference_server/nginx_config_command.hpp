#pragma once
// comfyq-server nginx-config: prints the nginx site in front of comfyq-server
// (comfyq::server::render_nginx_site).

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "comfyq/server/nginx_site.hpp"
#include "subcommand.hpp"

namespace comfyq_server {

inline subcommand add_nginx_config(CLI::App& app) {
  auto site = std::make_shared<comfyq::server::nginx_site>();
  CLI::App* cli = app.add_subcommand(
      "nginx-config", "Print the nginx site for comfyq-server (TLS, passwords, WebSockets) to standard output");
  cli->add_option("--server-name", site->server_name, "The host name participants open, e.g. comfy.example.org")
      ->required();
  cli->add_option("--cert", site->cert, "The TLS certificate chain (PEM), absolute path")->required();
  cli->add_option("--key", site->key, "The certificate's private key (PEM), absolute path")->required();
  cli->add_option("--upstream", site->upstream, "Where comfyq-server listens, host:port")->required();
  cli->add_option("--htpasswd", site->htpasswd, "The htpasswd file from comfyq-server init, absolute path")->required();
  cli->add_option("--listen-port", site->listen_port, "The HTTPS port")->capture_default_str();
  cli->add_option("--redirect-port", site->redirect_port, "The HTTP port that redirects to HTTPS; 0: none")
      ->capture_default_str();
  cli->add_option("--client-max-body-size", site->client_max_body_size, "The largest upload, e.g. 100m or 2g")
      ->capture_default_str();
  return {cli, [site] { std::cout << comfyq::server::render_nginx_site(*site); }};
}

}  // namespace comfyq_server
