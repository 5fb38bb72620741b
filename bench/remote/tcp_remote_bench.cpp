// actr_remote_tcp_bench: the raw TCP floor for bench/remote, two processes on loopback, Asio
// coroutines on one thread each, TCP_NODELAY, the wire's 5-byte framing [lane:1][len:4 BE][data].
//
//   actr_remote_tcp_bench server
//       prints "listening on 127.0.0.1:PORT"; per connection: lane 0 frames are echoed (every
//       complete frame of one read goes back in one write), lane 2 payload bytes are counted
//       without copying, a lane 1 frame is answered with a lane 1 frame holding that count (8 bytes
//       BE). Serves until SIGINT/SIGTERM.
//   actr_remote_tcp_bench client --port P [--payload 64] [--warmup 2000] [--seq-calls 20000]
//       [--inflight 64] [--inflight-calls 400000] [--max-seconds 3] [--chunk 65536]
//       [--stream-mib 256] [--json FILE] [--label L]
//
// Phases:
//   seq       write one frame, read until its echo is back; each round trip timed.
//   inflight  N frames written in one write; each read's complete echoes are counted and as many new
//             frames go out in one write (batched writes), so N are always in flight. Each frame's
//             round trip is timed from the write that carried it. calls/s = echoes / wall time.
//   bulk      lane 2 frames of --chunk bytes written back to back (one async_write each), then a
//             lane 1 frame; MB/s = payload bytes (1e6) / time from the first write to the count.
// A warm-up (calls, and 1/8 of the bulk bytes) runs first and is not counted.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <optional>

#include "common.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using rbench::Clock;

namespace {

constexpr std::uint8_t kEchoLane = 0;    // RPC_RELIABLE
constexpr std::uint8_t kCountLane = 1;   // "how many stream bytes so far?"
constexpr std::uint8_t kStreamLane = 2;  // STREAM_RELIABLE

void put_header(std::string& out, std::uint8_t lane, std::uint32_t length) {
  char header[5] = {static_cast<char>(lane), static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                    static_cast<char>(length >> 8), static_cast<char>(length)};
  out.append(header, 5);
}

std::string make_frame(std::uint8_t lane, std::size_t payload, char fill) {
  std::string frame;
  frame.reserve(5 + payload);
  put_header(frame, lane, static_cast<std::uint32_t>(payload));
  frame.append(payload, fill);
  return frame;
}

/// Incremental frame parser: headers may split across reads, payload bytes are handed out as they
/// arrive (never buffered here).
class FrameParser {
 public:
  template <class OnHeader, class OnData, class OnEnd>
  void feed(const char* p, std::size_t n, OnHeader&& on_header, OnData&& on_data, OnEnd&& on_end) {
    const char* end = p + n;
    while (p < end) {
      if (!in_payload_) {
        std::size_t take = std::min<std::size_t>(5 - header_have_, static_cast<std::size_t>(end - p));
        std::memcpy(header_ + header_have_, p, take);
        header_have_ += take;
        p += take;
        if (header_have_ < 5) break;
        header_have_ = 0;
        lane_ = static_cast<std::uint8_t>(header_[0]);
        auto b = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(header_[i])); };
        left_ = b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4);
        on_header(lane_, header_, left_);
        if (left_ == 0) {
          on_end(lane_);
        } else {
          in_payload_ = true;
        }
        continue;
      }
      std::size_t take = std::min<std::size_t>(left_, static_cast<std::size_t>(end - p));
      on_data(lane_, p, take);
      p += take;
      left_ -= static_cast<std::uint32_t>(take);
      if (left_ == 0) {
        in_payload_ = false;
        on_end(lane_);
      }
    }
  }

 private:
  char header_[5] = {};
  std::size_t header_have_ = 0;
  std::uint32_t left_ = 0;
  std::uint8_t lane_ = 0;
  bool in_payload_ = false;
};

// ---- server -------------------------------------------------------------------------------------------

asio::awaitable<void> session(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  std::vector<char> buffer(256 * 1024);
  std::string out;
  std::uint64_t stream_bytes = 0;
  FrameParser parser;
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    auto space = asio::buffer(buffer);
    std::size_t n = co_await socket.async_read_some(space, token);
    if (ec) break;
    parser.feed(
        buffer.data(), n,
        [&](std::uint8_t lane, const char* header, std::uint32_t) {
          if (lane == kEchoLane) out.append(header, 5);
        },
        [&](std::uint8_t lane, const char* data, std::size_t size) {
          if (lane == kEchoLane) out.append(data, size);
          if (lane == kStreamLane) stream_bytes += size;
        },
        [&](std::uint8_t lane) {
          if (lane != kCountLane) return;
          put_header(out, kCountLane, 8);
          for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>(stream_bytes >> shift));
        });
    if (out.empty()) continue;
    auto reply = asio::buffer(out);
    co_await asio::async_write(socket, reply, token);
    if (ec) break;
    out.clear();
  }
}

asio::awaitable<void> accept(tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(token);
    if (ec) break;
    auto run = session(std::move(socket));
    asio::co_spawn(acceptor.get_executor(), std::move(run), asio::detached);
  }
}

int serve() {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  auto loop = accept(acceptor);
  asio::co_spawn(io, std::move(loop), asio::detached);
  fmt::print("listening on 127.0.0.1:{}\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  io.run();
  return 0;
}

// ---- client -------------------------------------------------------------------------------------------

struct Settings {
  std::uint16_t port = 0;
  std::size_t payload = 64;
  std::uint64_t warmup = 2000;
  std::uint64_t seq_calls = 20000;
  std::uint64_t inflight = 64;
  std::uint64_t inflight_calls = 400000;
  Clock::duration cap{};
  std::size_t chunk = 65536;
  std::uint64_t stream_bytes = 256ull << 20;
  long server_pid = 0;
};

struct Results {
  rbench::Phase seq;
  rbench::Phase inflight;
  double bulk_mb_per_s = 0;
  double bulk_cpu_seconds = -1;
  double bulk_seconds = 0;
  std::uint64_t bulk_bytes = 0;
};

class Client {
 public:
  explicit Client(tcp::socket socket) : socket_(std::move(socket)) {}

  /// Reads once; returns how many echo frames completed (count frames fill `count_reply_`).
  asio::awaitable<std::size_t> read_some() {
    auto space = asio::buffer(buffer_);
    std::size_t n = co_await socket_.async_read_some(space, asio::use_awaitable);
    std::size_t echoes = 0;
    parser_.feed(
        buffer_.data(), n, [](std::uint8_t, const char*, std::uint32_t) {},
        [&](std::uint8_t lane, const char* data, std::size_t size) {
          if (lane == kCountLane) count_bytes_.append(data, size);
        },
        [&](std::uint8_t lane) {
          if (lane == kEchoLane) ++echoes;
          if (lane == kCountLane) {
            std::uint64_t value = 0;
            for (char c : count_bytes_) value = value << 8 | static_cast<unsigned char>(c);
            count_reply_ = value;
            count_bytes_.clear();
          }
        });
    co_return echoes;
  }

  asio::awaitable<void> round_trip(const std::string& frame) {
    auto out = asio::buffer(frame);
    co_await asio::async_write(socket_, out, asio::use_awaitable);
    std::size_t got = 0;
    while (got == 0) got = co_await read_some();
  }

  /// `count` frames in one write; each one's send time is remembered for its round trip.
  asio::awaitable<void> send_batch(const std::string& frame, std::uint64_t count, std::string& batch,
                                   std::deque<Clock::time_point>& sent_at) {
    batch.clear();
    auto now = Clock::now();
    for (std::uint64_t i = 0; i < count; ++i) {
      batch += frame;
      sent_at.push_back(now);
    }
    auto out = asio::buffer(batch);
    co_await asio::async_write(socket_, out, asio::use_awaitable);
  }

  asio::awaitable<Results> run(Settings s) {
    Results results;
    const std::string frame = make_frame(kEchoLane, s.payload, 'p');
    for (std::uint64_t i = 0; i < s.warmup; ++i) co_await round_trip(frame);

    // Sequential.
    rbench::CpuMeter meter(s.server_pid);
    results.seq.samples.reserve(s.seq_calls);
    meter.start();
    auto seq_start = Clock::now();
    for (std::uint64_t i = 0; i < s.seq_calls && Clock::now() < seq_start + s.cap; ++i) {
      auto start = Clock::now();
      co_await round_trip(frame);
      results.seq.samples.push_back(rbench::micros(Clock::now() - start));
    }
    results.seq.seconds = rbench::seconds(Clock::now() - seq_start);
    results.seq.cpu_seconds = meter.stop();

    // N in flight, batched writes.
    std::deque<Clock::time_point> sent_at;
    std::string batch;
    meter.start();
    auto inflight_start = Clock::now();
    auto stop_at = inflight_start + s.cap;
    std::uint64_t sent = 0;
    auto last_done = inflight_start;
    results.inflight.samples.reserve(s.inflight_calls);
    std::uint64_t first = std::min(s.inflight, s.inflight_calls);
    co_await send_batch(frame, first, batch, sent_at);
    sent += first;
    while (!sent_at.empty()) {
      std::size_t n = co_await read_some();
      auto now = Clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        results.inflight.samples.push_back(rbench::micros(now - sent_at.front()));
        sent_at.pop_front();
      }
      if (n > 0) last_done = now;
      std::uint64_t more = now < stop_at ? std::min<std::uint64_t>(n, s.inflight_calls - sent) : 0;
      if (more > 0) {
        co_await send_batch(frame, more, batch, sent_at);
        sent += more;
      }
    }
    results.inflight.seconds = rbench::seconds(last_done - inflight_start);
    results.inflight.cpu_seconds = meter.stop();

    // Bulk: warm-up then measured.
    const std::string chunk = make_frame(kStreamLane, s.chunk, 's');
    std::string ask;
    put_header(ask, kCountLane, 0);
    std::uint64_t total = 0;
    for (int round = 0; round < 2; ++round) {
      std::uint64_t goal = round == 0 ? s.stream_bytes / 8 : s.stream_bytes;
      std::uint64_t bytes = 0;
      meter.start();
      auto start = Clock::now();
      while (bytes < goal && Clock::now() < start + s.cap) {
        auto out = asio::buffer(chunk);
        co_await asio::async_write(socket_, out, asio::use_awaitable);
        bytes += s.chunk;
      }
      total += bytes;
      count_reply_.reset();
      auto out = asio::buffer(ask);
      co_await asio::async_write(socket_, out, asio::use_awaitable);
      while (!count_reply_) co_await read_some();
      auto end = Clock::now();
      if (*count_reply_ != total) {
        fmt::print(stderr, "tcp: the server counted {} of {} bytes\n", *count_reply_, total);
        break;
      }
      results.bulk_cpu_seconds = meter.stop();
      results.bulk_bytes = bytes;
      results.bulk_seconds = rbench::seconds(end - start);
      results.bulk_mb_per_s = static_cast<double>(bytes) / 1e6 / results.bulk_seconds;
    }
    co_return results;
  }

 private:
  tcp::socket socket_;
  std::vector<char> buffer_ = std::vector<char>(256 * 1024);
  FrameParser parser_;
  std::string count_bytes_;
  std::optional<std::uint64_t> count_reply_;
};

asio::awaitable<Results> connect_and_run(Settings settings) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), settings.port);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  Client client(std::move(socket));
  co_return co_await client.run(settings);
}

int drive(const rbench::Options& options) {
  Settings s;
  s.port = static_cast<std::uint16_t>(options.num("port", 0));
  s.payload = options.num("payload", 64);
  s.warmup = options.num("warmup", 2000);
  s.seq_calls = options.num("seq-calls", 20000);
  s.inflight = options.num("inflight", 64);
  s.inflight_calls = options.num("inflight-calls", 400000);
  s.cap = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.real("max-seconds", 3)));
  s.chunk = options.num("chunk", 65536);
  s.stream_bytes = options.num("stream-mib", 256) << 20;
  s.server_pid = static_cast<long>(options.num("server-pid", 0));

  asio::io_context io(1);
  std::optional<Results> results;
  std::exception_ptr failure;
  auto task = connect_and_run(s);
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, Results r) {
    failure = e;
    results = std::move(r);
  });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      fmt::print(stderr, "actr_remote_tcp_bench client: {}\n", e.what());
    }
    return 1;
  }

  std::string inflight = fmt::format("inflight{}", s.inflight);
  rbench::Figures figures("tcp", options.str("label", ""));
  figures.add_phase("seq", results->seq);
  figures.add_phase(inflight, results->inflight);
  figures.add("bulk_mb_per_s", results->bulk_mb_per_s);
  if (results->bulk_cpu_seconds >= 0 && results->bulk_bytes > 0) {
    figures.add("bulk_cpu_us_per_mb",
                results->bulk_cpu_seconds * 1e6 / (static_cast<double>(results->bulk_bytes) / 1e6));
  }
  fmt::print(stderr,
             "tcp: {} B payload; seq {} calls in {:.2f} s; {} in flight: {} calls in {:.2f} s; bulk {} B in "
             "{:.3f} s ({} B chunks)\n",
             s.payload, results->seq.samples.size(), results->seq.seconds, s.inflight,
             results->inflight.samples.size(), results->inflight.seconds, results->bulk_bytes,
             results->bulk_seconds, s.chunk);
  if (!figures.report(options)) return 1;
  return results->bulk_mb_per_s > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "server" && mode != "client") {
    fmt::print(stderr, "usage: {} server | client --port P [options]\n", argv[0]);
    return 2;
  }
  if (mode == "server") return serve();
  rbench::Options options(argc, argv, 2);
  return drive(options);
}
