#pragma once
// The workload the in-process suite drives. Its handlers record what happened so tests can assert
// on order and concurrency without sleeping: barriers and gates are Asio timers the test opens.

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <mutex>

#include "actr/runtime/node.hpp"
#include "inproc_test.actr.hpp"

namespace inproc::test {

namespace asio = boost::asio;
using namespace inproc::v1;

inline actr::NodeConfig test_config() {
  actr::NodeConfig config;
  config.actr_type = actr::make_actr_type("acme", "inproc-test", "v1");
  config.realm_id = 1;
  config.shutdown_grace = std::chrono::milliseconds(300);
  return config;
}

/// A gate the test opens from any thread; handlers wait on it (bounded, so nothing hangs).
class Gate {
 public:
  asio::awaitable<void> wait() {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, std::chrono::seconds(10));
    {
      std::lock_guard lock(mutex_);
      if (open_) co_return;
      timers_.push_back(&timer);
    }
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  /// Cancels waiting timers through their own executors (never touched off their strand).
  void open(const asio::any_io_executor& ex) {
    asio::post(ex, [this] {
      std::lock_guard lock(mutex_);
      open_ = true;
      for (auto* timer : timers_) timer->cancel();
      timers_.clear();
    });
  }

 private:
  std::mutex mutex_;
  bool open_ = false;
  std::vector<asio::steady_timer*> timers_;
};

class TestWorkload : public TestServiceHandler {
 public:
  std::vector<std::string> events;  // lifecycle and handler order, touched only on the strand
  std::vector<std::string> notes;
  int active = 0;
  int max_active = 0;
  std::vector<std::string> slow_order;
  std::size_t barrier_expected = 0;  // Slow waits until this many Slow requests are active
  actr::SchedulingPolicy policy;
  actr::Result<void> start_result;
  std::promise<void> blocked;
  Gate release;

  actr::SchedulingPolicy scheduling() const override { return policy; }

  asio::awaitable<actr::Result<void>> on_start(actr::Context& ctx) override {
    events.push_back("start");
    auto registered = ctx.register_stream(
        "numbers", [this](actr::DataChunk chunk, const actr::ActrId&) -> asio::awaitable<void> {
          received.push_back(chunk.sequence());
          if (received.size() == expected_chunks && stream_done) stream_done->cancel();
          co_return;
        });
    if (!registered) co_return registered;
    co_return start_result;
  }

  asio::awaitable<void> on_stop(actr::Context&) override {
    events.push_back("stop");
    co_return;
  }

  asio::awaitable<actr::Result<EchoResponse>> echo(const EchoRequest& request, actr::Context&) override {
    events.push_back("echo:" + request.text());
    EchoResponse response;
    response.set_text(request.text());
    co_return response;
  }

  asio::awaitable<actr::Result<FailResponse>> fail(const FailRequest& request, actr::Context& ctx) override {
    switch (request.mode()) {
      case 0: co_return actr::fail(actr::ErrorCode::PermissionDenied, "not for you");
      case 1: throw std::runtime_error("boom");
      case 2: {
        auto other = actr::make_actr_id(1, 0xbeef, actr::make_actr_type("acme", "other", "v1"));
        EchoRequest echo_request;
        auto reply = co_await ctx.call(actr::Dest::actor(other), echo_request);
        if (!reply) co_return std::unexpected(reply.error());
        co_return FailResponse{};
      }
      case 3: {
        auto found = co_await ctx.discover_route_candidate(actr::make_actr_type("acme", "other", "v1"));
        if (!found) co_return std::unexpected(found.error());
        co_return FailResponse{};
      }
      default: {
        actr::MediaSample sample("video", "frame");
        auto sent = co_await ctx.send_media_sample(actr::Dest::local(), std::move(sample));
        if (!sent) co_return std::unexpected(sent.error());
        co_return FailResponse{};
      }
    }
  }

  asio::awaitable<actr::Result<SlowResponse>> slow(const SlowRequest& request, actr::Context&) override {
    ++active;
    max_active = std::max(max_active, active);
    slow_order.push_back(request.account() + ":" + std::to_string(request.step()));
    if (barrier_expected > 0) {
      if (static_cast<std::size_t>(active) >= barrier_expected) {
        release.open(co_await asio::this_coro::executor);
      }
      co_await release.wait();
    } else {
      for (int i = 0; i < 5; ++i)
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    --active;
    co_return SlowResponse{};
  }

  asio::awaitable<actr::Result<SleepResponse>> sleep(const SleepRequest& request, actr::Context&) override {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(request.millis()));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return SleepResponse{};
  }

  asio::awaitable<actr::Result<BlockResponse>> block(const BlockRequest&, actr::Context&) override {
    events.push_back("block");
    blocked.set_value();
    co_await release.wait();
    co_return BlockResponse{};
  }

  asio::awaitable<actr::Result<PingResponse>> ping(const PingRequest& request, actr::Context&) override {
    events.push_back("ping");
    PingResponse response;
    response.set_n(request.n());
    co_return response;
  }

  asio::awaitable<actr::Result<NoteResponse>> note(const NoteRequest& request, actr::Context& ctx) override {
    notes.push_back(request.text() + (ctx.caller_id() ? ":actor" : ":shell"));
    co_return NoteResponse{};
  }

  asio::awaitable<actr::Result<AskShellResponse>> ask_shell(const AskShellRequest& request,
                                                            actr::Context& ctx) override {
    ShellQuestion question;
    question.set_text(request.text());
    auto answer = co_await ctx.call(actr::Dest::shell(), question);
    if (!answer) co_return std::unexpected(answer.error());
    AskShellResponse response;
    response.set_text(answer->text());
    co_return response;
  }

  asio::awaitable<actr::Result<StreamResponse>> stream(const StreamRequest& request,
                                                       actr::Context& ctx) override {
    received.clear();
    expected_chunks = request.count();
    asio::steady_timer done(co_await asio::this_coro::executor, std::chrono::seconds(10));
    stream_done = &done;
    for (std::uint64_t i = 0; i < request.count(); ++i) {
      actr::DataChunk chunk;
      chunk.set_stream_id("numbers");
      chunk.set_sequence(i);
      chunk.set_payload(std::string(16, 'x'));
      auto sent = co_await ctx.send_data_chunk(actr::Dest::local(), std::move(chunk));
      if (!sent) co_return std::unexpected(sent.error());
    }
    if (received.size() < expected_chunks) {
      boost::system::error_code ec;
      co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    stream_done = nullptr;
    StreamResponse response;
    for (auto seq : received) response.add_received(seq);
    co_return response;
  }

 private:
  std::vector<std::uint64_t> received;
  std::size_t expected_chunks = 0;
  asio::steady_timer* stream_done = nullptr;
};

}  // namespace inproc::test
