#pragma once
// Node: hosts one workload. It owns the io_context and its threads, the mailbox, the scheduler,
// the pending-call table and the streams. `start` hands back an ActorRef, the host
// application's ("shell's") handle on its actor.
//
//   actr::Node node(config);
//   auto actor = node.start(std::make_shared<MyEcho>());   // runs on_start; its error comes back here
//   auto reply = actor->call_sync(request);                 // or co_await actor->call(request)
//   actor->shutdown(); actor->wait_for_shutdown(5s);       // on_stop runs exactly once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <actr/signal.pb.h>

#include "actr/framework.hpp"
#include "actr/runtime/in_process_call.hpp"

namespace actr {

/// How a node reaches other processes. Without it the node is in-process only.
/// What the duplicate filter keeps: the requests from peers this node remembers, so that a
/// retried request (same caller, same request_id) is answered again instead of run twice
/// (docs/remote.md, "Retries"). A retry that finds its request forgotten runs again; one whose
/// answer was not kept gets Unavailable.
struct DuplicateFilterLimits {
  std::size_t requests = 65'536;                      // remembered, the oldest forgotten first
  std::size_t answer_bytes = std::size_t{64} << 20;   // answers kept, all together; the oldest go first
  std::size_t answer_at_most = std::size_t{1} << 20;  // a bigger answer is not kept
};

struct RemoteConfig {
  std::string signaling_url = "ws://127.0.0.1:8081/signaling/ws";
  std::string ais_url;  // default: http://<signaling host:port>/ais
  std::string realm_secret;
  /// WebSocket direct-connect listener; an empty host means no listener (the node only dials).
  std::string ws_listen_host = "127.0.0.1";
  std::uint16_t ws_listen_port = 0;      // 0: ephemeral
  std::string ws_advertised_host;        // what peers dial; default ws_listen_host
  std::uint16_t ws_advertised_port = 0;  // what peers dial; 0: the bound port (e.g. behind a port map)
  std::optional<std::uint32_t> heartbeat_interval_secs;
  Acl acl;              // who may call this actor (PROTOCOL.md rule); empty: same realm
  std::string service;  // "package.Service:sha256:..." (RegisterRequest.service)
  std::optional<ServiceSpec> service_spec;
  /// manifest.lock.toml: fingerprints of dependencies for discovery (none: empty fingerprint).
  std::string lock_file;
  std::chrono::milliseconds signaling_timeout{5'000};
  DuplicateFilterLimits duplicate_filter;
};

struct NodeConfig {
  ActrType actr_type;  // required: what this actor is
  std::uint32_t realm_id = 0;
  std::size_t threads = 1;              // io_context threads; handlers still run one strand
  std::size_t mailbox_capacity = 1024;  // per priority lane; see docs/runtime.md for what a full mailbox does
  std::size_t stream_queue_capacity = 256;          // chunks buffered per stream
  std::chrono::milliseconds start_timeout{30'000};  // on_start must finish within it
  std::chrono::milliseconds shutdown_grace{
      5'000};                          // running handlers get this long, then on_stop runs anyway
  std::optional<RemoteConfig> remote;  // signaling, discovery and peer wires; none: in-process only
  /// Once out of ready work, the node's first thread keeps polling this long before it blocks, so
  /// an answer from a peer on another core needs no wake-up (docs/runtime.md, "Idle spin"). Unset:
  /// 50 µs when the process may run on two or more CPUs, none on one. Zero: never spin.
  std::optional<std::chrono::microseconds> idle_spin;
  /// With glibc: when the node is created, start malloc's mmap and trim thresholds at 4 and 8 MiB
  /// for the whole process, once (glibc still raises them further by itself), unless the
  /// environment already sets them (MALLOC_*_THRESHOLD_ or GLIBC_TUNABLES). Without it a receiver of
  /// big stream chunks gives its heap back to the kernel after every read and faults it in again
  /// (docs/runtime.md, "Allocator").
  bool tune_allocator = true;
};

/// Figures a host or benchmark can read without touching the node's strand.
struct NodeStats {
  std::uint64_t requests_handled = 0;
  std::uint64_t mailbox_queued = 0;
  std::uint64_t pending_calls = 0;
};

class ActorRef {
 public:
  using ShellHandler = std::function<boost::asio::awaitable<Result<Payload>>(Payload request)>;

  /// This actor's id; it changes if the node has to register again (a copy: safe from any thread).
  ActrId id() const;
  /// The workload's strand. Coroutines spawned on it call the actor without crossing threads.
  boost::asio::any_io_executor executor() const;

  /// Shell → workload call. Safe from any thread or executor.
  template <RpcRequest Request>
  boost::asio::awaitable<Result<typename RpcTraits<Request>::Response>> call(Request request,
                                                                             CallOptions options = {}) {
    using Response = typename RpcTraits<Request>::Response;
    // send_request's steps, spelled out here so that the call needs no second coroutine frame.
    detail::InProcessCall op(*core_, detail::Target::Workload);
    if (op.must_yield()) co_await op.park();
    if (!op.start(Outbound{RpcTraits<Request>::route_key, RpcTraits<Request>::lane,
                           Payload::of(std::move(request)), std::move(options)}))
      co_await op.park();
    auto reply = op.take_reply();
    if (!reply) co_return std::unexpected(std::move(reply.error()));
    // Typed already (in process): hand the message over with one move, not via take's Result.
    if (auto* typed = reply->template get_if<Response>()) co_return std::move(*typed);
    co_return std::move(*reply).template take<Response>();
  }

  template <RpcRequest Request>
  boost::asio::awaitable<Result<void>> tell(Request request, CallOptions options = {}) {
    return send_tell(Outbound{RpcTraits<Request>::route_key, RpcTraits<Request>::lane,
                              Payload::of(std::move(request)), std::move(options)});
  }

  /// Blocking call for hosts that are not coroutines. Never call it from the node's own threads.
  template <RpcRequest Request>
  Result<typename RpcTraits<Request>::Response> call_sync(Request request, CallOptions options = {}) {
    return run_sync(call(std::move(request), std::move(options)));
  }

  boost::asio::awaitable<Result<Payload>> send_request(Outbound message) const;
  boost::asio::awaitable<Result<void>> send_tell(Outbound message) const;

  /// Handlers the workload reaches with `ctx.call(Dest::shell(), request)`.
  template <RpcRequest Request, class F>
  void handle(F handler) {
    using Response = typename RpcTraits<Request>::Response;
    add_shell_handler(
        std::string(RpcTraits<Request>::route_key),
        [handler = std::move(handler)](Payload payload) -> boost::asio::awaitable<Result<Payload>> {
          auto request = std::move(payload).template take<Request>();
          if (!request) co_return std::unexpected(std::move(request.error()));
          Result<Response> response = co_await handler(std::move(*request));
          if (!response) co_return std::unexpected(std::move(response.error()));
          co_return Payload::of(std::move(*response));
        });
  }
  void add_shell_handler(std::string route_key, ShellHandler handler);

  /// Begins an orderly stop: new calls are refused, waiting callers get Unavailable, running
  /// handlers get `shutdown_grace`, then on_stop runs (exactly once). Idempotent, never blocks.
  void shutdown() const;
  /// true once the node has stopped; false after `timeout`, or when called on a node thread.
  bool wait_for_shutdown(std::chrono::milliseconds timeout) const;
  NodeStats stats() const;

 private:
  friend class Node;
  explicit ActorRef(std::shared_ptr<detail::NodeCore> core) : core_(std::move(core)) {}

  template <class T>
  Result<T> run_sync(boost::asio::awaitable<Result<T>> work) const {
    auto future = boost::asio::co_spawn(executor(), std::move(work), boost::asio::use_future);
    return future.get();
  }

  std::shared_ptr<detail::NodeCore> core_;
};

class Node {
 public:
  explicit Node(NodeConfig config);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Shuts the workload down (if running), waits for it, and joins the threads.
  ~Node();

  /// Starts the threads and runs `workload->on_start`. Blocks until it finished; its error (or
  /// TimedOut after `start_timeout`) is returned and the node stays stopped.
  Result<ActorRef> start(std::shared_ptr<Workload> workload);

 private:
  struct Threads;
  NodeConfig config_;
  std::unique_ptr<Threads> threads_;
  std::shared_ptr<detail::NodeCore> core_;
};

}  // namespace actr
