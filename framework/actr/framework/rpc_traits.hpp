#pragma once
// RpcTraits<Request>: what the generated code says about a request type, so that
// `ctx.call(dest, request)` knows the route key, the response type and the lane.

#include <actr/options.pb.h>

#include <concepts>
#include <string_view>

namespace actr {

/// Specialized by protoc-gen-actr for every request type used by exactly one method of its file:
///   static constexpr std::string_view route_key;   // "package.Service.Method"
///   using Response = ...;
///   static constexpr PayloadType lane;             // method option (actr.payload_type)
template <class Request>
struct RpcTraits;

template <class Request>
concept RpcRequest = requires {
  { RpcTraits<Request>::route_key } -> std::convertible_to<std::string_view>;
  typename RpcTraits<Request>::Response;
  { RpcTraits<Request>::lane } -> std::convertible_to<PayloadType>;
};

}  // namespace actr
