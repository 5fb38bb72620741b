// actr-echo-client: a host application whose actor discovers an echo server through actr-signal,
// calls it over a WebSocket direct connection, and reports what it saw.
//   actr-echo-client --secret S [--signaling URL --calls N]
//   ACTR_REALM_SECRET=S actr-echo-client --config examples/echo/config/client/actr.toml

#include <algorithm>
#include <cstdio>

#include "actr/runtime/node.hpp"
#include "echo/v1/echo.actr.hpp"
#include "remote_options.hpp"

namespace {

class DemoClient : public echo::v1::EchoDemoHandler {
 public:
  boost::asio::awaitable<actr::Result<echo::v1::RunDemoReport>> run_demo(
      const echo::v1::RunDemoRequest& request, actr::Context& ctx) override {
    auto server = co_await ctx.discover_route_candidate(actr::make_actr_type("acme", "echo", "1.0.0"));
    if (!server) co_return std::unexpected(server.error());
    echo::v1::RunDemoReport report;
    report.set_server(actr::to_string(*server));
    echo::v1::EchoServiceClient echo_client(ctx, actr::Dest::actor(*server));
    std::vector<double> micros;
    for (std::uint32_t i = 0; i < std::max<std::uint32_t>(request.calls(), 3); ++i) {
      echo::v1::EchoRequest call;
      call.set_text(i < 3 ? std::vector<std::string>{"hello", "actor", "world"}[i] : "ping");
      auto started = std::chrono::steady_clock::now();
      auto reply = co_await echo_client.echo(std::move(call));
      micros.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count());
      if (!reply) co_return std::unexpected(reply.error());
      if (i < 3) report.add_replies(reply->text());
    }
    std::sort(micros.begin(), micros.end());
    report.set_round_trip_p50_us(micros[micros.size() / 2]);
    report.set_round_trip_p99_us(micros[micros.size() * 99 / 100]);
    co_return report;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("echo demo client");
  echo::RemoteOptions options;
  options.listen_host.clear();  // the client only dials
  std::uint32_t calls = 1000;
  options.add_to(app);
  app.add_option("--calls", calls, "echo calls to time");
  CLI11_PARSE(app, argc, argv);

  actr::NodeConfig config;
  if (!options.config.empty()) {
    auto loaded = options.node_config_from_files();
    if (!loaded) {
      std::fprintf(stderr, "actr-echo-client: %s\n", loaded.error().to_string().c_str());
      return 2;
    }
    config = std::move(*loaded);
  } else {
    config = options.node_config(actr::make_actr_type("acme", "echo-client", "1.0.0"));
  }
  actr::Node node(config);
  auto actor = node.start(std::make_shared<DemoClient>());
  if (!actor) {
    std::fprintf(stderr, "actr-echo-client: %s\n", actor.error().to_string().c_str());
    return 1;
  }
  std::printf("echo client %s registered\n", actr::to_string(actor->id()).c_str());
  echo::v1::RunDemoRequest request;
  request.set_calls(calls);
  auto report = actor->call_sync(request, std::chrono::milliseconds(60'000));
  if (!report) {
    std::fprintf(stderr, "actr-echo-client: %s\n", report.error().to_string().c_str());
    return 1;
  }
  std::printf("discovered %s\n", report->server().c_str());
  for (const auto& reply : report->replies()) std::printf("echo reply: %s\n", reply.c_str());
  std::printf("%u remote round trips over WebSocket: p50 %.1f us, p99 %.1f us\n", calls,
              report->round_trip_p50_us(), report->round_trip_p99_us());
  actor->shutdown();
  return actor->wait_for_shutdown(std::chrono::seconds(10)) ? 0 : 1;
}
