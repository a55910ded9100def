#pragma once
// comfyq-server init: the workshop's users and their passwords (comfyq::server::provision_users).

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "comfyq/server/provisioning.hpp"
#include "subcommand.hpp"

namespace comfyq_server {

inline subcommand add_init(CLI::App& app) {
  auto options = std::make_shared<comfyq::server::provisioning_options>();
  CLI::App* cli = app.add_subcommand(
      "init", "Make an admin and N participants with random passwords: DIR/htpasswd and DIR/credentials.txt");
  cli->add_option("--users", options->users, "How many participants: <prefix>01 .. <prefix>N")->required();
  cli->add_option("--prefix", options->prefix, "What participants' names start with")->capture_default_str();
  cli->add_option("--data", options->data, "The server's data folder, where both files go (made if missing)")
      ->required();
  cli->add_option("--bcrypt-cost", options->bcrypt_cost,
                  "bcrypt's cost factor (4..31). The lowest is enough for the random passwords init makes, and "
                  "each step doubles what nginx spends checking a password on every request")
      ->capture_default_str();
  return {cli, [options] {
            const comfyq::server::provisioned_users made = comfyq::server::provision_users(*options);
            std::cout << "Made " << made.names.size() << " users: " << made.names.front() << " (admin), "
                      << made.names[1] << " .. " << made.names.back() << ".\n"
                      << "  " << made.htpasswd_file.string() << ": their bcrypt hashes, for nginx and comfyq-server\n"
                      << "  " << made.credentials_file.string()
                      << ": their passwords, readable by you only; hand each participant their line\n";
          }};
}

}  // namespace comfyq_server
