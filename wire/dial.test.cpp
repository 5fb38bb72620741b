// Dialing failures: refused ports, silent listeners, bad addresses.

#include <boost/asio/ip/tcp.hpp>

#include "test_support.hpp"

namespace actr::wire {
namespace {

using namespace testing;
using tcp = asio::ip::tcp;

TEST(Dial, ClosedPortIsUnavailableQuickly) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto alice = authority.issue(1);
    std::uint16_t port = 0;
    {
      tcp::acceptor probe(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port = probe.local_endpoint().port();
    }  // closed again: nobody listens there now
    auto started = std::chrono::steady_clock::now();
    auto dialed = co_await connect(ex, "ws://127.0.0.1:" + std::to_string(port), authority.issue(2).id,
                                   alice.id, alice.credential, in(5s));
    CO_ASSERT_TRUE(!dialed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
    EXPECT_EQ(dialed.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(dialed.error().message, "connection refused by ws://127.0.0.1:"))
        << dialed.error().message;
  });
}

TEST(Dial, DeadlineIsHonouredWhenTheListenerNeverAnswers) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto alice = authority.issue(1);
    // Accepts the TCP connection and never says a word.
    tcp::acceptor silent(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::optional<tcp::socket> held;
    silent.async_accept([&held](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) held.emplace(std::move(socket));
    });
    auto started = std::chrono::steady_clock::now();
    auto dialed = co_await connect(ex, "ws://127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
                                   authority.issue(2).id, alice.id, alice.credential, in(300ms));
    auto elapsed = std::chrono::steady_clock::now() - started;
    CO_ASSERT_TRUE(!dialed);
    EXPECT_EQ(dialed.error().code, ErrorCode::TimedOut) << dialed.error().to_string();
    EXPECT_TRUE(contains(dialed.error().message, "WebSocket handshake")) << dialed.error().message;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 2s);
    EXPECT_TRUE(held.has_value());
  });
}

TEST(Dial, RejectsBadInputWithoutDialing) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto alice = authority.issue(1);
    auto target = authority.issue(2).id;
    auto bad_address = co_await connect(ex, "tcp://127.0.0.1:1", target, alice.id, alice.credential, in(1s));
    CO_ASSERT_TRUE(!bad_address);
    EXPECT_EQ(bad_address.error().code, ErrorCode::InvalidArgument);
    AIdCredential incomplete;
    auto bad_credential = co_await connect(ex, "ws://127.0.0.1:1", target, alice.id, incomplete, in(1s));
    CO_ASSERT_TRUE(!bad_credential);
    EXPECT_EQ(bad_credential.error().code, ErrorCode::InvalidArgument);
    auto past = co_await connect(ex, "ws://127.0.0.1:1", target, alice.id, alice.credential,
                                 std::chrono::steady_clock::now() - 1ms);
    CO_ASSERT_TRUE(!past);
    EXPECT_EQ(past.error().code, ErrorCode::TimedOut);
  });
}

}  // namespace
}  // namespace actr::wire
