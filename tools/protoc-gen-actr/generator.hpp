#pragma once
// protoc-gen-actr's code generator: one header-only `<file>.actr.hpp` per .proto file, holding for
// each service a handler base (with the dispatcher), a typed client and RpcTraits for its request
// types. docs/codegen.md describes the output.

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace actr::codegen {

/// Method name → C++ member name: snake_case ("GetUserInfo" → "get_user_info", "HTTPGet" →
/// "http_get"), with '_' appended to C++ keywords and to names the generated classes already use.
std::string MethodMemberName(std::string_view proto_name);

/// "GetUserInfo" → "get_user_info" (no keyword handling).
std::string ToSnakeCase(std::string_view name);

bool IsCppKeyword(std::string_view word);

/// The lane of a method: its (actr.payload_type) option, RPC_RELIABLE when absent.
int MethodLane(const google::protobuf::MethodDescriptor& method);

class ActrGenerator final : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context, std::string* error) const override;

  std::uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

/// The whole `.actr.hpp` text for `file`, or false with `error` set (streaming methods, non-RPC
/// lanes, name clashes). Exposed for tests.
bool GenerateHeader(const google::protobuf::FileDescriptor& file, std::string& out, std::string& error);

}  // namespace actr::codegen
