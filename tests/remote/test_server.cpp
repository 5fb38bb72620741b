// A node process for the multi-process suite: serves remote.v1.RemoteTest through actr-signal.
//   actr_remote_test_server --signaling URL --secret S [--deny-type m:n:v]

#include <CLI/CLI.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <map>

#include "actr/runtime/node.hpp"
#include "remote_test.actr.hpp"

namespace {

namespace asio = boost::asio;
using namespace remote::v1;

class TestServer : public RemoteTestHandler {
 public:
  asio::awaitable<actr::Result<EchoReply>> echo(const Text& request, actr::Context& ctx) override {
    EchoReply reply;
    reply.set_text(request.text());
    for (const auto& [key, value] : ctx.metadata()) reply.add_metadata(key + "=" + value);
    reply.set_traceparent(ctx.trace().to_traceparent());
    if (ctx.caller_id()) reply.set_caller(actr::to_string(*ctx.caller_id()));
    co_return reply;
  }
  asio::awaitable<actr::Result<NoteReply>> note(const NoteRequest& request, actr::Context&) override {
    notes_.push_back(request.text());
    co_return NoteReply{};
  }
  asio::awaitable<actr::Result<NotesReply>> notes(const NotesRequest&, actr::Context&) override {
    NotesReply reply;
    for (const auto& note : notes_) reply.add_notes(note);
    co_return reply;
  }
  asio::awaitable<actr::Result<FailReply>> fail(const FailRequest& request, actr::Context&) override {
    co_return actr::fail(static_cast<actr::ErrorCode>(request.code()), request.message());
  }
  asio::awaitable<actr::Result<CountReply>> count(const CountRequest& request, actr::Context&) override {
    CountReply reply;
    reply.set_count(++counts_[request.tag()]);
    co_return reply;
  }
  asio::awaitable<actr::Result<SleepReply>> sleep(const SleepRequest& request, actr::Context&) override {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(request.millis()));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return SleepReply{};
  }
  asio::awaitable<actr::Result<BlobReply>> big(const Blob& request, actr::Context&) override {
    BlobReply reply;
    reply.set_data(request.data());
    co_return reply;
  }

 private:
  std::vector<std::string> notes_;
  std::map<std::string, std::uint64_t> counts_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("remote test server");
  std::string signaling, secret, deny_type, type_name = "remote-test";
  app.add_option("--signaling", signaling)->required();
  app.add_option("--secret", secret)->required();
  app.add_option("--deny-type", deny_type, "ACL: deny this caller type, allow realm 1's others");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  actr::NodeConfig config;
  config.actr_type = actr::make_actr_type("acme", type_name, "1.0.0");
  config.realm_id = 1;
  actr::RemoteConfig remote;
  remote.signaling_url = signaling;
  remote.realm_secret = secret;
  if (!deny_type.empty()) {
    auto denied = actr::parse_actr_type(deny_type);
    if (!denied) return 2;
    auto* deny = remote.acl.add_rules();
    deny->set_permission(actr::AclRule::DENY);
    *deny->mutable_from_type() = *denied;
    deny->set_any_realm(true);
    auto* allow = remote.acl.add_rules();  // everyone else of the test client type
    allow->set_permission(actr::AclRule::ALLOW);
    *allow->mutable_from_type() = actr::make_actr_type("acme", "remote-client", "1.0.0");
    allow->set_any_realm(true);
  }
  config.remote = std::move(remote);
  actr::Node node(config);
  auto actor = node.start(std::make_shared<TestServer>());
  if (!actor) {
    std::fprintf(stderr, "start: %s\n", actor.error().to_string().c_str());
    return 1;
  }
  std::printf("ready %s\n", actr::to_string(actor->id()).c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  actor->shutdown();
  return actor->wait_for_shutdown(std::chrono::seconds(10)) ? 0 : 1;
}
