#include "node_core.hpp"

#include "idle_spin.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <charconv>
#include <mutex>
#include <random>
#include <unordered_set>

#include <actr/config/lock_file.hpp>
#include <actr/config/node_file.hpp>
#include <filesystem>

#include "actr/framework/block_cache.hpp"
#include "actr/protocol/credential.hpp"
#include "runtime_context.hpp"

namespace actr::detail {
namespace {

std::uint64_t random_u64() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

/// 7 random base-36 digits: with the '-' and up to 7 digits of sequence a request_id fits
/// std::string's inline buffer (15 characters), so copying one allocates nothing.
std::string random_request_id_prefix() {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  static_assert(sizeof kDigits - 1 == kRequestIdBase);
  std::string prefix(7, '0');
  std::uint64_t bits = random_u64();
  for (auto& digit : prefix) {
    digit = kDigits[bits % kRequestIdBase];
    bits /= kRequestIdBase;
  }
  return prefix;
}

/// Which NodeCores exist, by generation (never reused, unlike addresses). The io_context destroys
/// suspended handler frames after their NodeCore (Node::Threads goes last): a frame that wants to
/// touch its node from a destructor asks here first. Only rare paths ask, under the mutex.
class LiveCores {
 public:
  static LiveCores& get() {
    static LiveCores* cores = new LiveCores;  // never destroyed: frames may outlive statics too
    return *cores;
  }
  std::uint64_t add() {
    std::lock_guard lock(mutex_);
    ids_.insert(++next_);
    return next_;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    ids_.erase(id);
  }
  bool alive(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    return ids_.contains(id);
  }

 private:
  std::mutex mutex_;
  std::unordered_set<std::uint64_t> ids_;
  std::uint64_t next_ = 0;
};

Error handler_exception(std::string_view route_key, std::string_view what) {
  return Error{ErrorCode::Internal, fmt::format("handler for '{}' threw: {}", route_key, what)};
}

}  // namespace

NodeCore::NodeCore(asio::io_context& io, NodeConfig config)
    : io_(io),
      config_(std::move(config)),
      cpus_(usable_cpus()),
      strand_(config_.threads <= 1 ? Strand(io_.get_executor()) : Strand(asio::make_strand(io_))),
      resumer_(strand_),
      // Without signaling there is nobody to allocate a serial: pick a random one locally.
      self_id_(make_actr_id(config_.realm_id, random_u64() >> 1, config_.actr_type)),
      self_caller_(std::make_shared<const std::optional<ActrId>>(self_id_)),
      request_id_prefix_(random_request_id_prefix()),
      pending_(strand_),
      mailbox_(strand_, config_.mailbox_capacity,
               [this](Envelope& held) {
                 // A held TELL's sender is waiting for admission; a held REQUEST's for the reply.
                 if (held.direction == DIRECTION_TELL && !held.reply_via) {
                   return pending_.complete(held.sequence, Payload{});
                 }
                 return !held.expired(Clock::now());
               }),
      streams_(strand_, config_.stream_queue_capacity),
      generation_(LiveCores::get().add()) {}

NodeCore::~NodeCore() { LiveCores::get().remove(generation_); }

void NodeCore::number(Envelope& envelope) {
  envelope.sequence = request_counter_.fetch_add(1, std::memory_order_relaxed) + 1;
}

const std::string& NodeCore::request_id(Envelope& envelope) const {
  if (envelope.request_id.empty()) {
    char digits[16];
    auto end = std::to_chars(digits, digits + sizeof digits, envelope.sequence, kRequestIdBase).ptr;
    envelope.request_id.reserve(request_id_prefix_.size() + 1 + (end - digits));
    envelope.request_id.assign(request_id_prefix_).append(1, '-').append(digits, end);
  }
  return envelope.request_id;
}

Result<EnvelopePtr> NodeCore::make_envelope(Direction direction, Outbound message, CallerId caller,
                                            const TraceContext* parent) {
  if (message.options.timeout.count() <= 0) {
    return fail(ErrorCode::InvalidArgument, fmt::format("timeout for '{}' must be positive, got {} ms",
                                                        message.route_key, message.options.timeout.count()));
  }
  auto envelope = std::make_unique<Envelope>();
  envelope->direction = direction;
  envelope->lane = message.lane;
  envelope->set_route_key(message.route_key);
  number(*envelope);
  envelope->payload = std::move(message.payload);
  envelope->deadline = Clock::now() + message.options.timeout;
  if (direction == DIRECTION_REQUEST) envelope->timeout_ms = message.options.timeout.count();
  envelope->caller = std::move(caller);
  envelope->metadata = std::move(message.options.metadata);
  if (!message.options.request_id.empty()) {
    envelope->request_id = std::move(message.options.request_id);
    envelope->request_id_chosen = true;
  }
  // A request from the host starts a trace only when something reads it (RuntimeContext::trace,
  // or a wire writing traceparent): most in-process calls never do, and drawing ids costs.
  if (parent) envelope->trace = parent->child();
  return envelope;
}

Error NodeCore::not_running() const {
  return Error{ErrorCode::Unavailable, fmt::format("actor {} is not running", to_string(current_id()))};
}

ActrId NodeCore::current_id() const {
  std::lock_guard lock(id_mutex_);
  return self_id_;
}

void NodeCore::set_self_id(ActrId id) {
  std::lock_guard lock(id_mutex_);
  self_caller_ = std::make_shared<const std::optional<ActrId>>(id);
  self_id_ = std::move(id);
}

bool NodeCore::on_strand() const {
  if (config_.threads <= 1) return io_.get_executor().running_in_this_thread();
  const auto* strand = strand_.target<asio::strand<asio::io_context::executor_type>>();
  return strand && strand->running_in_this_thread();
}

NodeCore::Inline NodeCore::run_inline(EnvelopePtr& envelope, Result<Payload>* reply) {
  if (state() != State::Running || !mailbox_.empty() || !scheduler_->try_claim(envelope->route_key))
    return Inline::NotRun;
  InlineReply slot{reply};
  Envelope& request = *envelope;
  request.holds_slot = true;
  request.inline_reply = &slot;  // also how we learn below whether `request` still exists
  // A thread of its own, launched here without a post: if the handler suspends, control comes
  // straight back and the caller waits with a deadline like any other.
  Resume::Thread handler(handle(std::move(envelope)), strand_);
  handler.launch();
  if (slot.done) return Inline::Answered;
  if (slot.gone) {  // over without an answer: the node is stopping (see Served::release)
    if (reply) *reply = fail(ErrorCode::Unavailable, "the actor stopped before it answered");
    return Inline::Answered;
  }
  // Still running, so `request` is alive: it answers via the table (or its link), and its
  // payload must not point at bytes lent only for the time of this call.
  request.inline_reply = nullptr;
  request.payload.keep();
  return Inline::Running;
}

asio::awaitable<Result<Payload>> NodeCore::request(Target target, Result<EnvelopePtr> envelope) {
  InProcessCall call(*this, target);
  if (call.must_yield()) co_await call.park();
  if (!call.start(std::move(envelope))) co_await call.park();
  co_return call.take_reply();
}

asio::awaitable<Result<Payload>> NodeCore::tell(Target target, Result<EnvelopePtr> envelope) {
  if (!envelope) co_return std::unexpected(std::move(envelope.error()));
  Result<Payload> admitted;
  auto park = suspend([&](Resume resume) {
    auto done = resumer_.completion(std::move(resume), &admitted);
    if (on_strand()) {
      start_tell(target, std::move(*envelope), std::move(done));
      return;
    }
    asio::post(strand_, [self = shared_from_this(), target, envelope = std::move(*envelope),
                         done = std::move(done)]() mutable {
      self->start_tell(target, std::move(envelope), std::move(done));
    });
  });
  co_await std::move(park);
  co_return admitted;
}

void NodeCore::start_request(Target target, EnvelopePtr envelope, Completion&& done) {
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

void NodeCore::start_tell(Target target, EnvelopePtr envelope, Completion&& done) {
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
  Result<Payload> result;  // always assigned below
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

/// A request while the workload serves it. The serving coroutine owns it (IncomingRequestPtr), so
/// the envelope and the handler's Context live exactly as long as that coroutine.
class NodeCore::Served final : public IncomingRequest, public FromBlockCache {
 public:
  Served(NodeCore& core, EnvelopePtr envelope)
      : core_(core),
        generation_(core.generation_),
        envelope_(std::move(envelope)),
        ctx_(core, envelope_.get()) {}

  std::string_view route_key() const override { return envelope_->route_key; }
  Payload& payload() override { return envelope_->payload; }
  Context& context() override { return ctx_; }
  void answer(Result<Payload> result) override {
    if (std::exchange(answered_, true)) {
      spdlog::error("serve() answered '{}' twice; the second answer is dropped", envelope_->route_key);
      return;
    }
    core_.finish(*envelope_, std::move(result));
  }
  void threw(const char* what) override {
    answer(
        std::unexpected(handler_exception(envelope_->route_key, what ? what : "a non-standard exception")));
  }

 private:
  void release() noexcept override {
    // A serve() that ended without answering would hold the serial slot for good. A coroutine
    // destroyed unfinished answers nothing: the io_context may destroy it after its NodeCore
    // (see LiveCores); its caller was failed by then.
    if (!answered_ && LiveCores::get().alive(generation_) && core_.state() == State::Running) {
      answer(fail(ErrorCode::Internal,
                  fmt::format("the workload's serve() ended without answering '{}'", envelope_->route_key)));
    }
    delete this;
  }

  NodeCore& core_;
  std::uint64_t generation_;
  EnvelopePtr envelope_;
  RuntimeContext ctx_;
  bool answered_ = false;
};

asio::awaitable<void> NodeCore::handle(EnvelopePtr envelope) {
  // Not fetch_add: only the strand writes, and a locked add costs ~20 cycles per request.
  requests_handled_.store(requests_handled_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return workload_->serve(IncomingRequestPtr(new Served(*this, std::move(envelope))));
}

void NodeCore::finish(Envelope& request, Result<Payload> result) {
  // Free the slot before answering: a caller resumed by the answer may then run its next request
  // inline (run_inline) instead of queueing behind a handler that is already done.
  if (std::exchange(request.holds_slot, false)) scheduler_->release();
  if (request.direction == DIRECTION_REQUEST) {
    reply(request, std::move(result));
  } else if (!result) {
    spdlog::warn("tell '{}' failed in {}: {}", request.route_key, to_string(self_id_),
                 result.error().to_string());
  }
}

void NodeCore::reply(const Envelope& request, Result<Payload> result) {
  if (auto* slot = request.inline_reply; slot && slot->value) {  // its caller is right below us
    *slot->value = std::move(result);
    slot->done = true;
    return;
  }
  if (request.reply_via) {  // it came over a peer link: the answer goes back the same way
    if (peers_) peers_->reply(request, std::move(result));
    return;
  }
  // In process the caller waits in our own table; a caller that gave up is simply gone. A caller
  // on this strand resumes right here (see InlineResumer): no trip through the io_context.
  resumer_.with_window([&] { pending_.complete(request.sequence, std::move(result)); });
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
  if (config_.remote) started = co_await start_remote();  // registration gives us our ActrId
  if (!config_.remote || started) {
    try {
      RuntimeContext ctx(*this, nullptr);
      started = co_await workload_->on_start(ctx);
    } catch (const std::exception& e) {
      started = fail(ErrorCode::Internal, fmt::format("on_start threw: {}", e.what()));
    }
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
  if (peers_) peers_->close_all("node shutting down");
  if (listener_) listener_->stop();
  if (signaling_) co_await signaling_->stop();
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

std::optional<Error> NodeCore::admit_inbound(EnvelopePtr envelope) {
  if (on_strand() && run_inline(envelope, nullptr) != Inline::NotRun) return std::nullopt;
  envelope->payload.keep();  // queued: it outlives the read buffer its bytes may be lent from
  switch (mailbox_.push(std::move(envelope))) {
    case Mailbox::Admission::Queued:
    case Mailbox::Admission::Held: return std::nullopt;
    case Mailbox::Admission::Full:
      return Error{ErrorCode::Unavailable, fmt::format("mailbox of {} is full", to_string(self_id_))};
    case Mailbox::Admission::Closed: break;
  }
  return Error{ErrorCode::Unavailable, fmt::format("actor {} is shutting down", to_string(self_id_))};
}

asio::awaitable<Result<ActrId>> NodeCore::verify_peer(ActrId claimed, AIdCredential credential) {
  // Runs on the node's strand (the listener was started on it): signaling state is ours to touch.
  auto key = co_await signaling_->signing_key(credential.key_id());
  if (!key) {
    co_return fail(
        key.error().code == ErrorCode::NotFound ? ErrorCode::PermissionDenied : ErrorCode::Unavailable,
        fmt::format("signing key {}: {}", credential.key_id(), key.error().message));
  }
  auto claims = verify_credential(credential, *key, claimed, unix_now_seconds());
  if (!claims) co_return std::unexpected(std::move(claims.error()));
  co_return claimed;
}

asio::awaitable<Result<void>> NodeCore::start_remote() {
  auto self = shared_from_this();
  const RemoteConfig& remote = *config_.remote;
  peers_ = std::make_shared<Peers>(*this, strand_);
  RegisterRequest request;
  *request.mutable_actr_type() = config_.actr_type;
  request.mutable_realm()->set_realm_id(config_.realm_id);
  if (remote.acl.rules_size() > 0) *request.mutable_acl() = remote.acl;
  if (!remote.service.empty()) request.set_service(remote.service);
  if (remote.service_spec) *request.mutable_service_spec() = *remote.service_spec;
  if (!remote.ws_listen_host.empty()) {
    auto started = wire::Listener::start(
        strand_, remote.ws_listen_host, remote.ws_listen_port,
        [self](ActrId claimed, AIdCredential credential) {
          // The listener may call from its own executor (threads > 1): signaling state is the
          // strand's, so the check runs there and the answer comes back to the listener.
          return asio::co_spawn(self->strand_, self->verify_peer(std::move(claimed), std::move(credential)),
                                asio::use_awaitable);
        },
        [peers = peers_](std::shared_ptr<wire::Connection> connection) {
          peers->adopt(std::move(connection));
        },
        wire_options());
    if (!started) co_return std::unexpected(std::move(started.error()));
    listener_ = std::move(*started);
    config::WsListener advertised;  // the one spelling of a ws_address (IPv6 literals in brackets)
    advertised.advertised_host =
        remote.ws_advertised_host.empty() ? remote.ws_listen_host : remote.ws_advertised_host;
    advertised.advertised_port = remote.ws_advertised_port;
    request.set_ws_address(advertised.ws_address(listener_->port()));
  }
  if (!remote.lock_file.empty() && std::filesystem::exists(remote.lock_file)) {
    auto lock = config::load_lock_file(remote.lock_file);
    if (!lock) co_return std::unexpected(std::move(lock.error()));
    lock_ = std::move(*lock);
  }
  SignalingSettings settings;
  settings.signaling_url = remote.signaling_url;
  settings.ais_url = remote.ais_url;
  if (settings.ais_url.empty()) {
    auto derived = config::ais_url_from_signaling(remote.signaling_url);
    if (!derived) co_return std::unexpected(std::move(derived.error()));
    settings.ais_url = std::move(*derived);
  }
  settings.realm_id = config_.realm_id;
  settings.realm_secret = remote.realm_secret;
  settings.heartbeat_interval_secs = remote.heartbeat_interval_secs;
  settings.request_timeout = remote.signaling_timeout;
  signaling_ = std::make_shared<SignalingClient>(strand_, std::move(settings), [this] {
    return static_cast<float>(mailbox_.queued()) / static_cast<float>(mailbox_.capacity());
  });
  signaling_->on_actr_up(
      [this](const ActrId& actor) { asio::co_spawn(strand_, notify_actr_up(actor), asio::detached); });
  signaling_->on_reregistered([this](const ActrId& id) { set_self_id(id); });
  auto registered = co_await signaling_->start(std::move(request));
  if (!registered) co_return std::unexpected(std::move(registered.error()));
  set_self_id(registered->actr_id());
  spdlog::info("registered as {}{}", to_string(self_id_),
               listener_ ? fmt::format(", direct connect on port {}", listener_->port()) : std::string());
  co_return Result<void>{};
}

asio::awaitable<void> NodeCore::notify_actr_up(ActrId actor) {
  if (state() != State::Running) co_return;
  try {
    RuntimeContext ctx(*this, nullptr);
    co_await workload_->on_actr_up(actor, ctx);
  } catch (const std::exception& e) {
    spdlog::error("on_actr_up threw: {}", e.what());
  }
}

Result<std::string> NodeCore::dependency_fingerprint(const ActrType& type) const {
  if (!lock_) return std::string();  // no lock file: discover without a fingerprint
  for (const auto& dependency : lock_->dependencies) {
    if (dependency.actr_type == type) return dependency.fingerprint;
  }
  return fail(ErrorCode::DependencyNotFound,
              fmt::format("{} is not in {}: add it under [dependencies] in manifest.toml and lock it again "
                          "(or remove the lock file to discover without fingerprints)",
                          to_string(type), config_.remote->lock_file));
}

asio::awaitable<Result<std::vector<ActrId>>> NodeCore::discover(const ActrType& type, std::uint32_t count) {
  if (!signaling_) {
    co_return fail(ErrorCode::Unavailable,
                   fmt::format("cannot discover {}: this node has no signaling connection "
                               "(NodeConfig::remote is not set)",
                               to_string(type)));
  }
  auto fingerprint = dependency_fingerprint(type);
  if (!fingerprint) co_return std::unexpected(std::move(fingerprint.error()));
  RouteCandidatesRequest request;
  *request.mutable_target_type() = type;
  request.mutable_criteria()->set_candidate_count(std::max<std::uint32_t>(count, 1));
  request.set_client_fingerprint(*fingerprint);
  auto found = co_await signaling_->route_candidates(std::move(request));
  if (!found) co_return std::unexpected(std::move(found.error()));
  for (const auto& entry : found->ws_address_map()) {
    if (entry.has_ws_address()) peers_->remember_address(entry.candidate_id(), entry.ws_address());
  }
  if (found->candidates_size() == 0) {
    co_return fail(ErrorCode::NotFound, fmt::format("no actor of type {} is registered that accepts {}",
                                                    to_string(type), to_string(self_id_)));
  }
  co_return std::vector<ActrId>(found->candidates().begin(), found->candidates().end());
}

asio::awaitable<Result<void>> NodeCore::subscribe_actr_up(const ActrType& type) {
  if (!signaling_)
    co_return fail(ErrorCode::Unavailable, "no signaling connection (NodeConfig::remote is not set)");
  co_return co_await signaling_->subscribe_actr_up(type);
}

}  // namespace actr::detail
