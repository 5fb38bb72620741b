#include "limits.hpp"

#include <algorithm>

namespace actr::signal {

bool TokenBucket::take(std::int64_t now_ms) {
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - last_ms_) / 1000.0);
    last_ms_ = now_ms;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool PerIpLimiter::allow(const std::string& ip, std::int64_t now_ms) {
  if (rate_ <= 0) return true;
  auto [it, inserted] = buckets_.try_emplace(ip, rate_, burst_, now_ms);
  return it->second.take(now_ms);
}

void PerIpLimiter::sweep(std::int64_t now_ms) {
  std::erase_if(buckets_, [&](auto& entry) {
    TokenBucket probe = entry.second;
    // Full again (a take leaves at least burst-1): forgetting it changes nothing.
    return probe.take(now_ms) && probe.tokens() >= burst_ - 1.0;
  });
}

}  // namespace actr::signal
