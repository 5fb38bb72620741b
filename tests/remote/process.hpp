#pragma once
// A child process for tests: started with its stdout in a file, read for the line that says it
// is ready; stopped with a signal; always reaped.

#include <chrono>
#include <string>
#include <vector>

namespace actr::test {

class Process {
 public:
  explicit Process(std::vector<std::string> args);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// The first output line containing `needle`; empty after `timeout` or if the process exited.
  std::string wait_for_line(const std::string& needle,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends `sig` and reaps; returns the exit status as the shell would show it.
  int stop(int sig = 15);
  bool running() const { return pid_ > 0; }

 private:
  int pid_ = -1;
  std::string log_;
};

/// A loopback TCP port that was free a moment ago.
unsigned short free_port();

}  // namespace actr::test
