#pragma once
// Workload: the user's actor. It is started once, handles requests one at a time unless its
// scheduling policy says otherwise, and is stopped once.
//
// Generated service bases (protoc-gen-actr) derive virtually from Workload and implement
// `dispatch` and `serve`. A workload serving two services derives from
// `actr::Serves<AHandler, BHandler>` (serves.hpp), which picks the base for each request.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
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

/// One request while a workload serves it (Workload::serve): what was asked, the handler's
/// Context, and where the answer goes. The runtime implements it and frees it when the owning
/// IncomingRequestPtr goes, so it outlives the coroutine that serves it.
class IncomingRequest {
 public:
  virtual std::string_view route_key() const = 0;
  /// A peer's request may read its bytes in place from the wire's read buffer until the handler
  /// first suspends, when the runtime copies them: a string_view of payload().bytes() taken
  /// before a co_await is not good after it (take it again).
  virtual Payload& payload() = 0;
  virtual Context& context() = 0;
  /// The handler's answer or error (a tell's error is logged). Call once, as the last thing.
  virtual void answer(Result<Payload> result) = 0;
  /// Instead of answer(): the handler threw. `what` is a std::exception's what(), or nullptr.
  virtual void threw(const char* what) = 0;

  struct Release {
    void operator()(IncomingRequest* request) const noexcept { request->release(); }
  };

 protected:
  ~IncomingRequest() = default;
  virtual void release() noexcept = 0;
};
using IncomingRequestPtr = std::unique_ptr<IncomingRequest, IncomingRequest::Release>;

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

  /// dispatch(), then request->answer() (or threw()): what the runtime calls for every request.
  /// Generated bases override it with their dispatch inlined, so that a request runs in one
  /// coroutine frame fewer. The default calls dispatch().
  virtual boost::asio::awaitable<void> serve(IncomingRequestPtr request);

  /// Asked once at start.
  virtual SchedulingPolicy scheduling() const { return {}; }
};

}  // namespace actr
