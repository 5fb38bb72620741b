// actr-echo-inproc: a host application with its own echo actor. It starts a node, calls the
// actor a few times through its ActorRef, measures a round trip and shuts down cleanly.

#include <chrono>
#include <cstdio>

#include "actr/runtime/node.hpp"
#include "echo_workload.hpp"

int main() {
  actr::NodeConfig config;
  config.actr_type = actr::make_actr_type("acme", "echo", "1.0.0");
  config.realm_id = 1;
  actr::Node node(config);
  auto actor = node.start(std::make_shared<echo::EchoWorkload>());
  if (!actor) {
    std::fprintf(stderr, "start failed: %s\n", actor.error().to_string().c_str());
    return 1;
  }
  std::printf("started %s\n", actr::to_string(actor->id()).c_str());

  for (const char* text : {"hello", "actor", "world"}) {
    echo::v1::EchoRequest request;
    request.set_text(text);
    auto reply = actor->call_sync(request);
    if (!reply) {
      std::fprintf(stderr, "call failed: %s\n", reply.error().to_string().c_str());
      return 1;
    }
    std::printf("echo(%s) -> %s (served %llu)\n", text, reply->text().c_str(),
                static_cast<unsigned long long>(reply->served()));
  }
  echo::v1::ShoutRequest shout;
  shout.set_text("quiet please");
  if (auto reply = actor->call_sync(shout)) std::printf("shout(quiet please) -> %s\n", reply->text().c_str());

  // Round trips measured from a coroutine on the actor's own strand: no thread hop.
  constexpr int kCalls = 100'000;
  auto elapsed = boost::asio::co_spawn(
                     actor->executor(),
                     [&]() -> boost::asio::awaitable<std::chrono::nanoseconds> {
                       echo::v1::EchoRequest request;
                       request.set_text("ping");
                       auto start = std::chrono::steady_clock::now();
                       for (int i = 0; i < kCalls; ++i) {
                         auto reply = co_await actor->call(request);
                         if (!reply) break;
                       }
                       co_return std::chrono::steady_clock::now() - start;
                     },
                     boost::asio::use_future)
                     .get();
  std::printf("%d in-process round trips: %.3f us each\n", kCalls,
              std::chrono::duration<double, std::micro>(elapsed).count() / kCalls);

  actor->shutdown();
  if (!actor->wait_for_shutdown(std::chrono::seconds(5))) {
    std::fprintf(stderr, "shutdown timed out\n");
    return 1;
  }
  std::printf("stopped cleanly\n");
  return 0;
}
