#include "metrics.hpp"

#include <fmt/format.h>

namespace actr::signal {

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBounds[i], counts_[i]);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  out += fmt::format("{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels, sum_, name, labels, count_);
}

std::string Metrics::render() const {
  std::string out;
  auto scalar = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  scalar("actr_signal_connected_actors", "gauge", "Signaling WebSockets open.", connected_actors);
  scalar("actr_signal_present_actors", "gauge", "Actors registered and alive (routable).", present_actors);
  scalar("actr_signal_registrations_total", "counter", "Successful registrations.", registrations);
  scalar("actr_signal_renewals_total", "counter", "Successful credential renewals.", renewals);
  scalar("actr_signal_unregistrations_total", "counter", "UnregisterRequests served.", unregistrations);
  scalar("actr_signal_relays_total", "counter", "ActrRelay envelopes forwarded.", relays);
  scalar("actr_signal_auth_failures_total", "counter", "Refused secrets, credentials or tokens.",
         auth_failures);
  scalar("actr_signal_rate_limited_total", "counter", "Requests refused by a rate limit.", rate_limited);
  scalar("actr_signal_malformed_total", "counter", "Undecodable or oversized frames and bodies.", malformed);
  scalar("actr_signal_heartbeat_expiries_total", "counter", "Actors removed for missed heartbeats.",
         heartbeat_expiries);
  scalar("actr_signal_displaced_total", "counter", "Connections displaced by a newer one.", displaced);
  out += "# HELP actr_signal_messages_total Signaling messages received, by payload type.\n";
  out += "# TYPE actr_signal_messages_total counter\n";
  for (auto& [type, n] : messages)
    out += fmt::format("actr_signal_messages_total{{type=\"{}\"}} {}\n", type, n);
  out += "# HELP actr_signal_request_duration_seconds Time to answer a request, by kind.\n";
  out += "# TYPE actr_signal_request_duration_seconds histogram\n";
  for (auto& [kind, h] : latency) {
    h.render(out, "actr_signal_request_duration_seconds", fmt::format("kind=\"{}\"", kind));
  }
  return out;
}

}  // namespace actr::signal
