#include "actr/framework/workload.hpp"

#include <exception>

namespace actr {

SchedulingPolicy& SchedulingPolicy::key_by_caller(std::string route_key) {
  rules_[std::move(route_key)] = Rule{Rule::Source::Caller, {}};
  return *this;
}

SchedulingPolicy& SchedulingPolicy::key_by_field(std::string route_key, std::string field) {
  rules_[std::move(route_key)] = Rule{Rule::Source::Field, std::move(field)};
  return *this;
}

SchedulingPolicy& SchedulingPolicy::budget(std::size_t max_in_flight) {
  budget_ = max_in_flight == 0 ? 1 : max_in_flight;
  return *this;
}

const SchedulingPolicy::Rule* SchedulingPolicy::find(std::string_view route_key) const {
  auto it = rules_.find(route_key);
  return it == rules_.end() ? nullptr : &it->second;
}

boost::asio::awaitable<Result<void>> Workload::on_start(Context&) { co_return Result<void>{}; }

boost::asio::awaitable<void> Workload::on_stop(Context&) { co_return; }

boost::asio::awaitable<void> Workload::serve(IncomingRequestPtr request) {
  Result<Payload> result;
  try {
    result = co_await dispatch(request->route_key(), std::move(request->payload()), request->context());
  } catch (const std::exception& e) {
    request->threw(e.what());
    co_return;
  } catch (...) {
    request->threw(nullptr);
    co_return;
  }
  request->answer(std::move(result));
}

boost::asio::awaitable<void> Workload::on_actr_up(const ActrId&, Context&) { co_return; }

}  // namespace actr
