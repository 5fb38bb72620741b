#pragma once
// Errors as values: every fallible operation returns actr::Result<T>.
// Codes match the wire (ErrorResponse.code), so a remote error arrives as the same code.

#include <cstdint>
#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>

namespace actr {

class ErrorResponse;

enum class ErrorCode : std::uint32_t {
  Unavailable = 10001,
  TimedOut = 10002,
  NotFound = 10003,
  PermissionDenied = 10004,
  InvalidArgument = 10005,
  UnknownRoute = 10006,
  DependencyNotFound = 10007,
  DecodeFailure = 10008,
  NotImplemented = 10009,
  Internal = 10010,
  ConnectionNotReady = 10011,
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;

  /// "TimedOut (10002): <message>" — for logs and test failures.
  std::string to_string() const;
  friend bool operator==(const Error&, const Error&) = default;
};

template <class T>
using Result = std::expected<T, Error>;

/// The usual way to fail: `return actr::fail(ErrorCode::NotFound, "no such stream 'x'");`
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

std::string_view error_code_name(ErrorCode code);

/// How test frameworks print them (GoogleTest finds PrintTo by argument-dependent lookup):
/// "TimedOut (10002)" and Error::to_string(), not the enum's raw bytes.
void PrintTo(ErrorCode code, std::ostream* out);
void PrintTo(const Error& error, std::ostream* out);

/// Maps a wire code to ErrorCode; unknown codes become Internal (the message keeps the number).
Error error_from_wire(std::uint32_t code, std::string message);
Error error_from_proto(const ErrorResponse& response);
void error_to_proto(const Error& error, ErrorResponse& out);

}  // namespace actr
