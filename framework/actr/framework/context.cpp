#include "actr/framework/context.hpp"

#include <fmt/format.h>

namespace actr {

Error Context::name_the_call(Error error, std::string_view route_key, const Dest& dest,
                             std::chrono::milliseconds timeout) {
  if (error.code == ErrorCode::TimedOut) {
    error.message =
        fmt::format("call {} on {} got no reply within {} ms", route_key, dest.to_string(), timeout.count());
  }
  return error;
}

boost::asio::awaitable<Result<std::string>> Context::call_raw(const Dest& dest, std::string_view route_key,
                                                              PayloadType lane, std::string payload,
                                                              CallOptions options) {
  const auto timeout = options.timeout;
  auto reply =
      co_await send_request(dest, Outbound{route_key, lane, Payload(std::move(payload)), std::move(options)});
  if (!reply) co_return std::unexpected(name_the_call(std::move(reply.error()), route_key, dest, timeout));
  co_return std::move(*reply).take_bytes();
}

boost::asio::awaitable<Result<void>> Context::tell_raw(const Dest& dest, std::string_view route_key,
                                                       PayloadType lane, std::string payload,
                                                       CallOptions options) {
  return send_tell(dest, Outbound{route_key, lane, Payload(std::move(payload)), std::move(options)});
}

}  // namespace actr
