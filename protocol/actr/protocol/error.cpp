#include "actr/protocol/error.hpp"

#include <actr/actr.pb.h>

#include <fmt/format.h>

#include <ostream>

namespace actr {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Unavailable: return "Unavailable";
    case ErrorCode::TimedOut: return "TimedOut";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::UnknownRoute: return "UnknownRoute";
    case ErrorCode::DependencyNotFound: return "DependencyNotFound";
    case ErrorCode::DecodeFailure: return "DecodeFailure";
    case ErrorCode::NotImplemented: return "NotImplemented";
    case ErrorCode::Internal: return "Internal";
    case ErrorCode::ConnectionNotReady: return "ConnectionNotReady";
  }
  return "Unknown";
}

void PrintTo(ErrorCode code, std::ostream* out) {
  *out << error_code_name(code) << " (" << static_cast<std::uint32_t>(code) << ')';
}

void PrintTo(const Error& error, std::ostream* out) { *out << error.to_string(); }

std::string Error::to_string() const {
  return fmt::format("{} ({}): {}", error_code_name(code), static_cast<std::uint32_t>(code), message);
}

Error error_from_wire(std::uint32_t code, std::string message) {
  if (code >= static_cast<std::uint32_t>(ErrorCode::Unavailable) &&
      code <= static_cast<std::uint32_t>(ErrorCode::ConnectionNotReady)) {
    return Error{static_cast<ErrorCode>(code), std::move(message)};
  }
  return Error{ErrorCode::Internal, fmt::format("unknown error code {}: {}", code, message)};
}

Error error_from_proto(const ErrorResponse& response) {
  return error_from_wire(response.code(), response.message());
}

void error_to_proto(const Error& error, ErrorResponse& out) {
  out.set_code(static_cast<std::uint32_t>(error.code));
  out.set_message(error.message);
}

}  // namespace actr
