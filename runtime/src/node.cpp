#include "actr/runtime/node.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <thread>

#include "allocator.hpp"
#include "idle_spin.hpp"
#include "node_core.hpp"

namespace actr {

// The io_context outlives the NodeCore's own references to it: it is destroyed last, and its
// destructor releases any handler (and the NodeCore it may hold) that never ran.
struct Node::Threads {
  // A hint of 1 lets Asio queue work posted from the io thread itself without taking its lock;
  // other threads may still post (it is not BOOST_ASIO_CONCURRENCY_HINT_UNSAFE).
  explicit Threads(std::size_t count) : io(count <= 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT) {}
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  /// `spin`: the first thread's idle spin (one spinning thread is enough to catch what arrives).
  void run(std::size_t count, std::chrono::microseconds spin) {
    work.emplace(io.get_executor());
    threads.emplace_back([this, spin] { detail::run_spinning(io, spin); });
    for (std::size_t i = 1; i < count; ++i) threads.emplace_back([this] { io.run(); });
  }
  void stop() {
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
    threads.clear();
  }
};

Node::Node(NodeConfig config)
    : config_(std::move(config)), threads_(std::make_unique<Threads>(config_.threads)) {
  if (config_.tune_allocator) detail::tune_allocator_once();
  core_ = std::make_shared<detail::NodeCore>(threads_->io, config_);
}

Node::~Node() {
  if (!threads_->threads.empty()) {
    core_->shutdown();
    if (!core_->wait_stopped(config_.shutdown_grace + std::chrono::seconds(2))) {
      spdlog::warn("node {} did not stop in time; abandoning its remaining work",
                   to_string(core_->current_id()));
    }
    threads_->stop();
  }
  core_.reset();
  threads_.reset();
}

Result<ActorRef> Node::start(std::shared_ptr<Workload> workload) {
  if (!workload) return fail(ErrorCode::InvalidArgument, "Node::start needs a workload");
  if (auto ok = validate(config_.actr_type); !ok) {
    return fail(ErrorCode::InvalidArgument, "NodeConfig.actr_type: " + ok.error().message);
  }
  auto started = core_->start(std::move(workload));
  if (threads_->threads.empty()) {
    threads_->run(config_.threads, detail::resolve_idle_spin(config_.idle_spin, core_->cpus()));
  }
  if (started.wait_for(config_.start_timeout) != std::future_status::ready) {
    core_->shutdown();
    return fail(ErrorCode::TimedOut,
                "on_start did not finish within " + std::to_string(config_.start_timeout.count()) + " ms");
  }
  auto result = started.get();
  if (!result) return std::unexpected(std::move(result.error()));
  return ActorRef(core_);
}

ActrId ActorRef::id() const { return core_->current_id(); }

boost::asio::any_io_executor ActorRef::executor() const { return core_->strand(); }

boost::asio::awaitable<Result<Payload>> ActorRef::send_request(Outbound message) const {
  detail::InProcessCall op(*core_, detail::Target::Workload);
  if (op.must_yield()) co_await op.park();
  if (!op.start(std::move(message))) co_await op.park();
  co_return op.take_reply();
}

boost::asio::awaitable<Result<void>> ActorRef::send_tell(Outbound message) const {
  Result<detail::EnvelopePtr> envelope =
      core_->accepting()
          ? core_->make_envelope(DIRECTION_TELL, std::move(message), detail::shell_caller(), nullptr)
          : std::unexpected(core_->not_running());
  auto admitted = co_await core_->tell(detail::Target::Workload, std::move(envelope));
  if (!admitted) co_return std::unexpected(std::move(admitted.error()));
  co_return Result<void>{};
}

void ActorRef::add_shell_handler(std::string route_key, ShellHandler handler) {
  core_->add_shell_handler(std::move(route_key), std::move(handler));
}

void ActorRef::shutdown() const { core_->shutdown(); }

bool ActorRef::wait_for_shutdown(std::chrono::milliseconds timeout) const {
  return core_->wait_stopped(timeout);
}

NodeStats ActorRef::stats() const { return core_->stats(); }

}  // namespace actr
