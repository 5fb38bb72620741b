// Connection behaviour over real loopback sockets: frames, big payloads, ordering, failures.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <map>

#include "test_support.hpp"

namespace actr::wire {
namespace {

using namespace testing;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

std::string pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

TEST(Connection, RoundTripsFramesOnEveryLane) {
  run([]() -> asio::awaitable<void> {
    Authority authority;
    auto pair = co_await connect_pair(co_await asio::this_coro::executor, authority);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;
    EXPECT_EQ(near->peer(), server.id);
    EXPECT_EQ(far->peer(), client.id);  // the verified caller
    EXPECT_TRUE(near->is_open());

    const PayloadType lanes[] = {RPC_RELIABLE, RPC_SIGNAL, STREAM_RELIABLE, STREAM_LATENCY_FIRST, MEDIA_RTP};
    for (auto lane : lanes) {
      CO_ASSERT_OK(near->send(lane, "to far on lane " + std::to_string(lane)));
      CO_ASSERT_OK(far->send(lane, "to near on lane " + std::to_string(lane)));
    }
    CO_ASSERT_OK(near->send(RPC_RELIABLE, std::string()));
    for (auto lane : lanes) {
      auto at_far = co_await far->receive();
      CO_ASSERT_OK(at_far);
      EXPECT_EQ(at_far->lane, lane);
      EXPECT_EQ(at_far->data, "to far on lane " + std::to_string(lane));
      auto at_near = co_await near->receive();
      CO_ASSERT_OK(at_near);
      EXPECT_EQ(at_near->lane, lane);
      EXPECT_EQ(at_near->data, "to near on lane " + std::to_string(lane));
    }
    auto empty = co_await far->receive();
    CO_ASSERT_OK(empty);
    EXPECT_EQ(empty->data, "");

    near->close("done");
    auto end = co_await far->receive();
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(end.error().message, "connection closed by peer: done (close code 1000)"))
        << end.error().message;
    auto late = near->send(RPC_RELIABLE, "late");
    CO_ASSERT_TRUE(!late);
    EXPECT_EQ(late.error().code, ErrorCode::Unavailable);
    EXPECT_EQ(late.error().message, "connection closed: done");
    listener->stop();
  });
}

TEST(Connection, CarriesBigPayloadsIntact) {
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
    for (std::size_t size : {std::size_t{8} << 20, std::size_t{20} << 20}) {
      auto payload = pattern(size, static_cast<unsigned>(size));
      CO_ASSERT_OK(connection->send(STREAM_RELIABLE, std::string(payload)));
      auto back = co_await connection->receive();
      CO_ASSERT_OK(back);
      EXPECT_EQ(back->lane, STREAM_RELIABLE);
      EXPECT_EQ(back->data.size(), size);
      EXPECT_TRUE(back->data == payload) << "payload of " << size << " bytes came back altered";
    }
    connection->close("done");
    listener->stop();
  });
}

asio::awaitable<void> produce(std::shared_ptr<Connection> connection, int id, int count,
                              std::shared_ptr<std::atomic<int>> failures) {
  for (int seq = 0; seq < count; ++seq) {
    std::string data = std::to_string(id) + ":" + std::to_string(seq) + ":" + std::string(seq % 97, 'x');
    auto sent = co_await send_when_writable(*connection, static_cast<PayloadType>(seq % 4), std::move(data));
    if (!sent) ++*failures;
  }
}

TEST(Connection, KeepsOrderOfManyFramesFromConcurrentSenders) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 2500;
  run(
      []() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Authority authority;
        auto client = authority.issue(1);
        Options options;
        options.send_queue_limit = 16 * 1024;  // small, so that senders meet backpressure
        auto listener = start_echo_listener(ex, authority, options);
        CO_ASSERT_TRUE(listener);
        auto dialed = co_await connect(ex, address_of(*listener), authority.issue(2).id, client.id,
                                       client.credential, in(5s), options);
        CO_ASSERT_OK(dialed);
        std::shared_ptr<Connection> connection = *dialed;
        auto failures = std::make_shared<std::atomic<int>>(0);
        for (int p = 0; p < kProducers; ++p) {
          auto task = produce(connection, p, kPerProducer, failures);
          asio::co_spawn(asio::make_strand(ex), std::move(task), asio::detached);
        }
        std::map<int, int> next;
        int received = 0;
        bool in_order = true;
        while (received < kProducers * kPerProducer) {
          auto frame = co_await connection->receive();
          if (!frame) {
            ADD_FAILURE() << frame.error().to_string();
            break;
          }
          auto first = frame->data.find(':');
          auto second = frame->data.find(':', first + 1);
          int id = std::stoi(frame->data.substr(0, first));
          int seq = std::stoi(frame->data.substr(first + 1, second - first - 1));
          if (seq != next[id] || frame->lane != static_cast<PayloadType>(seq % 4)) in_order = false;
          next[id] = seq + 1;
          ++received;
        }
        EXPECT_TRUE(in_order);
        EXPECT_EQ(received, kProducers * kPerProducer);
        EXPECT_EQ(failures->load(), 0);
        connection->close("done");
        listener->stop();
      },
      3);
}

// Both ends on one single-threaded io_context's own executor, with no strand per connection
// (what a one-thread node does): frames of every size, pushed back by a small send queue, echo
// back whole and in order.
TEST(Connection, RunsDirectlyOnASerialExecutor) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    Options options;
    options.executor_is_serial = true;
    options.send_queue_limit = 64 * 1024;
    auto listener = start_echo_listener(ex, authority, options);
    CO_ASSERT_TRUE(listener);
    auto dialed = co_await connect(ex, address_of(*listener), authority.issue(2).id, client.id,
                                   client.credential, in(5s), options);
    CO_ASSERT_OK(dialed);
    std::shared_ptr<Connection> connection = *dialed;
    constexpr int kFrames = 2000;
    auto sender = [](std::shared_ptr<Connection> to) -> asio::awaitable<void> {
      for (int i = 0; i < kFrames; ++i) {
        std::size_t size = i == kFrames / 2 ? std::size_t{8} << 20 : static_cast<std::size_t>(i % 300);
        auto sent = co_await send_when_writable(*to, RPC_RELIABLE, pattern(size, static_cast<unsigned>(i)));
        if (!sent) ADD_FAILURE() << "frame " << i << ": " << sent.error().to_string();
      }
    };
    asio::co_spawn(ex, sender(connection), asio::detached);
    for (int i = 0; i < kFrames; ++i) {
      auto frame = co_await connection->receive();
      CO_ASSERT_OK(frame);
      std::size_t size = i == kFrames / 2 ? std::size_t{8} << 20 : static_cast<std::size_t>(i % 300);
      CO_ASSERT_TRUE(frame->data == pattern(size, static_cast<unsigned>(i)));
    }
    connection->close("done");
    listener->stop();
  });
}

// Takes frames pushed by the connection, pausing after every 10th (resumed from a posted task, as a
// reader that finishes a frame asynchronously would), and records the end.
struct RecordingSink : FrameSink {
  RecordingSink(asio::any_io_executor ex, std::shared_ptr<Connection> connection)
      : ex(std::move(ex)), connection(std::move(connection)) {}
  bool on_frame(PayloadType, std::string_view data) override {
    EXPECT_FALSE(closed) << "a frame after the end";
    frames.emplace_back(data);
    if (frames.size() % 10 != 0) return true;
    ++pauses;
    asio::post(ex, [this] { connection->resume_delivery(); });
    return false;
  }
  void on_closed(const Error& why) override {
    EXPECT_FALSE(closed) << "ended twice";
    closed = why;
  }
  asio::any_io_executor ex;
  std::shared_ptr<Connection> connection;
  std::vector<std::string> frames;
  int pauses = 0;
  std::optional<Error> closed;
};

TEST(Connection, PushesFramesToASinkInOrderWithPausesThenTheEnd) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto pair = co_await connect_pair(ex, authority);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;
    // Frames that arrive before the sink is attached are held, and go to it first.
    for (int i = 0; i < 5; ++i) CO_ASSERT_OK(far->send(RPC_RELIABLE, "early " + std::to_string(i)));
    asio::steady_timer settle(ex, 50ms);
    co_await settle.async_wait(asio::use_awaitable);
    auto sink = std::make_shared<RecordingSink>(ex, near);
    near->deliver_to(sink);
    for (int i = 0; i < 95; ++i) {
      auto sent = co_await send_when_writable(*far, i % 2 ? STREAM_RELIABLE : RPC_RELIABLE,
                                              "frame " + std::to_string(i));
      CO_ASSERT_OK(sent);
    }
    while (far->queued_bytes() > 0) {  // close() discards what is not written yet
      asio::steady_timer wait(ex, 1ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    far->close("that is all");
    for (int tick = 0; tick < 500 && !sink->closed; ++tick) {
      asio::steady_timer wait(ex, 10ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    CO_ASSERT_TRUE(sink->closed.has_value());
    EXPECT_TRUE(contains(sink->closed->message, "that is all")) << sink->closed->message;
    CO_ASSERT_TRUE(sink->frames.size() == 100u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(sink->frames[i], "early " + std::to_string(i));
    for (int i = 0; i < 95; ++i) EXPECT_EQ(sink->frames[5 + i], "frame " + std::to_string(i));
    EXPECT_EQ(sink->pauses, 10);
    listener->stop();
  });
}

// A frame sent in two parts arrives as one, whichever part is small enough to be copied next to
// the header and whichever is written from its own string, masked (dialer) or not (listener).
TEST(Connection, AFrameSentWithATailArrivesWhole) {
  run([]() -> asio::awaitable<void> {
    Authority authority;
    auto pair = co_await connect_pair(co_await asio::this_coro::executor, authority);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;
    auto text = [](std::size_t size, char seed) {
      std::string out(size, '\0');
      for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(seed + i * 7);
      return out;
    };
    // Sizes around the 2 KiB copy limit, odd ones so the tail's mask starts mid-key.
    const std::pair<std::size_t, std::size_t> shapes[] = {
        {0, 5}, {13, 0}, {13, 70'001}, {70'001, 13}, {3'001, 2'047}, {1, 1}, {65'537, 65'539}};
    for (auto [head_size, tail_size] : shapes) {
      const std::string head = text(head_size, 'a'), tail = text(tail_size, 'k');
      CO_ASSERT_OK(near->send(STREAM_RELIABLE, std::string(head), std::string(tail)));
      CO_ASSERT_OK(far->send(STREAM_RELIABLE, std::string(head), std::string(tail)));
      auto at_far = co_await far->receive();
      auto at_near = co_await near->receive();
      CO_ASSERT_OK(at_far);
      CO_ASSERT_OK(at_near);
      EXPECT_TRUE(at_far->data == head + tail)
          << head_size << " + " << tail_size << " bytes, dialer to listener";
      EXPECT_TRUE(at_near->data == head + tail)
          << head_size << " + " << tail_size << " bytes, listener to dialer";
    }
    listener->stop();
  });
}

// Frames of every shape queued in one turn go out in one batch: small ones framed into the batch
// buffer, big ones written from their own strings between them, copies and tails mixed.
TEST(Connection, FramesOfEveryShapeQueuedTogetherArriveWholeAndInOrder) {
  run([]() -> asio::awaitable<void> {
    Authority authority;
    auto pair = co_await connect_pair(co_await asio::this_coro::executor, authority);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;
    const std::pair<std::size_t, std::size_t> shapes[] = {{7, 0},      {70'001, 0},   {13, 70'001}, {0, 5},
                                                          {2'049, 3},  {1, 1},        {5'000, 0},   {130, 0},
                                                          {65'537, 9}, {2'048, 2'048}};
    std::vector<std::string> sent;
    unsigned seed = 1;
    for (auto [head_size, tail_size] : shapes) {
      const std::string head = pattern(head_size, seed++), tail = pattern(tail_size, seed++);
      for (auto* connection : {near.get(), far.get()}) {
        if (tail_size == 0 && seed % 4 == 1) {
          CO_ASSERT_OK(connection->send_copy(STREAM_RELIABLE, head));
        } else {
          CO_ASSERT_OK(connection->send(STREAM_RELIABLE, std::string(head), std::string(tail)));
        }
      }
      sent.push_back(head + tail);
    }
    for (std::size_t i = 0; i < sent.size(); ++i) {
      auto at_far = co_await far->receive();
      auto at_near = co_await near->receive();
      CO_ASSERT_OK(at_far);
      CO_ASSERT_OK(at_near);
      EXPECT_TRUE(at_far->data == sent[i]) << "frame " << i << ", dialer to listener";
      EXPECT_TRUE(at_near->data == sent[i]) << "frame " << i << ", listener to dialer";
    }
    EXPECT_EQ(near->queued_bytes(), 0u);
    listener->stop();
  });
}

// A peer that stops reading fills the queues; a writer waiting for room gives up at its deadline.
TEST(Connection, WaitWritableEndsAtItsDeadlineWhenThePeerStopsReading) {
  run([]() -> asio::awaitable<void> {
    Authority authority;
    Options small;
    small.send_queue_limit = 1u << 20;
    small.receive_queue_limit = 1u << 20;
    auto pair = co_await connect_pair(co_await asio::this_coro::executor, authority, small, small);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;  // `far` never calls receive()
    const std::string frame(256u << 10, 'x');
    bool gave_up = false;
    // Socket buffers hold a few MiB at most: well before 512 MiB the queue stays full.
    for (int i = 0; i < 2048 && !gave_up; ++i) {
      auto sent = near->send(STREAM_RELIABLE, std::string(frame));
      if (sent) continue;
      CO_ASSERT_TRUE(sent.error().code == ErrorCode::ConnectionNotReady);
      const auto started = std::chrono::steady_clock::now();
      co_await near->wait_writable(frame.size(), started + 100ms);
      const auto waited = std::chrono::steady_clock::now() - started;
      auto again = near->send(STREAM_RELIABLE, std::string(frame));
      if (again) continue;  // room came before the deadline
      EXPECT_EQ(again.error().code, ErrorCode::ConnectionNotReady);
      EXPECT_GE(waited, 100ms);
      EXPECT_LT(waited, 5s);
      gave_up = true;
    }
    EXPECT_TRUE(gave_up) << "the queue never stayed full";
    EXPECT_TRUE(near->is_open());
    listener->stop();
  });
}

// A sink that answers every frame, noting how much of its earlier answers still waited to be written.
struct AnsweringSink : FrameSink {
  explicit AnsweringSink(std::shared_ptr<Connection> connection) : connection(std::move(connection)) {}
  bool on_frame(PayloadType, std::string_view) override {
    unwritten.push_back(connection->queued_bytes());
    // Equal sizes: answer a, answer b, ...
    EXPECT_TRUE(connection->send(RPC_RELIABLE, std::string("answer ") + char('a' + unwritten.size() - 1)));
    return true;
  }
  void on_closed(const Error&) override {}
  std::shared_ptr<Connection> connection;
  std::vector<std::size_t> unwritten;
};

TEST(Connection, WritesAnswersEveryFlushEveryFramesWithinOneRead) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    for (std::size_t every : {0u, 4u}) {
      Options options;
      options.flush_every_frames = every;
      auto pair = co_await connect_pair(ex, authority, {}, options);
      CO_ASSERT_TRUE(pair);
      auto [listener, near, far, client, server] = *pair;
      auto sink = std::make_shared<AnsweringSink>(near);
      near->deliver_to(sink);
      constexpr std::size_t kFrames = 12;
      // One turn: one batch, one write, so `near` reads all twelve at once.
      for (std::size_t i = 0; i < kFrames; ++i) CO_ASSERT_OK(far->send(RPC_RELIABLE, "question"));
      for (std::size_t i = 0; i < kFrames; ++i) {
        auto answer = co_await far->receive();
        CO_ASSERT_OK(answer);
        EXPECT_EQ(answer->data, std::string("answer ") + char('a' + i));
      }
      CO_ASSERT_TRUE(sink->unwritten.size() == kFrames);
      const std::size_t one = sink->unwritten[1];  // one answer, header included
      EXPECT_GT(one, 0u);
      for (std::size_t i = 0; i < kFrames; ++i) {
        // 0: all answers wait for the end of the read; 4: the fifth frame finds the first four written.
        const std::size_t waiting = every == 0 ? i : i % every;
        EXPECT_EQ(sink->unwritten[i], waiting * one) << "frame " << i << ", flush every " << every;
      }
      listener->stop();
    }
  });
}

// A bare Beast server: accepts the WebSocket, sends one frame, then drops the TCP connection without a
// close frame.
asio::awaitable<void> serve_one_frame_then_vanish(tcp::acceptor& acceptor) {
  auto socket = co_await acceptor.async_accept(asio::use_awaitable);
  websocket::stream<beast::tcp_stream> ws(std::move(socket));
  co_await ws.async_accept(asio::use_awaitable);
  ws.binary(true);
  std::string frame("\x00\x00\x00\x00\x02hi", 7);
  auto buffer = asio::buffer(frame);
  co_await ws.async_write(buffer, asio::use_awaitable);
  beast::get_lowest_layer(ws).socket().close();
}

TEST(Connection, ReceiveFailsPromptlyWhenThePeerVanishes) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    auto server_task = serve_one_frame_then_vanish(acceptor);
    asio::co_spawn(ex, std::move(server_task), asio::detached);

    auto dialed = co_await connect(ex, "ws://127.0.0.1:" + std::to_string(port), authority.issue(2).id,
                                   client.id, client.credential, in(5s));
    CO_ASSERT_OK(dialed);
    auto connection = *dialed;
    auto first = co_await connection->receive();
    CO_ASSERT_OK(first);
    EXPECT_EQ(first->data, "hi");
    auto started = std::chrono::steady_clock::now();
    auto gone = co_await connection->receive();
    CO_ASSERT_TRUE(!gone);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_EQ(gone.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(gone.error().message, "connection lost")) << gone.error().message;
    EXPECT_FALSE(connection->is_open());
    auto sent = connection->send(RPC_RELIABLE, "after");
    CO_ASSERT_TRUE(!sent);
    EXPECT_EQ(sent.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(sent.error().message, "connection lost")) << sent.error().message;
    // Later calls keep reporting the same end.
    auto again = co_await connection->receive();
    CO_ASSERT_TRUE(!again);
    EXPECT_EQ(again.error(), gone.error());
  });
}

struct BadFrame {
  const char* name;
  std::string bytes;
  const char* reason;
};

class MalformedFrame : public ::testing::TestWithParam<BadFrame> {};

TEST_P(MalformedFrame, ClosesTheConnectionWithDecodeFailure) {
  BadFrame bad = GetParam();
  run([bad]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    Slot<std::shared_ptr<Connection>> accepted(ex);
    auto listener =
        Listener::start(ex, "127.0.0.1", 0, authority.verifier(),
                        [&accepted](std::shared_ptr<Connection> c) { accepted.set(std::move(c)); });
    CO_ASSERT_OK(listener);

    // A bare Beast client with valid credentials that then sends one good and one bad message.
    websocket::stream<beast::tcp_stream> ws(ex);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), (*listener)->port());
    co_await beast::get_lowest_layer(ws).async_connect(endpoint, asio::use_awaitable);
    beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true));
    ws.set_option(
        websocket::stream_base::decorator([source = hex_encode(client.id.SerializeAsString()),
                                           credential = base64_encode(client.credential.SerializeAsString())](
                                              websocket::request_type& request) {
          request.set("X-Actr-Source-ID", source);
          request.set("X-Actr-Credential", credential);
        }));
    co_await ws.async_handshake("127.0.0.1", "/", asio::use_awaitable);
    ws.binary(true);
    std::string good("\x01\x00\x00\x00\x02ok", 7);
    auto good_buffer = asio::buffer(good);
    co_await ws.async_write(good_buffer, asio::use_awaitable);
    auto bad_buffer = asio::buffer(bad.bytes);
    co_await ws.async_write(bad_buffer, asio::use_awaitable);

    auto far = co_await accepted.get();
    auto first = co_await far->receive();
    CO_ASSERT_OK(first);
    EXPECT_EQ(first->lane, RPC_SIGNAL);
    EXPECT_EQ(first->data, "ok");
    auto second = co_await far->receive();
    CO_ASSERT_TRUE(!second);
    EXPECT_EQ(second.error().code, ErrorCode::DecodeFailure);
    EXPECT_TRUE(contains(second.error().message, bad.reason)) << second.error().message;
    EXPECT_FALSE(far->is_open());

    // The bare client sees the close frame with the reason.
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    co_await ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
    EXPECT_EQ(ws.reason().code, websocket::close_code::protocol_error);
    std::string reason(ws.reason().reason.data(), ws.reason().reason.size());
    EXPECT_TRUE(contains(reason, bad.reason)) << reason;
    (*listener)->stop();
  });
}

INSTANTIATE_TEST_SUITE_P(
    Wire, MalformedFrame,
    ::testing::Values(BadFrame{"LengthMismatch", std::string("\x00\x00\x00\x00\x09short", 10),
                               "header says 9 data bytes, message carries 5"},
                      BadFrame{"UnknownLane", std::string("\x09\x00\x00\x00\x01x", 6), "unknown lane byte 9"},
                      BadFrame{"TooShort", std::string("\x00\x00", 2), "shorter than the 5-byte header"}),
    [](const ::testing::TestParamInfo<BadFrame>& info) { return std::string(info.param.name); });

TEST(Connection, OversizeMessageClosesWithAClearReason) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    Options small;
    small.max_message_size = 64 * 1024;
    auto pair = co_await connect_pair(ex, authority, small);
    CO_ASSERT_TRUE(pair);
    auto [listener, near, far, client, server] = *pair;

    // The sender's own limit refuses at once, without closing.
    auto refused = far->send(RPC_RELIABLE, std::string(128 * 1024, 'x'));
    CO_ASSERT_TRUE(!refused);
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
    EXPECT_TRUE(far->is_open());

    // The receiver's limit closes the connection; the sender learns why from the close frame.
    CO_ASSERT_OK(near->send(STREAM_RELIABLE, std::string(4 << 20, 'x')));
    auto at_far = co_await far->receive();
    CO_ASSERT_TRUE(!at_far);
    EXPECT_EQ(at_far.error().code, ErrorCode::DecodeFailure);
    EXPECT_TRUE(contains(at_far.error().message, "exceeds max_message_size (65536 bytes)"))
        << at_far.error().message;
    auto at_near = co_await near->receive();
    CO_ASSERT_TRUE(!at_near);
    EXPECT_EQ(at_near.error().code, ErrorCode::Unavailable);
    EXPECT_EQ(at_near.error().message,
              "connection closed by peer: message exceeds max_message_size (65536 bytes) (close code 1009)");
    listener->stop();
  });
}

TEST(Connection, ListenerStopClosesItsConnections) {
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
    CO_ASSERT_OK(connection->send(RPC_RELIABLE, "ping"));
    auto echoed = co_await connection->receive();
    CO_ASSERT_OK(echoed);
    listener->stop();
    auto end = co_await connection->receive();
    CO_ASSERT_TRUE(!end);
    EXPECT_TRUE(contains(end.error().message, "listener stopped")) << end.error().message;
    // A new dial now finds nobody.
    auto again = co_await connect(ex, address_of(*listener), authority.issue(2).id, client.id,
                                  client.credential, in(5s));
    CO_ASSERT_TRUE(!again);
    EXPECT_EQ(again.error().code, ErrorCode::Unavailable);
  });
}

TEST(Connection, ReceiveWakesOnLocalClose) {
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
    asio::steady_timer timer(ex);
    timer.expires_after(10ms);
    timer.async_wait([connection](boost::system::error_code) { connection->close("shutting down"); });
    auto end = co_await connection->receive();  // suspended until close()
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error().message, "connection closed: shutting down");
    co_await connection->wait_writable();  // returns at once on a closed connection
    listener->stop();
  });
}

}  // namespace
}  // namespace actr::wire

namespace actr::wire {
namespace {

// A bare Beast server that completes the handshake and then never reads (so it never answers a ping).
asio::awaitable<void> accept_and_go_silent(tcp::acceptor& acceptor,
                                           std::optional<websocket::stream<beast::tcp_stream>>& held) {
  auto socket = co_await acceptor.async_accept(asio::use_awaitable);
  held.emplace(std::move(socket));
  co_await held->async_accept(asio::use_awaitable);
}

TEST(Connection, IdleTimeoutClosesAConnectionWhosePeerWentSilent) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::optional<websocket::stream<beast::tcp_stream>> held;
    auto server = accept_and_go_silent(acceptor, held);
    asio::co_spawn(ex, std::move(server), asio::detached);
    Options options;
    options.idle_timeout = 200ms;
    auto dialed = co_await connect(ex, "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()),
                                   authority.issue(2).id, client.id, client.credential, in(5s), options);
    CO_ASSERT_OK(dialed);
    auto started = std::chrono::steady_clock::now();
    auto end = co_await (*dialed)->receive();
    auto elapsed = std::chrono::steady_clock::now() - started;
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error().code, ErrorCode::Unavailable);
    EXPECT_TRUE(contains(end.error().message, "nothing received from the peer for 200 ms"))
        << end.error().message;
    EXPECT_GE(elapsed, 150ms);
    EXPECT_LT(elapsed, 2s);
  });
}

TEST(Connection, KeepAlivePingsKeepAQuietConnectionOpen) {
  run([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Authority authority;
    auto client = authority.issue(1);
    Options options;
    options.idle_timeout = 100ms;
    auto listener = start_echo_listener(ex, authority, options);
    CO_ASSERT_TRUE(listener);
    auto dialed = co_await connect(ex, address_of(*listener), authority.issue(2).id, client.id,
                                   client.credential, in(5s), options);
    CO_ASSERT_OK(dialed);
    asio::steady_timer quiet(ex);
    quiet.expires_after(450ms);  // several idle periods without a frame: only pings and pongs flow
    co_await quiet.async_wait(asio::use_awaitable);
    EXPECT_TRUE((*dialed)->is_open());
    CO_ASSERT_OK((*dialed)->send(RPC_RELIABLE, "still there?"));
    auto echoed = co_await (*dialed)->receive();
    CO_ASSERT_OK(echoed);
    EXPECT_EQ(echoed->data, "still there?");
    (*dialed)->close("done");
    listener->stop();
  });
}

}  // namespace
}  // namespace actr::wire
