#pragma once
// Service fingerprints: a SHA-256 over a canonical text of a service and every type it reaches, so
// that two nodes agree on compatibility exactly when their contracts agree. Comments, whitespace,
// declaration order, imports and file names do not change a fingerprint; any change of a name,
// number, label, type, streaming flag or lane does. docs/config.md describes the canonical text.
//
// Depends on protobuf and OpenSSL only, so protoc-gen-actr can bake fingerprints into generated code.

#include <actr/actr.pb.h>
#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

namespace actr::config {

/// The text service_fingerprint() hashes (exposed for tests and for `actr fingerprint --explain`).
std::string canonical_service_text(const google::protobuf::ServiceDescriptor& service);

/// The text proto_file_fingerprint() hashes: every definition of the file (not of its imports).
std::string canonical_file_text(const google::protobuf::FileDescriptor& file);

/// "sha256:<64 lowercase hex>" of canonical_service_text(service).
std::string service_fingerprint(const google::protobuf::ServiceDescriptor& service);

/// "sha256:<64 lowercase hex>" of canonical_file_text(file): ServiceSpec.Protobuf.fingerprint.
std::string proto_file_fingerprint(const google::protobuf::FileDescriptor& file);

/// "sha256:" + lowercase hex SHA-256 of `bytes`.
std::string sha256_fingerprint(std::string_view bytes);

/// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_fingerprint(std::string_view text);

/// The lane of a method: its (actr.payload_type) option value, RPC_RELIABLE (0) when absent.
int method_payload_type(const google::protobuf::MethodDescriptor& method);

/// ServiceSpec for registration and GetServiceSpec: name (full name), fingerprint, and one
/// Protobuf entry per file that defines the service or a type it reaches (well-known types of
/// google/protobuf/ excepted), in file-name order; content is the file as .proto text.
actr::ServiceSpec make_service_spec(const google::protobuf::ServiceDescriptor& service);

/// RegisterRequest.service: "<service full name>:<fingerprint>", e.g. "echo.Echo:sha256:…".
std::string service_registration(const google::protobuf::ServiceDescriptor& service);

}  // namespace actr::config
