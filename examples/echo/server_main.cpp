// actr-echo-server: the echo actor as its own process. It registers with actr-signal, accepts
// direct WebSocket connections, and serves until SIGINT/SIGTERM.
//   actr-echo-server --secret S [--signaling URL --listen-host H ...]
//   ACTR_REALM_SECRET=S actr-echo-server --config examples/echo/config/server/actr.toml

#include <actr/config/fingerprint.hpp>

#include <csignal>
#include <cstdio>

#include "actr/runtime/node.hpp"
#include "echo_workload.hpp"
#include "remote_options.hpp"

int main(int argc, char** argv) {
  CLI::App app("echo actor server");
  echo::RemoteOptions options;
  options.add_to(app);
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it

  actr::NodeConfig config;
  if (!options.config.empty()) {  // type, service, listener, ACL and logging from the files
    auto loaded = options.node_config_from_files();
    if (!loaded) {
      std::fprintf(stderr, "actr-echo-server: %s\n", loaded.error().to_string().c_str());
      return 2;
    }
    config = std::move(*loaded);
  } else {
    config = options.node_config(actr::make_actr_type("acme", "echo", "1.0.0"));
    const auto& service = *google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        std::string(echo::v1::EchoServiceHandler::kServiceName));
    config.remote->service = actr::config::service_registration(service);
    config.remote->service_spec = actr::config::make_service_spec(service);
  }
  actr::Node node(config);
  auto actor = node.start(std::make_shared<echo::EchoWorkload>());
  if (!actor) {
    std::fprintf(stderr, "actr-echo-server: %s\n", actor.error().to_string().c_str());
    return 1;
  }
  std::printf("echo server %s ready\n", actr::to_string(actor->id()).c_str());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  actor->shutdown();
  bool stopped = actor->wait_for_shutdown(std::chrono::seconds(10));
  std::printf("echo server stopped%s\n", stopped ? "" : " (timed out)");
  return stopped ? 0 : 1;
}
