#pragma once
// Workload: the user's actor. It is started once, handles requests one at a time unless its
// scheduling policy says otherwise, and is stopped once.
//
// Generated service bases (protoc-gen-actr) derive virtually from Workload and implement
// `dispatch`. A workload serving two services derives from both bases and overrides `dispatch`
// to pick one with `A::handles_route(route_key)`.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "actr/framework/context.hpp"

namespace actr {

/// Which requests may interleave. By default none: one request at a time, to completion.
/// A route with a conflict key lets requests with *different* keys run concurrently (up to the
/// budget), while requests with the same key keep their order and never overlap.
class SchedulingPolicy {
 public:
  struct Rule {
    enum class Source : std::uint8_t { Caller, Field };
    Source source = Source::Caller;
    std::string field;  // scalar field of the request message, for Source::Field
  };

  /// Requests on `route_key` from different callers may interleave.
  SchedulingPolicy& key_by_caller(std::string route_key);
  /// Requests on `route_key` whose scalar field `field` differs may interleave.
  SchedulingPolicy& key_by_field(std::string route_key, std::string field);
  /// At most this many keyed requests in flight at once (default 8).
  SchedulingPolicy& budget(std::size_t max_in_flight);

  const Rule* find(std::string_view route_key) const;
  std::size_t max_in_flight() const { return budget_; }
  bool empty() const { return rules_.empty(); }

 private:
  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  std::unordered_map<std::string, Rule, Hash, std::equal_to<>> rules_;
  std::size_t budget_ = 8;
};

class Workload {
 public:
  virtual ~Workload() = default;

  /// Runs before any request. An error aborts the node's start and is returned to the starter.
  virtual boost::asio::awaitable<Result<void>> on_start(Context& ctx);
  /// Runs exactly once when the node stops, after the last request handler returned.
  virtual boost::asio::awaitable<void> on_stop(Context& ctx);

  /// An actor of a type this workload subscribed to (Context::subscribe_actr_up) came up.
  virtual boost::asio::awaitable<void> on_actr_up(const ActrId& actor, Context& ctx);

  /// route key → decode → handler → encode. UnknownRoute for routes this workload does not serve.
  virtual boost::asio::awaitable<Result<Payload>> dispatch(std::string_view route_key, Payload request,
                                                           Context& ctx) = 0;

  /// Asked once at start.
  virtual SchedulingPolicy scheduling() const { return {}; }
};

}  // namespace actr
