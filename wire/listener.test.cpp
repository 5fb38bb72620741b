// The listener checks callers before the upgrade: 401 for refused credentials, 400 for malformed headers.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include "test_support.hpp"

namespace actr::wire {
namespace {

using namespace testing;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

struct Counted {
  std::shared_ptr<std::atomic<int>> verifier_calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> connections = std::make_shared<std::atomic<int>>(0);
};

Result<std::shared_ptr<Listener>> start_counted(asio::any_io_executor ex, const Authority& authority,
                                                const Counted& counted) {
  return Listener::start(
      ex, "127.0.0.1", 0, authority.verifier(counted.verifier_calls),
      [connections = counted.connections](std::shared_ptr<Connection>) { ++*connections; });
}

TEST(Listener, RefusesAForgedCredentialBeforeAnyFrame) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    Authority forger;  // a random key the listener does not trust
    Counted counted;
    auto listener = start_counted(ex, authority, counted);
    CO_ASSERT_OK(listener);
    auto forged = forger.issue(1);
    auto dialed = co_await connect(ex, address_of(**listener), authority.issue(2).id, forged.id,
                                   forged.credential, in(5s));
    CO_ASSERT_TRUE(!dialed);
    EXPECT_EQ(dialed.error().code, ErrorCode::PermissionDenied);
    EXPECT_TRUE(contains(dialed.error().message, "refused the credential (HTTP 401)"))
        << dialed.error().message;
    EXPECT_TRUE(contains(dialed.error().message, "signature is invalid")) << dialed.error().message;
    EXPECT_EQ(counted.verifier_calls->load(), 1);
    EXPECT_EQ(counted.connections->load(), 0);
    (*listener)->stop();
  });
}

TEST(Listener, RefusesACredentialIssuedToAnotherActor) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    Counted counted;
    auto listener = start_counted(ex, authority, counted);
    CO_ASSERT_OK(listener);
    auto alice = authority.issue(1);
    auto mallory = authority.issue(3);
    // Mallory presents Alice's genuine credential under her own id.
    auto dialed = co_await connect(ex, address_of(**listener), authority.issue(2).id, mallory.id,
                                   alice.credential, in(5s));
    CO_ASSERT_TRUE(!dialed);
    EXPECT_EQ(dialed.error().code, ErrorCode::PermissionDenied);
    EXPECT_TRUE(contains(dialed.error().message, "was issued to")) << dialed.error().message;
    auto expired = authority.issue(4, -10);
    auto late = co_await connect(ex, address_of(**listener), authority.issue(2).id, expired.id,
                                 expired.credential, in(5s));
    CO_ASSERT_TRUE(!late);
    EXPECT_EQ(late.error().code, ErrorCode::PermissionDenied);
    EXPECT_TRUE(contains(late.error().message, "expired")) << late.error().message;
    EXPECT_EQ(counted.connections->load(), 0);
    (*listener)->stop();
  });
}

struct UpgradeOutcome {
  boost::system::error_code ec;
  unsigned status = 0;
  std::string body;
};

// A bare Beast client sending whatever headers the test wants.
asio::awaitable<UpgradeOutcome> upgrade_with(std::uint16_t port, std::optional<std::string> source,
                                             std::optional<std::string> credential) {
  auto ex = co_await asio::this_coro::executor;
  websocket::stream<beast::tcp_stream> ws(ex);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  co_await beast::get_lowest_layer(ws).async_connect(endpoint, asio::use_awaitable);
  ws.set_option(websocket::stream_base::decorator([source, credential](websocket::request_type& request) {
    if (source) request.set("X-Actr-Source-ID", *source);
    if (credential) request.set("X-Actr-Credential", *credential);
  }));
  websocket::response_type response;
  UpgradeOutcome outcome;
  co_await ws.async_handshake(response, "127.0.0.1", "/",
                              asio::redirect_error(asio::use_awaitable, outcome.ec));
  outcome.status = response.result_int();
  outcome.body = response.body();
  co_return outcome;
}

TEST(Listener, AnswersMalformedHeadersWith400) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    Counted counted;
    auto listener = start_counted(ex, authority, counted);
    CO_ASSERT_OK(listener);
    auto port = (*listener)->port();
    auto alice = authority.issue(1);
    std::string good_source = hex_encode(alice.id.SerializeAsString());
    std::string good_credential = base64_encode(alice.credential.SerializeAsString());

    struct Case {
      std::optional<std::string> source, credential;
      std::string expected;
    };
    std::vector<Case> cases;
    cases.push_back(Case{std::nullopt, good_credential, "missing X-Actr-Source-ID header"});
    cases.push_back(Case{good_source, std::nullopt, "missing X-Actr-Credential header"});
    cases.push_back(Case{std::string("zz"), good_credential, "X-Actr-Source-ID is not hex"});
    cases.push_back(Case{std::string("0a0b"), good_credential, "X-Actr-Source-ID is not an encoded ActrId"});
    cases.push_back(Case{good_source, std::string("!!!"), "X-Actr-Credential is not base64"});
    cases.push_back(
        Case{good_source, std::string("AAAA"), "X-Actr-Credential is not an encoded AIdCredential"});
    for (const auto& c : cases) {
      auto outcome = co_await upgrade_with(port, c.source, c.credential);
      EXPECT_EQ(outcome.ec, websocket::error::upgrade_declined) << c.expected;
      EXPECT_EQ(outcome.status, 400u) << c.expected;
      EXPECT_TRUE(contains(outcome.body, c.expected)) << outcome.body;
    }
    EXPECT_EQ(counted.verifier_calls->load(), 0);  // malformed requests never reach the verifier
    EXPECT_EQ(counted.connections->load(), 0);

    // A URL-safe, unpadded credential is accepted as well.
    std::string url_safe = base64url_encode(alice.credential.SerializeAsString());
    auto ok = co_await upgrade_with(port, good_source, url_safe);
    EXPECT_FALSE(ok.ec) << ok.ec.message();
    EXPECT_EQ(ok.status, 101u);
    (*listener)->stop();
  });
}

TEST(Listener, TransientVerifierFailureAnswers503) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    Verifier unavailable = [](ActrId, AIdCredential) -> asio::awaitable<Result<ActrId>> {
      co_return fail(ErrorCode::Unavailable, "signing key 1 not fetched yet");
    };
    auto listener = Listener::start(ex, "127.0.0.1", 0, unavailable, [](std::shared_ptr<Connection>) {});
    CO_ASSERT_OK(listener);
    auto alice = authority.issue(1);
    auto dialed = co_await connect(ex, address_of(**listener), authority.issue(2).id, alice.id,
                                   alice.credential, in(5s));
    CO_ASSERT_TRUE(!dialed);
    EXPECT_EQ(dialed.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(dialed.error().message, "HTTP 503")) << dialed.error().message;
    EXPECT_TRUE(contains(dialed.error().message, "signing key 1 not fetched yet")) << dialed.error().message;
    (*listener)->stop();
  });
}

TEST(Listener, ReportsBindFailures) {
  asio::io_context io;
  auto verifier = Authority{}.verifier();
  auto first =
      Listener::start(io.get_executor(), "127.0.0.1", 0, verifier, [](std::shared_ptr<Connection>) {});
  ASSERT_TRUE(first) << first.error().to_string();
  auto taken = Listener::start(io.get_executor(), "127.0.0.1", (*first)->port(), verifier,
                               [](std::shared_ptr<Connection>) {});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::Unavailable);
  EXPECT_TRUE(contains(taken.error().message, "bind failed")) << taken.error().message;
  auto bad_host =
      Listener::start(io.get_executor(), "not an ip", 0, verifier, [](std::shared_ptr<Connection>) {});
  ASSERT_FALSE(bad_host);
  EXPECT_EQ(bad_host.error().code, ErrorCode::InvalidArgument);
  (*first)->stop();
  io.run();
}

}  // namespace
}  // namespace actr::wire
