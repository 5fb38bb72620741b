#include "node_core.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <charconv>
#include <random>

#include "runtime_context.hpp"

namespace actr::detail {
namespace {

std::uint64_t random_u64() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

Error handler_exception(std::string_view route_key, std::string_view what) {
  return Error{ErrorCode::Internal, fmt::format("handler for '{}' threw: {}", route_key, what)};
}

}  // namespace

NodeCore::NodeCore(asio::io_context& io, NodeConfig config)
    : io_(io),
      config_(std::move(config)),
      strand_(config_.threads <= 1 ? Strand(io_.get_executor()) : Strand(asio::make_strand(io_))),
      // Without signaling there is nobody to allocate a serial: pick a random one locally.
      self_id_(make_actr_id(config_.realm_id, random_u64() >> 1, config_.actr_type)),
      request_id_prefix_(fmt::format("{:016x}", random_u64())),
      pending_(strand_),
      mailbox_(strand_, config_.mailbox_capacity,
               [this](Envelope& held) {
                 // A held TELL's sender is waiting for admission; a held REQUEST's for the reply.
                 if (held.direction == DIRECTION_TELL) return pending_.complete(held.sequence, Payload{});
                 return !held.expired(Clock::now());
               }),
      streams_(strand_, config_.stream_queue_capacity) {}

void NodeCore::number(Envelope& envelope) {
  envelope.sequence = request_counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  char digits[16];
  auto end = std::to_chars(digits, digits + sizeof digits, envelope.sequence, 16).ptr;
  envelope.request_id.reserve(request_id_prefix_.size() + 1 + (end - digits));
  envelope.request_id.assign(request_id_prefix_).append(1, '-').append(digits, end);
}

Result<EnvelopePtr> NodeCore::make_envelope(Direction direction, Outbound message,
                                            std::optional<ActrId> caller, const TraceContext* parent) {
  if (message.options.timeout.count() <= 0) {
    return fail(ErrorCode::InvalidArgument, fmt::format("timeout for '{}' must be positive, got {} ms",
                                                        message.route_key, message.options.timeout.count()));
  }
  auto envelope = std::make_unique<Envelope>();
  envelope->direction = direction;
  envelope->lane = message.lane;
  envelope->route_key = message.route_key;
  number(*envelope);
  envelope->payload = std::move(message.payload);
  envelope->deadline = Clock::now() + message.options.timeout;
  if (direction == DIRECTION_REQUEST) envelope->timeout_ms = message.options.timeout.count();
  envelope->caller = std::move(caller);
  envelope->metadata = std::move(message.options.metadata);
  envelope->trace = parent ? parent->child() : TraceContext::new_trace();
  return envelope;
}

asio::awaitable<Result<Payload>> NodeCore::request(Target target, EnvelopePtr envelope) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<Payload>)>(
      [self = shared_from_this(), target](auto handler, EnvelopePtr envelope) {
        asio::dispatch(self->strand_,
                       [self, target, envelope = std::move(envelope),
                        done = deferred_completion<Result<Payload>>(std::move(handler))]() mutable {
                         self->start_request(target, std::move(envelope), std::move(done));
                       });
      },
      asio::use_awaitable, std::move(envelope));
}

asio::awaitable<Result<Payload>> NodeCore::tell(Target target, EnvelopePtr envelope) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<Payload>)>(
      [self = shared_from_this(), target](auto handler, EnvelopePtr envelope) {
        asio::dispatch(self->strand_,
                       [self, target, envelope = std::move(envelope),
                        done = deferred_completion<Result<Payload>>(std::move(handler))]() mutable {
                         self->start_tell(target, std::move(envelope), std::move(done));
                       });
      },
      asio::use_awaitable, std::move(envelope));
}

void NodeCore::start_request(Target target, EnvelopePtr envelope, Completion done) {
  if (target == Target::Workload && mailbox_.closed()) {
    done(fail(ErrorCode::Unavailable, fmt::format("actor {} is shutting down", to_string(self_id_))));
    return;
  }
  std::optional<ActorRef::ShellHandler> handler;
  if (target == Target::Shell && !(handler = shell_handler(envelope->route_key))) {
    done(fail(ErrorCode::UnknownRoute,
              fmt::format("the shell registered no handler for '{}'", envelope->route_key)));
    return;
  }
  pending_.add(envelope->sequence, envelope->deadline, std::move(done));
  if (target == Target::Workload) {
    enqueue(std::move(envelope));
  } else {
    asio::co_spawn(strand_, run_shell(std::move(*handler), std::move(envelope)), asio::detached);
  }
}

void NodeCore::start_tell(Target target, EnvelopePtr envelope, Completion done) {
  if (target == Target::Shell) {
    auto handler = shell_handler(envelope->route_key);
    if (!handler) {
      done(fail(ErrorCode::UnknownRoute,
                fmt::format("the shell registered no handler for '{}'", envelope->route_key)));
      return;
    }
    asio::co_spawn(strand_, run_shell(std::move(*handler), std::move(envelope)), asio::detached);
    done(Payload{});
    return;
  }
  auto sequence = envelope->sequence;
  auto deadline = envelope->deadline;
  switch (mailbox_.push(std::move(envelope))) {
    case Mailbox::Admission::Queued: done(Payload{}); break;
    case Mailbox::Admission::Held:
      pending_.add(sequence, deadline, std::move(done));
      break;  // admitted later
    case Mailbox::Admission::Full:
      done(fail(ErrorCode::Unavailable, fmt::format("mailbox of {} is full", to_string(self_id_))));
      break;
    case Mailbox::Admission::Closed:
      done(fail(ErrorCode::Unavailable, fmt::format("actor {} is shutting down", to_string(self_id_))));
      break;
  }
  queued_.store(mailbox_.queued(), std::memory_order_relaxed);
}

void NodeCore::enqueue(EnvelopePtr envelope) {
  auto id = envelope->sequence;
  switch (mailbox_.push(std::move(envelope))) {
    case Mailbox::Admission::Queued:
    case Mailbox::Admission::Held: break;
    case Mailbox::Admission::Full:
      pending_.complete(id, fail(ErrorCode::Unavailable,
                                 fmt::format("mailbox of {} is full ({} queued, {} held)",
                                             to_string(self_id_), mailbox_.queued(), mailbox_.held())));
      break;
    case Mailbox::Admission::Closed:
      pending_.complete(
          id, fail(ErrorCode::Unavailable, fmt::format("actor {} is shutting down", to_string(self_id_))));
      break;
  }
  queued_.store(mailbox_.queued(), std::memory_order_relaxed);
}

void NodeCore::add_shell_handler(std::string route_key, ActorRef::ShellHandler handler) {
  std::lock_guard lock(shell_mutex_);
  shell_handlers_[std::move(route_key)] = std::move(handler);
}

std::optional<ActorRef::ShellHandler> NodeCore::shell_handler(std::string_view route_key) {
  std::lock_guard lock(shell_mutex_);
  auto it = shell_handlers_.find(std::string(route_key));
  if (it == shell_handlers_.end()) return std::nullopt;
  return it->second;
}

asio::awaitable<void> NodeCore::run_shell(ActorRef::ShellHandler handler, EnvelopePtr envelope) {
  Result<Payload> result = fail(ErrorCode::Internal, "shell handler did not run");
  try {
    result = co_await handler(std::move(envelope->payload));
  } catch (const std::exception& e) {
    result = std::unexpected(handler_exception(envelope->route_key, e.what()));
  }
  if (envelope->direction == DIRECTION_REQUEST) {
    reply(*envelope, std::move(result));
  } else if (!result) {
    spdlog::warn("shell handler for tell '{}' failed: {}", envelope->route_key, result.error().to_string());
  }
}

asio::awaitable<void> NodeCore::handle(EnvelopePtr envelope) {
  requests_handled_.fetch_add(1, std::memory_order_relaxed);
  RuntimeContext ctx(*this, envelope.get());
  Result<Payload> result = fail(ErrorCode::Internal, "handler did not run");
  try {
    result = co_await workload_->dispatch(envelope->route_key, std::move(envelope->payload), ctx);
  } catch (const std::exception& e) {
    result = std::unexpected(handler_exception(envelope->route_key, e.what()));
  } catch (...) {
    result = std::unexpected(handler_exception(envelope->route_key, "a non-standard exception"));
  }
  if (envelope->direction == DIRECTION_REQUEST) {
    reply(*envelope, std::move(result));
  } else if (!result) {
    spdlog::warn("tell '{}' failed in {}: {}", envelope->route_key, to_string(self_id_),
                 result.error().to_string());
  }
}

void NodeCore::reply(const Envelope& request, Result<Payload> result) {
  // In process the caller waits in our own table; a caller that gave up is simply gone.
  pending_.complete(request.sequence, std::move(result));
}

asio::awaitable<Result<void>> NodeCore::deliver_chunk(DataChunk chunk, ActrId sender, PayloadType lane,
                                                      Clock::time_point deadline) {
  return streams_.deliver(std::move(chunk), std::move(sender), lane, deadline);
}

std::future<Result<void>> NodeCore::start(std::shared_ptr<Workload> workload) {
  auto done = std::make_shared<std::promise<Result<void>>>();
  auto future = done->get_future();
  State expected = State::Idle;
  if (!state_.compare_exchange_strong(expected, State::Starting)) {
    done->set_value(fail(ErrorCode::InvalidArgument, "a node starts once"));
    return future;
  }
  asio::co_spawn(strand_, run_start(std::move(workload), done), asio::detached);
  return future;
}

asio::awaitable<void> NodeCore::run_start(std::shared_ptr<Workload> workload,
                                          std::shared_ptr<std::promise<Result<void>>> done) {
  auto self = shared_from_this();
  workload_ = std::move(workload);
  scheduler_ =
      std::make_unique<Scheduler>(strand_, mailbox_, workload_->scheduling(),
                                  [this](EnvelopePtr envelope) { return handle(std::move(envelope)); });
  Result<void> started = fail(ErrorCode::Internal, "on_start did not run");
  try {
    RuntimeContext ctx(*this, nullptr);
    started = co_await workload_->on_start(ctx);
  } catch (const std::exception& e) {
    started = fail(ErrorCode::Internal, fmt::format("on_start threw: {}", e.what()));
  }
  if (state() != State::Starting) {  // shut down (e.g. start timed out) while on_start ran
    done->set_value(fail(ErrorCode::Unavailable, "the node was shut down during on_start"));
    co_return;
  }
  if (!started) {
    set_state(State::Stopping);
    co_await run_stop(false);
    done->set_value(std::move(started));
    co_return;
  }
  set_state(State::Running);
  asio::co_spawn(strand_, scheduler_->run(), asio::detached);
  done->set_value(Result<void>{});
}

void NodeCore::shutdown() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    State state = self->state();
    if (state == State::Stopping || state == State::Stopped) return;
    self->set_state(State::Stopping);
    asio::co_spawn(self->strand_, self->run_stop(state == State::Running), asio::detached);
  });
}

asio::awaitable<void> NodeCore::run_stop(bool run_on_stop) {
  auto self = shared_from_this();
  auto shutting_down =
      Error{ErrorCode::Unavailable, fmt::format("actor {} shut down before answering", to_string(self_id_))};
  mailbox_.close();  // queued and held requests: their callers are failed just below
  pending_.fail_all(shutting_down);
  streams_.close_all();
  if (scheduler_ && run_on_stop) {
    if (!co_await scheduler_->wait_finished(Clock::now() + config_.shutdown_grace)) {
      spdlog::warn("{}: handlers still running after {} ms; running on_stop anyway", to_string(self_id_),
                   config_.shutdown_grace.count());
    }
  }
  if (run_on_stop && !on_stop_ran_) {
    on_stop_ran_ = true;
    try {
      RuntimeContext ctx(*this, nullptr);
      co_await workload_->on_stop(ctx);
    } catch (const std::exception& e) {
      spdlog::error("{}: on_stop threw: {}", to_string(self_id_), e.what());
    }
  }
  pending_.fail_all(shutting_down);
  set_state(State::Stopped);
}

void NodeCore::set_state(State state) {
  {
    std::lock_guard lock(stopped_mutex_);
    state_.store(state, std::memory_order_release);
  }
  if (state == State::Stopped) stopped_cv_.notify_all();
}

bool NodeCore::wait_stopped(std::chrono::milliseconds timeout) {
  // Blocking one of the node's own threads could starve the very stop we wait for.
  if (io_.get_executor().running_in_this_thread()) return state() == State::Stopped;
  std::unique_lock lock(stopped_mutex_);
  return stopped_cv_.wait_for(lock, timeout,
                              [this] { return state() == State::Stopped || state() == State::Idle; });
}

NodeStats NodeCore::stats() const {
  return NodeStats{requests_handled_.load(std::memory_order_relaxed), queued_.load(std::memory_order_relaxed),
                   pending_.size()};
}

}  // namespace actr::detail
