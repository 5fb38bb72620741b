#pragma once
// One workload serving several generated services:
//
//   class Both : public actr::Serves<AHandler, BHandler> {
//     // A's and B's methods, as for one service
//   };
//
// A request goes to the first service whose handles_route() claims its route key, through that
// service's generated serve() or dispatch(): no coroutine frame of its own. A key that no service
// claims is UnknownRoute, naming every service. The bases may also be classes that already
// implement one service each: `actr::Serves<AImpl, BImpl>`.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "actr/framework/workload.hpp"

namespace actr {

template <class... Services>
class Serves : public Services... {
  static_assert(sizeof...(Services) >= 2, "a workload serving one service derives from its handler");

 public:
  boost::asio::awaitable<Result<Payload>> dispatch(std::string_view route_key, Payload request,
                                                   Context& ctx) override {
    return dispatch_to<Services...>(route_key, request, ctx);
  }
  boost::asio::awaitable<void> serve(IncomingRequestPtr request) override {
    return serve_by<Services...>(std::move(request));
  }

 private:
  template <class First, class... Rest>
  boost::asio::awaitable<Result<Payload>> dispatch_to(std::string_view route_key, Payload& request,
                                                      Context& ctx) {
    if (First::handles_route(route_key)) return First::dispatch(route_key, std::move(request), ctx);
    if constexpr (sizeof...(Rest) > 0) {
      return dispatch_to<Rest...>(route_key, request, ctx);
    } else {
      return refuse_call(unknown_route(route_key));
    }
  }
  template <class First, class... Rest>
  boost::asio::awaitable<void> serve_by(IncomingRequestPtr request) {
    if (First::handles_route(request->route_key())) return First::serve(std::move(request));
    if constexpr (sizeof...(Rest) > 0) {
      return serve_by<Rest...>(std::move(request));
    } else {
      return refuse_request(std::move(request));
    }
  }

  static Error unknown_route(std::string_view route_key) {
    std::string services;
    ((services += (services.empty() ? "" : ", ") + std::string(Services::kServiceName)), ...);
    return Error{ErrorCode::UnknownRoute,
                 "none of " + services + " has a method for route '" + std::string(route_key) + "'"};
  }
  static boost::asio::awaitable<Result<Payload>> refuse_call(Error error) {
    co_return std::unexpected(std::move(error));
  }
  static boost::asio::awaitable<void> refuse_request(IncomingRequestPtr request) {
    request->answer(std::unexpected(unknown_route(request->route_key())));
    co_return;
  }
};

}  // namespace actr
