// A node process for the multi-process suite: serves remote.v1.RemoteTest through actr-signal.
//   actr_remote_test_server --signaling URL --secret S [--deny-type m:n:v] [--threads N]
//                           [--stream-capacity N] [--mailbox-capacity N] [--listen-port P]
//                           [--advertise-port P]
//   actr_remote_test_server --config dir/actr.toml        (manifest.toml beside it)

#include <CLI/CLI.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <map>

#include "actr/runtime/node.hpp"
#include "actr/runtime/node_files.hpp"
#include "remote_test.actr.hpp"

namespace {

namespace asio = boost::asio;
using namespace remote::v1;

class TestServer : public RemoteTestHandler {
 public:
  asio::awaitable<actr::Result<void>> on_start(actr::Context& ctx) override {
    gate_.emplace(co_await asio::this_coro::executor, std::chrono::steady_clock::time_point::max());
    for (std::string stream : {"reliable", "latency"}) {
      auto record = [this, stream](actr::DataChunk chunk, const actr::ActrId&) -> asio::awaitable<void> {
        seen_[stream].push_back(chunk.sequence());
        co_await wait_for_release();
      };
      if (auto added = ctx.register_stream(stream, std::move(record)); !added)
        co_return std::unexpected(added.error());
    }
    auto release = [this](actr::DataChunk, const actr::ActrId&) -> asio::awaitable<void> {
      released_ = true;
      gate_->cancel();
      co_return;
    };
    if (auto added = ctx.register_stream("release", std::move(release)); !added)
      co_return std::unexpected(added.error());
    co_return actr::Result<void>{};
  }
  // Every other Echo waits a turn of the io_context before the generated serve() decodes it, so
  // its bytes must have been copied out of the wire's buffer they were lent from (Payload::keep).
  asio::awaitable<void> serve(actr::IncomingRequestPtr request) override {
    if (request->route_key() == "remote.v1.RemoteTest.Echo" && ++echoes_ % 2 == 0) {
      auto executor = co_await asio::this_coro::executor;
      co_await asio::post(executor, asio::use_awaitable);
    }
    co_await RemoteTestHandler::serve(std::move(request));
  }
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
    ++counts_["big"];  // a Count with tag "big" then tells how often Big ran
    BlobReply reply;
    reply.set_data(request.data());
    co_return reply;
  }
  asio::awaitable<actr::Result<HoldReply>> hold(const HoldRequest& request, actr::Context& ctx) override {
    log_.push_back(request.tag());
    HoldReply reply;
    reply.set_count(++counts_["hold:" + request.tag()]);
    if (request.announce() && ctx.caller_id()) {
      actr::DataChunk started;
      started.set_stream_id("started");
      started.set_sequence(0);
      started.set_payload(request.tag());
      auto dest = actr::Dest::actor(*ctx.caller_id());
      auto sent = co_await ctx.send_data_chunk(dest, std::move(started));
      if (!sent) co_return std::unexpected(sent.error());
    }
    co_await wait_for_release();
    co_return reply;
  }
  asio::awaitable<actr::Result<UrgentReply>> urgent(const UrgentRequest& request, actr::Context&) override {
    log_.push_back(request.tag());
    co_return UrgentReply{};
  }
  asio::awaitable<actr::Result<LogReply>> log(const LogRequest&, actr::Context&) override {
    LogReply reply;
    for (const auto& entry : log_) reply.add_entries(entry);
    co_return reply;
  }
  asio::awaitable<actr::Result<StreamStateReply>> stream_state(const StreamStateRequest& request,
                                                               actr::Context&) override {
    StreamStateReply reply;
    for (auto sequence : seen_[request.stream_id()]) reply.add_sequences(sequence);
    co_return reply;
  }

 private:
  asio::awaitable<void> wait_for_release() {
    if (released_) co_return;
    boost::system::error_code ec;
    co_await gate_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  std::optional<asio::steady_timer> gate_;  // cancelled (opened for good) by a chunk on "release"
  bool released_ = false;
  std::vector<std::string> log_;
  std::map<std::string, std::vector<std::uint64_t>> seen_;
  std::vector<std::string> notes_;
  std::map<std::string, std::uint64_t> counts_;
  std::uint64_t echoes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("remote test server");
  std::string signaling, secret, deny_type, config_file, type_name = "remote-test", listen_host = "127.0.0.1";
  std::size_t threads = 1, stream_capacity = 256, mailbox_capacity = 1024;
  std::uint16_t listen_port = 0, advertise_port = 0;
  app.add_option("--config", config_file, "actr.toml (manifest.toml beside it); replaces the flags below");
  app.add_option("--signaling", signaling);
  app.add_option("--secret", secret);
  app.add_option("--deny-type", deny_type, "ACL: deny this caller type, allow realm 1's others");
  app.add_option("--threads", threads, "io threads of the node");
  app.add_option("--stream-capacity", stream_capacity, "chunks buffered per stream");
  app.add_option("--mailbox-capacity", mailbox_capacity, "requests queued per lane before senders are held");
  app.add_option("--listen-host", listen_host, "direct-connect address");
  app.add_option("--listen-port", listen_port, "direct-connect port (0: ephemeral)");
  app.add_option("--advertise-port", advertise_port, "port put into ws_address (0: the bound one)");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  actr::NodeConfig config;
  if (!config_file.empty()) {
    auto loaded = actr::load_node_config(config_file);
    if (!loaded) {
      std::fprintf(stderr, "config: %s\n", loaded.error().to_string().c_str());
      return 2;
    }
    config = std::move(*loaded);
  } else {
    if (signaling.empty() || secret.empty()) {
      std::fprintf(stderr, "--signaling and --secret are required without --config\n");
      return 2;
    }
    config.actr_type = actr::make_actr_type("acme", type_name, "1.0.0");
    config.realm_id = 1;
    actr::RemoteConfig remote;
    remote.signaling_url = signaling;
    remote.realm_secret = secret;
    remote.ws_listen_host = listen_host;
    remote.ws_listen_port = listen_port;
    remote.ws_advertised_port = advertise_port;
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
  }
  config.threads = threads;
  config.stream_queue_capacity = stream_capacity;
  config.mailbox_capacity = mailbox_capacity;
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
