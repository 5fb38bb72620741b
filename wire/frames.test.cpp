// RFC 6455 framing of a Connection against a hand-driven peer on a raw loopback socket: fragments,
// masking, control frames, protocol errors, the closing handshake and how bytes are split across reads.

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "framing.hpp"
#include "test_support.hpp"
#include "ws_codec.hpp"

namespace actr::wire {
namespace {

using namespace testing;
using tcp = asio::ip::tcp;

struct RawFrame {
  bool fin = true;
  std::uint8_t opcode = 0;
  bool masked = false;
  ws::MaskKey key{};
  std::string payload;
};

/// One end of a WebSocket connection driven byte by byte by the test.
class RawPeer {
 public:
  explicit RawPeer(tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<void> write(std::string bytes) {
    auto buffer = asio::buffer(bytes);
    co_await asio::async_write(socket_, buffer, asio::use_awaitable);
  }

  /// The next frame (unmasked), or nothing at EOF.
  asio::awaitable<std::optional<RawFrame>> read_frame() {
    std::optional<RawFrame> frame;
    ws::FrameHeader header;
    std::size_t head = 0;
    bool eof = false;
    while ((head = ws::parse_header(in_.data(), in_.size(), header)) == 0 && !eof) eof = !co_await fill();
    while (head != 0 && in_.size() < head + header.length && !eof) eof = !co_await fill();
    if (head != 0 && in_.size() >= head + header.length) {
      frame.emplace();
      frame->fin = header.fin;
      frame->opcode = header.opcode;
      frame->masked = header.masked;
      frame->key = header.mask;
      frame->payload = in_.substr(head, static_cast<std::size_t>(header.length));
      if (header.masked) ws::apply_mask(frame->payload.data(), frame->payload.size(), header.mask);
      in_.erase(0, head + static_cast<std::size_t>(header.length));
    }
    co_return frame;
  }

  /// Reads until the peer closes the TCP connection; true if it did.
  asio::awaitable<bool> until_eof() {
    bool open = true;
    while (open) open = co_await fill();
    co_return true;
  }

  tcp::socket& socket() { return socket_; }
  std::string& buffered() { return in_; }

 private:
  asio::awaitable<bool> fill() {
    char chunk[4096];
    boost::system::error_code ec;
    auto buffer = asio::buffer(chunk);
    std::size_t n = co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    in_.append(chunk, n);
    co_return true;
  }

  tcp::socket socket_;
  std::string in_;
};

/// One WebSocket frame as a peer would send it; `masked` as a client does.
std::string ws_frame(std::uint8_t opcode, std::string_view payload, bool masked, bool fin = true,
                     std::uint8_t rsv = 0) {
  char head[ws::kMaxHeaderBytes];
  ws::MaskKey key{0x5a, 0x13, 0xc7, 0x88};
  std::size_t size = ws::write_header(head, opcode, payload.size(), fin, masked ? &key : nullptr);
  head[0] = static_cast<char>(head[0] | (rsv << 4));
  std::string out(head, size);
  std::string body(payload);
  if (masked) ws::apply_mask(body.data(), body.size(), key);
  return out + body;
}

/// The 5-byte lane header and data: one actr frame, the payload of a binary message.
std::string lane_frame(PayloadType lane, std::string_view data) {
  auto header = detail::encode_header(lane, static_cast<std::uint32_t>(data.size()));
  return std::string(header.data(), header.size()) + std::string(data);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return out + std::string(reason);
}

std::uint16_t close_code_of(const RawFrame& frame) {
  if (frame.payload.size() < 2) return 0;
  return static_cast<std::uint16_t>(static_cast<unsigned char>(frame.payload[0]) << 8 |
                                    static_cast<unsigned char>(frame.payload[1]));
}

/// A client that upgrades by hand (with valid credentials) and then speaks raw frames. `early` is
/// written in the same segment as the upgrade request.
asio::awaitable<std::unique_ptr<RawPeer>> raw_dial(std::uint16_t port, const Identity& caller,
                                                   std::string early = {}) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  auto peer = std::make_unique<RawPeer>(std::move(socket));
  std::string request = fmt::format(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "X-Actr-Source-ID: {}\r\nX-Actr-Credential: {}\r\n\r\n",
      hex_encode(caller.id.SerializeAsString()), base64_encode(caller.credential.SerializeAsString()));
  co_await peer->write(request + early);
  auto buffer = asio::dynamic_buffer(peer->buffered());
  std::size_t header_end =
      co_await asio::async_read_until(peer->socket(), buffer, "\r\n\r\n", asio::use_awaitable);
  std::string answer = peer->buffered().substr(0, header_end);
  peer->buffered().erase(0, header_end);
  EXPECT_TRUE(contains(answer, "HTTP/1.1 101")) << answer;
  EXPECT_TRUE(contains(answer, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) << answer;
  co_return peer;
}

/// A server that accepts one dialer by hand and answers its upgrade with 101 (then `early`).
asio::awaitable<std::unique_ptr<RawPeer>> raw_accept(tcp::acceptor& acceptor, std::string early = {}) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  auto peer = std::make_unique<RawPeer>(std::move(socket));
  auto buffer = asio::dynamic_buffer(peer->buffered());
  std::size_t header_end =
      co_await asio::async_read_until(peer->socket(), buffer, "\r\n\r\n", asio::use_awaitable);
  std::string request = peer->buffered().substr(0, header_end);
  peer->buffered().erase(0, header_end);
  std::string key;
  if (auto at = request.find("Sec-WebSocket-Key: "); at != std::string::npos) {
    key = request.substr(at + 19, request.find("\r\n", at) - at - 19);
  }
  std::string answer = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\n\r\n",
      ws::accept_key(key));
  co_await peer->write(answer + early);
  co_return peer;
}

/// A listener whose first connection lands in a slot, and a raw client connected to it.
struct ListenerFixture {
  explicit ListenerFixture(asio::any_io_executor ex) : accepted(ex) {}
  Authority authority;
  Identity caller = authority.issue(1);
  Slot<std::shared_ptr<Connection>> accepted;
  std::shared_ptr<Listener> listener;

  bool start(asio::any_io_executor ex, Options options = {}) {
    auto started = Listener::start(
        ex, "127.0.0.1", 0, authority.verifier(),
        [this](std::shared_ptr<Connection> c) { accepted.set(std::move(c)); }, options);
    EXPECT_TRUE(started) << started.error().to_string();
    if (started) listener = *started;
    return listener != nullptr;
  }
};

TEST(Frames, ReassemblesFragmentsAndAnswersPingsBetweenThem) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    CO_ASSERT_TRUE(fx.start(ex));
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller);
    auto far = co_await fx.accepted.get();

    std::string message = lane_frame(STREAM_RELIABLE, std::string(3000, 'a') + std::string(5000, 'b'));
    std::string wire = ws_frame(ws::kBinary, message.substr(0, 3), true, false) +  // lane header, split
                       ws_frame(ws::kPing, "are you there", true) +                // between fragments
                       ws_frame(ws::kContinuation, message.substr(3, 4000), true, false) +
                       ws_frame(ws::kContinuation, "", true, false) +  // empty fragment
                       ws_frame(ws::kContinuation, message.substr(4003), true, true);
    co_await raw->write(wire);
    auto got = co_await far->receive();
    CO_ASSERT_OK(got);
    EXPECT_EQ(got->lane, STREAM_RELIABLE);
    EXPECT_EQ(got->data, message.substr(5));
    auto pong = co_await raw->read_frame();
    CO_ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, ws::kPong);
    EXPECT_FALSE(pong->masked);  // server to client: never masked
    EXPECT_EQ(pong->payload, "are you there");
    fx.listener->stop();
  });
}

TEST(Frames, ManyFramesInOneSegmentAndFramesSplitByteByByte) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    CO_ASSERT_TRUE(fx.start(ex));
    // The first frames ride in the same segment as the upgrade request.
    std::string early = ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "early"), true);
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller, early);
    auto far = co_await fx.accepted.get();
    auto first = co_await far->receive();
    CO_ASSERT_OK(first);
    EXPECT_EQ(first->data, "early");

    std::string burst;
    for (int i = 0; i < 500; ++i)
      burst += ws_frame(ws::kBinary, lane_frame(RPC_SIGNAL, std::to_string(i)), true);
    co_await raw->write(burst);
    for (int i = 0; i < 500; ++i) {
      auto frame = co_await far->receive();
      CO_ASSERT_OK(frame);
      EXPECT_EQ(frame->data, std::to_string(i));
    }

    // 16-bit and 64-bit extended lengths, each byte its own segment (and its own read).
    for (std::size_t size : {std::size_t{300}, std::size_t{70000}}) {
      std::string bytes = ws_frame(ws::kBinary, lane_frame(STREAM_RELIABLE, std::string(size, 'z')), true);
      asio::steady_timer pause(ex);
      const std::size_t step = size < 1000 ? 1 : 997;  // byte by byte over the header, then in chunks
      for (std::size_t at = 0; at < bytes.size();) {
        std::size_t n = at < 16 ? 1 : step;
        co_await raw->write(bytes.substr(at, n));
        at += n;
        if (at < 32 || at % (step * 16) < step) {
          pause.expires_after(1ms);  // let the reader see the partial frame
          co_await pause.async_wait(asio::use_awaitable);
        }
      }
      auto frame = co_await far->receive();
      CO_ASSERT_OK(frame);
      EXPECT_EQ(frame->data, std::string(size, 'z'));
    }
    fx.listener->stop();
  });
}

TEST(Frames, DialerMasksEveryFrameWithAFreshKeyAndReadsUnmaskedOnes) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    // The 101 and the first frame in one segment.
    std::string early = ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "hello dialer"), false);
    auto accepting = raw_accept(acceptor, early);
    Slot<std::unique_ptr<RawPeer>> raw_slot(ex);
    asio::co_spawn(ex, std::move(accepting), [&raw_slot](std::exception_ptr, std::unique_ptr<RawPeer> peer) {
      raw_slot.set(std::move(peer));
    });
    auto dialed = co_await connect(ex, "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()),
                                   authority.issue(2).id, client.id, client.credential, in(5s));
    CO_ASSERT_OK(dialed);
    auto raw = co_await raw_slot.get();
    CO_ASSERT_TRUE(raw);
    auto near = *dialed;
    auto hello = co_await near->receive();
    CO_ASSERT_OK(hello);
    EXPECT_EQ(hello->data, "hello dialer");

    // Small (copied into the batch) and big (masked in place) payloads, several per batch.
    const std::size_t sizes[] = {0, 1, 120, 121, 2043, 2048, 2049, 65531, 100000};
    for (std::size_t size : sizes) CO_ASSERT_OK(near->send(STREAM_RELIABLE, std::string(size, 'm')));
    std::vector<ws::MaskKey> keys;
    for (std::size_t size : sizes) {
      auto frame = co_await raw->read_frame();
      CO_ASSERT_TRUE(frame);
      EXPECT_TRUE(frame->masked);
      EXPECT_EQ(frame->opcode, ws::kBinary);
      EXPECT_EQ(frame->payload, lane_frame(STREAM_RELIABLE, std::string(size, 'm')));
      keys.push_back(frame->key);
    }
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end()) << "masking keys repeat";

    // A masked frame from the server breaks the protocol: 1002 and DecodeFailure.
    co_await raw->write(ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "masked"), true));
    auto bad = co_await near->receive();
    CO_ASSERT_TRUE(!bad);
    EXPECT_EQ(bad.error().code, ErrorCode::DecodeFailure);
    EXPECT_TRUE(contains(bad.error().message, "frame from the server is masked")) << bad.error().message;
    auto close = co_await raw->read_frame();
    CO_ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, ws::kClose);
    EXPECT_TRUE(close->masked);
    EXPECT_EQ(close_code_of(*close), ws::close_code::kProtocolError);
    EXPECT_TRUE(co_await raw->until_eof());  // the dialer shuts down after a protocol error
  });
}

struct Violation {
  const char* name;
  std::string frame;
  const char* reason;
};

class ProtocolViolation : public ::testing::TestWithParam<Violation> {};

TEST_P(ProtocolViolation, ClosesWith1002AndDecodeFailure) {
  Violation violation = GetParam();
  run([violation]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    CO_ASSERT_TRUE(fx.start(ex));
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller);
    auto far = co_await fx.accepted.get();
    co_await raw->write(ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "fine"), true) + violation.frame);
    auto fine = co_await far->receive();
    CO_ASSERT_OK(fine);
    EXPECT_EQ(fine->data, "fine");
    auto bad = co_await far->receive();
    CO_ASSERT_TRUE(!bad);
    EXPECT_EQ(bad.error().code, ErrorCode::DecodeFailure);
    EXPECT_TRUE(contains(bad.error().message, violation.reason)) << bad.error().message;
    auto close = co_await raw->read_frame();
    CO_ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, ws::kClose);
    EXPECT_EQ(close_code_of(*close), ws::close_code::kProtocolError);
    EXPECT_TRUE(contains(close->payload, violation.reason)) << close->payload;
    // Answering the close ends the connection at once (after a broken frame it was shut down anyway).
    co_await raw->write(ws_frame(ws::kClose, close_payload(ws::close_code::kProtocolError, ""), true));
    auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(co_await raw->until_eof());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    fx.listener->stop();
  });
}

INSTANTIATE_TEST_SUITE_P(
    Wire, ProtocolViolation,
    ::testing::Values(
        Violation{"ReservedBit", ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "x"), true, true, 4),
                  "reserved bits set"},
        Violation{"UnknownOpcode", ws_frame(3, "x", true), "unknown opcode"},
        Violation{"Unmasked", ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "x"), false),
                  "frame from the client is not masked"},
        Violation{"FragmentedPing", ws_frame(ws::kPing, "x", true, false), "fragmented control frame"},
        Violation{"StrayContinuation", ws_frame(ws::kContinuation, "x", true),
                  "continuation frame without a message to continue"},
        Violation{"InterruptedFragments",
                  ws_frame(ws::kBinary, "ab", true, false) + ws_frame(ws::kBinary, "cd", true),
                  "new message before the fragmented one was finished"},
        Violation{"TextMessage", ws_frame(ws::kText, "hello", true), "expected a binary message, got text"},
        Violation{"BadCloseCode", ws_frame(ws::kClose, close_payload(1005, ""), true),
                  "invalid close code 1005"}),
    [](const ::testing::TestParamInfo<Violation>& info) { return std::string(info.param.name); });

TEST(Frames, OversizeFragmentedMessageCloses1009) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    Options small;
    small.max_message_size = 1000;
    CO_ASSERT_TRUE(fx.start(ex, small));
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller);
    auto far = co_await fx.accepted.get();
    // Each fragment fits; together they do not. The rest of the message is drained unread.
    std::string wire = ws_frame(ws::kBinary, std::string(600, 'x'), true, false) +
                       ws_frame(ws::kContinuation, std::string(600, 'x'), true, false) +
                       ws_frame(ws::kContinuation, std::string(600, 'x'), true, true);
    co_await raw->write(wire);
    auto bad = co_await far->receive();
    CO_ASSERT_TRUE(!bad);
    EXPECT_EQ(bad.error().code, ErrorCode::DecodeFailure);
    EXPECT_TRUE(contains(bad.error().message, "exceeds max_message_size (1000 bytes)"))
        << bad.error().message;
    auto close = co_await raw->read_frame();
    CO_ASSERT_TRUE(close);
    EXPECT_EQ(close_code_of(*close), ws::close_code::kTooBig);
    // Finishing the closing handshake ends the connection promptly.
    co_await raw->write(ws_frame(ws::kClose, close_payload(ws::close_code::kTooBig, ""), true));
    EXPECT_TRUE(co_await raw->until_eof());
    fx.listener->stop();
  });
}

TEST(Frames, PeerInitiatedCloseIsEchoedAndReported) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    CO_ASSERT_TRUE(fx.start(ex));
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller);
    auto far = co_await fx.accepted.get();
    co_await raw->write(ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, "last words"), true) +
                        ws_frame(ws::kClose, close_payload(1001, "bye"), true));
    auto last = co_await far->receive();
    CO_ASSERT_OK(last);
    EXPECT_EQ(last->data, "last words");
    auto end = co_await far->receive();
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error().code, ErrorCode::Unavailable);
    EXPECT_EQ(end.error().message, "connection closed by peer: bye (close code 1001)");
    auto echo = co_await raw->read_frame();
    CO_ASSERT_TRUE(echo);
    EXPECT_EQ(echo->opcode, ws::kClose);
    EXPECT_EQ(close_code_of(*echo), 1001);
    EXPECT_TRUE(co_await raw->until_eof());
    EXPECT_FALSE(far->is_open());
    fx.listener->stop();
  });
}

TEST(Frames, LocalCloseWaitsForTheEchoWithinTheHandshakeTimeout) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    Options options;
    options.handshake_timeout = 300ms;
    CO_ASSERT_TRUE(fx.start(ex, options));

    // A polite peer: answers the close frame, and the socket closes at once.
    auto polite = co_await raw_dial(fx.listener->port(), fx.caller);
    auto first = co_await fx.accepted.get();
    first->close("done here");
    auto close = co_await polite->read_frame();
    CO_ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, ws::kClose);
    EXPECT_EQ(close_code_of(*close), ws::close_code::kNormal);
    EXPECT_EQ(close->payload.substr(2), "done here");
    auto started = std::chrono::steady_clock::now();
    co_await polite->write(ws_frame(ws::kClose, close_payload(ws::close_code::kNormal, ""), true));
    EXPECT_TRUE(co_await polite->until_eof());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms);

    // A peer that never answers: the socket closes when handshake_timeout passes.
    ListenerFixture fx2(ex);
    CO_ASSERT_TRUE(fx2.start(ex, options));
    auto silent = co_await raw_dial(fx2.listener->port(), fx2.caller);
    auto second = co_await fx2.accepted.get();
    second->close("going");
    auto second_close = co_await silent->read_frame();
    CO_ASSERT_TRUE(second_close);
    started = std::chrono::steady_clock::now();
    EXPECT_TRUE(co_await silent->until_eof());
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 2s);
    fx.listener->stop();
    fx2.listener->stop();
  });
}

TEST(Frames, ReceiveSomeDrainsWhatHasArrivedThenReportsTheEnd) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ListenerFixture fx(ex);
    CO_ASSERT_TRUE(fx.start(ex));
    auto raw = co_await raw_dial(fx.listener->port(), fx.caller);
    auto far = co_await fx.accepted.get();
    std::string burst;
    for (int i = 0; i < 10; ++i)
      burst += ws_frame(ws::kBinary, lane_frame(RPC_RELIABLE, std::to_string(i)), true);
    burst += ws_frame(ws::kClose, close_payload(ws::close_code::kNormal, "done"), true);
    co_await raw->write(burst);
    std::vector<Frame> frames;
    auto first = co_await far->receive_some(frames, 4);  // waits for the first, takes at most 4
    CO_ASSERT_OK(first);
    EXPECT_GE(*first, 1u);
    EXPECT_LE(*first, 4u);
    while (frames.size() < 10) {
      auto more = co_await far->receive_some(frames);
      CO_ASSERT_OK(more);
    }
    for (int i = 0; i < 10; ++i) EXPECT_EQ(frames[static_cast<std::size_t>(i)].data, std::to_string(i));
    auto end = co_await far->receive_some(frames);
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error().message, "connection closed by peer: done (close code 1000)");
    EXPECT_EQ(frames.size(), 10u);
    fx.listener->stop();
  });
}

TEST(Frames, RoundTripsEverySizeClassBetweenDialerAndListener) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    auto listener = start_echo_listener(ex, authority);
    CO_ASSERT_TRUE(listener);
    auto dialed = co_await connect(ex, address_of(*listener), authority.issue(2).id, client.id,
                                   client.credential, in(5s));
    CO_ASSERT_OK(dialed);
    auto connection = *dialed;
    std::vector<std::string> payloads;
    for (std::size_t size : {0, 1, 7, 120, 121, 122, 2043, 2048, 2049, 65530, 65531, 65536, 300000}) {
      std::string data(size, '\0');
      for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 131 + size);
      payloads.push_back(data);
    }
    for (int round = 0; round < 3; ++round) {  // all queued at once: one batch, mixed copy/reference
      for (const auto& data : payloads) CO_ASSERT_OK(connection->send(RPC_RELIABLE, std::string(data)));
      for (const auto& data : payloads) {
        auto back = co_await connection->receive();
        CO_ASSERT_OK(back);
        EXPECT_TRUE(back->data == data) << "payload of " << data.size() << " bytes came back altered";
      }
    }
    connection->close("done");
    listener->stop();
  });
}

}  // namespace
}  // namespace actr::wire
