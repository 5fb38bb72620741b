#pragma once
// Token buckets: per-connection message rate (bursty, for ICE trickles) and per-IP connection
// rate. Time is passed in (monotonic ms) so the buckets are pure and testable.

#include <cstdint>
#include <string>
#include <unordered_map>

namespace actr::signal {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate_per_sec, double burst, std::int64_t now_ms)
      : rate_(rate_per_sec), burst_(burst), tokens_(burst), last_ms_(now_ms) {}
  /// Takes one token if there is one.
  bool take(std::int64_t now_ms);
  double tokens() const { return tokens_; }

 private:
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  std::int64_t last_ms_ = 0;
};

/// One bucket per client IP; idle buckets (full again) are dropped by sweep().
class PerIpLimiter {
 public:
  PerIpLimiter(double rate_per_sec, double burst) : rate_(rate_per_sec), burst_(burst) {}
  bool allow(const std::string& ip, std::int64_t now_ms);
  void sweep(std::int64_t now_ms);
  std::size_t size() const { return buckets_.size(); }

 private:
  double rate_;
  double burst_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

}  // namespace actr::signal
