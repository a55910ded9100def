// comfyui-standin: the ComfyUI stand-in as a process of its own, for tests that kill it.
// Prints the port it listens on (one line on stdout), then serves until SIGINT or SIGTERM.
// With --crash-at-node the process exits at once (status 70) when that node starts.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "comfyui_standin/standin.hpp"

int main(int argc, char** argv) {
  using comfyq::testing::comfyui_standin;
  using comfyq::testing::standin_config;

  standin_config config;
  long delay_ms = 0;
  std::vector<std::string> node_delays;
  CLI::App app{"A ComfyUI 0.8.0 stand-in for comfyq's tests"};
  app.add_option("--port", config.port, "Port on 127.0.0.1 (0: any free port)");
  app.add_option("--output-dir", config.output_dir, "Where save nodes write")->required();
  app.add_option("--input-dir", config.input_dir, "Uploads (default: input beside the output folder)");
  app.add_option("--temp-dir", config.temp_dir, "Previews (default: temp beside the output folder)");
  app.add_option("--object-info", config.object_info_path, "A recorded GET /object_info body")
      ->capture_default_str();
  app.add_option("--delay-ms", delay_ms, "Simulated run time of every node");
  app.add_option("--node-delay-ms", node_delays, "SEL=MS: run time of a node id or class_type (repeatable)");
  app.add_option("--fail-node", config.knobs.fail_node, "Node id or class_type that raises when it runs");
  app.add_option("--fail-message", config.knobs.fail_message, "exception_message of that failure");
  app.add_option("--invalid-node", config.knobs.invalid_node,
                 "Node id or class_type that fails validation (400, or a partial accept)");
  app.add_option("--drop-socket-at-node", config.knobs.drop_socket_at_node,
                 "Cut the job's WebSocket when this node starts (once)");
  app.add_option("--crash-at-node", config.knobs.crash_at_node, "Exit at once when this node starts");
  app.add_option("--sampler-steps", config.knobs.sampler_steps, "Progress steps of samplers without a steps input");
  app.add_flag("--sampler-previews", config.knobs.sampler_previews, "Samplers send a preview frame per step");
  app.add_flag("--split-writes", config.knobs.split_writes,
               "Send every HTTP answer's headers and body in separate writes, as aiohttp often does");
  CLI11_PARSE(app, argc, argv);

  config.knobs.node_delay = std::chrono::milliseconds(delay_ms);
  for (const auto& entry : node_delays) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos) {
      std::cerr << "--node-delay-ms wants SEL=MS, got " << entry << "\n";
      return 2;
    }
    config.knobs.node_delays[entry.substr(0, equals)] = std::chrono::milliseconds(std::stol(entry.substr(equals + 1)));
  }
  constexpr int crash_exit_status = 70;
  config.on_crash = [] { std::_Exit(crash_exit_status); };

  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  comfyui_standin standin(config);
  std::cout << standin.port() << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  return 0;
}
