#include "scheduler.hpp"

#include <google/protobuf/message.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

namespace actr::detail {

namespace pb = google::protobuf;

Scheduler::Scheduler(Strand strand, Mailbox& mailbox, SchedulingPolicy policy, Handle handle)
    : strand_(strand),
      mailbox_(mailbox),
      policy_(std::move(policy)),
      handle_(std::move(handle)),
      slot_freed_(strand),
      finished_waiters_(strand) {}

asio::awaitable<void> Scheduler::run() {
  std::size_t since_yield = 0;
  for (;;) {
    // Callers resumed inline by a reply (InlineResumer) keep this loop busy without it ever
    // parking; yielding now and then lets timers, sockets and other work on the strand run.
    if (++since_yield > kYieldEvery) {
      since_yield = 0;
      co_await asio::post(strand_, asio::use_awaitable);
    }
    if (claimed_) {  // what waits stays in the mailbox, where its capacity counts it
      co_await slot_freed_.wait();
      continue;
    }
    EnvelopePtr envelope = mailbox_.try_pop();
    if (!envelope) {
      if (mailbox_.closed()) break;
      since_yield = 0;
      co_await mailbox_.wait_readable();
      continue;
    }
    if (envelope->expired(Clock::now())) continue;  // its caller already got TimedOut
    holding_ = true;
    auto key = policy_.empty() ? std::nullopt : conflict_key(*envelope);
    if (!key) {
      while (in_flight_ > 0) co_await slot_freed_.wait();
      ++in_flight_;
      holding_ = false;
      envelope->holds_slot = true;  // the handler gives the slot back (see NodeCore::handle)
      co_await handle_(std::move(envelope));
      continue;
    }
    while (in_flight_ >= policy_.max_in_flight() || keys_in_flight_.contains(*key)) {
      co_await slot_freed_.wait();
    }
    ++in_flight_;
    holding_ = false;
    keys_in_flight_.insert(*key);
    asio::co_spawn(strand_, run_keyed(std::move(envelope), std::move(*key)), asio::detached);
  }
  while (in_flight_ > 0) co_await slot_freed_.wait();
  finished_ = true;
  finished_waiters_.notify_all();
}

asio::awaitable<void> Scheduler::run_keyed(EnvelopePtr envelope, std::string key) {
  co_await handle_(std::move(envelope));
  keys_in_flight_.erase(key);
  --in_flight_;
  slot_freed_.notify_all();
}

asio::awaitable<bool> Scheduler::wait_finished(Clock::time_point deadline) {
  // One co_return, after the loop: g++ 12 miscompiles a co_return inside this loop into a trap.
  bool in_time = true;
  while (!finished_ && in_time) in_time = co_await finished_waiters_.wait(deadline);
  co_return finished_;
}

std::optional<std::string> Scheduler::conflict_key(Envelope& envelope) {
  const auto* rule = policy_.find(envelope.route_key);
  if (!rule) return std::nullopt;
  if (rule->source == SchedulingPolicy::Rule::Source::Caller) {
    return *envelope.caller ? to_string(**envelope.caller) : std::string("shell");
  }
  const FieldKey& key = field_key(envelope.route_key, rule->field);
  if (!key.prototype) return std::nullopt;
  // Decoding here is not wasted: the dispatcher then finds the typed message and skips its decode.
  if (!envelope.payload.materialize(*key.prototype)) return std::nullopt;  // dispatch reports it
  const pb::Message& message = *envelope.payload.message();
  const pb::Reflection& reflection = *message.GetReflection();
  const pb::FieldDescriptor& field = *key.field;
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: return reflection.GetString(message, &field);
    case pb::FieldDescriptor::CPPTYPE_INT32: return std::to_string(reflection.GetInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_INT64: return std::to_string(reflection.GetInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return std::to_string(reflection.GetUInt32(message, &field));
    case pb::FieldDescriptor::CPPTYPE_UINT64: return std::to_string(reflection.GetUInt64(message, &field));
    case pb::FieldDescriptor::CPPTYPE_BOOL: return reflection.GetBool(message, &field) ? "1" : "0";
    case pb::FieldDescriptor::CPPTYPE_ENUM: return std::to_string(reflection.GetEnumValue(message, &field));
    default: return std::nullopt;  // excluded when the rule was resolved
  }
}

const Scheduler::FieldKey& Scheduler::field_key(std::string_view route_key, const std::string& field_name) {
  if (auto it = field_keys_.find(std::string(route_key)); it != field_keys_.end()) return it->second;
  FieldKey key;
  const auto* method = pb::DescriptorPool::generated_pool()->FindMethodByName(std::string(route_key));
  const auto* field = method ? method->input_type()->FindFieldByName(field_name) : nullptr;
  bool scalar = field && !field->is_repeated() && field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                field->cpp_type() != pb::FieldDescriptor::CPPTYPE_DOUBLE &&
                field->cpp_type() != pb::FieldDescriptor::CPPTYPE_FLOAT;
  if (scalar) {
    key.prototype = pb::MessageFactory::generated_factory()->GetPrototype(method->input_type());
    key.field = field;
  } else {
    spdlog::warn("scheduling: route '{}' has no integral/string field '{}' to key on; it runs serially",
                 route_key, field_name);
  }
  return field_keys_.emplace(std::string(route_key), key).first->second;
}

}  // namespace actr::detail
