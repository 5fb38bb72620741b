#pragma once
// The node's state and the in-process half of a call's path:
//   caller → request()/tell() → [strand] pending table + mailbox (or a shell handler)
//          → scheduler → handle() → Workload::serve → finish() → reply() → pending table → caller.
// Everything here runs on one strand; request()/tell() may be awaited from any executor.

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <unordered_map>

#include <actr/config/lock_file.hpp>
#include "actr/runtime/in_process_call.hpp"
#include "actr/runtime/node.hpp"

#include "mailbox.hpp"
#include "peers.hpp"
#include "pending_calls.hpp"
#include "scheduler.hpp"
#include "signaling_client.hpp"
#include "stream_registry.hpp"

namespace actr::detail {

/// Request ids this node makes spell "<prefix>-<sequence>" with digits in this base (to_chars').
inline constexpr int kRequestIdBase = 36;

class NodeCore : public std::enable_shared_from_this<NodeCore> {
 public:
  enum class State : std::uint8_t { Idle, Starting, Running, Stopping, Stopped };

  NodeCore(asio::io_context& io, NodeConfig config);
  ~NodeCore();
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  /// On the strand (the only writer: registration and re-registration run there).
  const ActrId& self_id() const { return self_id_; }
  /// The same id as the caller of what this node's workload sends.
  const CallerId& self_caller() const { return self_caller_; }
  /// From any thread.
  ActrId current_id() const;
  const Strand& strand() const { return strand_; }
  const NodeConfig& config() const { return config_; }
  /// CPUs this process could run on when the node was made (usable_cpus()).
  std::size_t cpus() const { return cpus_; }
  State state() const { return state_.load(std::memory_order_acquire); }
  bool accepting() const {
    auto s = state();
    return s == State::Starting || s == State::Running;
  }

  /// Spells out an envelope's request_id when it has none yet: this node's random prefix and the
  /// envelope's sequence (a reply carries the id back; the sequence is read off it). Lazy because
  /// an in-process call needs it only if its handler asks; anything crossing a wire gets it first.
  const std::string& request_id(Envelope& envelope) const;

  /// A fresh envelope for an outbound message (validates the timeout).
  Result<EnvelopePtr> make_envelope(Direction direction, Outbound message, CallerId caller,
                                    const TraceContext* parent);

  /// Awaitable from any executor; resumes the caller on its own executor. (ActorRef::call
  /// drives an InProcessCall itself, which is what `request` does, minus one coroutine frame.) `tell`
  /// completes when the message is admitted (an empty Payload) or refused. An error in place of the envelope
  /// (from make_envelope) is simply handed back, so callers need no coroutine frame of their own.
  /// Plain functions, not coroutines: see docs/runtime.md on g++ 12 and temporaries in co_await.
  asio::awaitable<Result<Payload>> request(Target target, Result<EnvelopePtr> envelope);
  asio::awaitable<Result<Payload>> tell(Target target, Result<EnvelopePtr> envelope);
  /// Refusal for callers that find the node not (or no longer) running.
  Error not_running() const;

  /// Call on the strand.
  asio::awaitable<Result<void>> deliver_chunk(DataChunk chunk, ActrId sender, PayloadType lane,
                                              Clock::time_point deadline);
  StreamRegistry& streams() { return streams_; }
  /// deliver_chunk() when it need not wait (see StreamRegistry::try_deliver). On the strand.
  std::optional<Result<void>> try_deliver_chunk(DataChunk& chunk, const ActrId& sender, PayloadType lane) {
    return streams_.try_deliver(chunk, sender, lane);
  }

  void add_shell_handler(std::string route_key, ActorRef::ShellHandler handler);

  // --- remote (null/empty without NodeConfig::remote) ---
  Peers* peers() const { return peers_.get(); }
  const std::string& request_id_prefix() const { return request_id_prefix_; }
  AIdCredential credential() const { return signaling_ ? signaling_->credential() : AIdCredential{}; }
  const Acl* acl() const { return config_.remote ? &config_.remote->acl : nullptr; }
  /// For the node's peer connections. With one thread the strand is the io_context's own executor
  /// and the connections run on it too; with several each connection keeps a strand of its own, so
  /// wire work can run beside the workload's handlers.
  wire::Options wire_options() const {
    wire::Options options;
    options.executor_is_serial = config_.threads <= 1;
    // A peer process on another core starts on the first replies of a batch while the rest are
    // still being produced; on one CPU the early writes would only add context switches.
    if (cpus_ >= 2) options.flush_every_frames = 16;
    return options;
  }
  /// Awaitable: waits in the pending table for the answer to `sequence`, which lands in `*reply`
  /// (the waiting coroutine's own frame). `via`: the peer link it rides on (see pending_riding).
  auto wait_reply(std::uint64_t sequence, Clock::time_point deadline, Result<Payload>* reply,
                  const void* via = nullptr) {
    return suspend([this, sequence, deadline, reply, via](Resume resume) {
      pending_.add(sequence, deadline, resumer_.completion(std::move(resume), reply), via);
    });
  }
  /// The calls waiting with `via` (when that link dies they fail at once).
  std::vector<std::uint64_t> pending_riding(const void* via) const { return pending_.riding(via); }
  /// Answers a waiting call. `resume_inline`: a caller on this strand may resume right here (a
  /// reply frame being delivered; see InlineResumer) instead of through the io_context.
  void complete_pending(std::uint64_t sequence, Result<Payload> result, bool resume_inline = false) {
    if (!resume_inline) {
      pending_.complete(sequence, std::move(result));
      return;
    }
    resumer_.with_window([&] { pending_.complete(sequence, std::move(result)); });
  }
  /// An inbound request or tell from a peer; the error when the mailbox refuses it. With the
  /// workload idle it runs right away, in the reader (see run_inline): its answer then joins the
  /// reader's batch of writes instead of taking two trips through the io_context.
  std::optional<Error> admit_inbound(EnvelopePtr envelope);
  asio::awaitable<Result<std::vector<ActrId>>> discover(const ActrType& type, std::uint32_t count);
  asio::awaitable<Result<void>> subscribe_actr_up(const ActrType& type);

  std::future<Result<void>> start(std::shared_ptr<Workload> workload);
  void shutdown();
  bool wait_stopped(std::chrono::milliseconds timeout);
  NodeStats stats() const;

 private:
  friend class InProcessCall;
  using Completion = PendingCalls::Completion;

  enum class Inline : std::uint8_t { NotRun, Answered, Running };
  /// Runs a request's handler right here, in its caller, when that keeps every promise of the
  /// queued path: the caller is on the strand, the mailbox is empty and no handler runs. Answered:
  /// the handler returned without suspending and `*reply` holds its answer (with no `reply`: it
  /// is over). Running: it suspended and will answer through the pending table (or its peer link);
  /// its payload was kept (Payload::keep), as it outlives what lent it. NotRun: `envelope` is
  /// untouched. `reply` is nullptr for a request from a peer: it answers over its link.
  Inline run_inline(EnvelopePtr& envelope, Result<Payload>* reply);
  /// true on the node's strand (inline work there needs no hop).
  bool on_strand() const;
  void start_request(Target target, EnvelopePtr envelope, Completion&& done);
  void start_tell(Target target, EnvelopePtr envelope, Completion&& done);
  /// Hands an envelope to the workload's mailbox; on refusal completes its pending entry.
  void enqueue(EnvelopePtr envelope);
  std::optional<ActorRef::ShellHandler> shell_handler(std::string_view route_key);
  asio::awaitable<void> run_shell(ActorRef::ShellHandler handler, EnvelopePtr envelope);
  /// The workload's serve() for one request; it answers through a Served (node_core.cpp).
  asio::awaitable<void> handle(EnvelopePtr envelope);
  class Served;
  /// A handler's answer: frees the serial slot, then replies (or logs a failed tell).
  void finish(Envelope& request, Result<Payload> result);
  void reply(const Envelope& request, Result<Payload> result);
  asio::awaitable<void> run_start(std::shared_ptr<Workload> workload,
                                  std::shared_ptr<std::promise<Result<void>>> done);
  asio::awaitable<void> run_stop(bool run_on_stop);
  asio::awaitable<Result<void>> start_remote();
  asio::awaitable<Result<ActrId>> verify_peer(ActrId claimed, AIdCredential credential);
  asio::awaitable<void> notify_actr_up(ActrId actor);
  Result<std::string> dependency_fingerprint(const ActrType& type) const;
  void set_state(State state);
  void set_self_id(ActrId id);
  /// Gives the envelope its sequence number, which keys the pending table.
  void number(Envelope& envelope);

  asio::io_context& io_;
  NodeConfig config_;
  std::size_t cpus_;  // usable_cpus() when the node was made
  Strand strand_;
  InlineResumer resumer_;
  /// Requests a caller on the strand may make back to back before it yields (see request()):
  /// short bursts keep other callers' latency even; each yield costs a trip through the io_context.
  static constexpr std::size_t kInlineStreak = 16;
  std::size_t inline_streak_ = 0;
  mutable std::mutex id_mutex_;  // guards self_id_ writes, and reads off the strand
  ActrId self_id_;
  CallerId self_caller_;
  std::string request_id_prefix_;  // see random_request_id_prefix
  std::atomic<std::uint64_t> request_counter_{0};
  std::atomic<State> state_{State::Idle};
  std::atomic<std::uint64_t> requests_handled_{0};  // written on the strand only, read anywhere
  std::atomic<std::uint64_t> queued_{0};

  std::shared_ptr<Workload> workload_;
  PendingCalls pending_;
  Mailbox mailbox_;
  StreamRegistry streams_;
  const std::uint64_t generation_;  // see LiveCores in node_core.cpp
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<Peers> peers_;
  std::shared_ptr<wire::Listener> listener_;
  std::shared_ptr<SignalingClient> signaling_;
  std::optional<config::LockFile> lock_;
  bool on_stop_ran_ = false;

  std::mutex shell_mutex_;
  std::unordered_map<std::string, ActorRef::ShellHandler> shell_handlers_;

  std::mutex stopped_mutex_;
  std::condition_variable stopped_cv_;
};

}  // namespace actr::detail
