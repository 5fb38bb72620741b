#include "actr/framework/context.hpp"

namespace actr {

boost::asio::awaitable<Result<std::string>> Context::call_raw(const Dest& dest, std::string_view route_key,
                                                              PayloadType lane, std::string payload,
                                                              CallOptions options) {
  auto reply =
      co_await send_request(dest, Outbound{route_key, lane, Payload(std::move(payload)), std::move(options)});
  if (!reply) co_return std::unexpected(std::move(reply.error()));
  co_return std::move(*reply).take_bytes();
}

boost::asio::awaitable<Result<void>> Context::tell_raw(const Dest& dest, std::string_view route_key,
                                                       PayloadType lane, std::string payload,
                                                       CallOptions options) {
  return send_tell(dest, Outbound{route_key, lane, Payload(std::move(payload)), std::move(options)});
}

}  // namespace actr
