// actr-signal: flags/config → Server → run until SIGTERM/SIGINT. Exit codes: 0 clean stop,
// 1 runtime failure (e.g. cannot listen, data dir unusable), 2 bad flags or config.

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "config.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  auto parsed = actr::signal::parse_command_line(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "actr-signal: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->help) {
    std::printf("%s", parsed->message.c_str());
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [actr-signal] [%l] %v");
  boost::asio::io_context io(1);
  actr::signal::Server server(io, std::move(parsed->config));
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "actr-signal: %s\n", started.error().message.c_str());
    return started.error().code == actr::ErrorCode::InvalidArgument ? 2 : 1;
  }
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) server.stop();
  });
  io.run();
  spdlog::info("stopped");
  return 0;
}
