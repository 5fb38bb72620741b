#include "generator.hpp"

#include <actr/options.pb.h>
#include <google/protobuf/compiler/cpp/names.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <actr/config/fingerprint.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <vector>

namespace actr::codegen {
namespace {

namespace pb = google::protobuf;

// Names the generated handler base already uses (its own members and Workload's): a method mapping
// to one of these would hide or clash with it, so it gets a trailing '_' like a keyword.
constexpr std::string_view kReservedMembers[] = {"dispatch",   "handles_route", "on_start", "on_stop",
                                                 "on_actr_up", "scheduling",    "serve"};

// clang-format off
constexpr std::string_view kCppKeywords[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "atomic_cancel", "atomic_commit", "atomic_noexcept",
    "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char", "char8_t", "char16_t", "char32_t",
    "class", "compl", "concept", "const", "consteval", "constexpr", "constinit", "const_cast", "continue",
    "co_await", "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
    "operator", "or", "or_eq", "private", "protected", "public", "reflexpr", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static", "static_assert",
    "static_cast", "struct", "switch", "synchronized", "template", "this", "thread_local", "throw", "true",
    "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
    "wchar_t", "while", "xor", "xor_eq",
};
// clang-format on

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsLowerOrDigit(char c) { return IsLower(c) || (c >= '0' && c <= '9'); }

std::string StripProto(const std::string& name) {
  constexpr std::string_view kExt = ".proto";
  if (name.size() > kExt.size() && name.compare(name.size() - kExt.size(), kExt.size(), kExt) == 0) {
    return name.substr(0, name.size() - kExt.size());
  }
  return name;
}

// "gentest.v1" → "gentest::v1" (what protoc's C++ generator uses for the package).
std::string CppNamespace(const std::string& package) {
  std::string out;
  for (char c : package) {
    if (c == '.') {
      out += "::";
    } else {
      out += c;
    }
  }
  return out;
}

std::string QualifiedType(const pb::Descriptor* message) {
  return pb::compiler::cpp::QualifiedClassName(message);  // "::pkg::Outer_Inner", as protoc names it
}

std::string LaneName(int lane) {
  return "::actr::" + actr::PayloadType_Name(static_cast<actr::PayloadType>(lane));
}

// A C++ string literal for an identifier-like proto name (letters, digits, '_' and '.').
std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// `text` as comment lines led by `prefix`, at most ~100 columns (a long word gets a line of its own).
std::string WrapComment(std::string_view text, const std::string& prefix) {
  constexpr std::size_t kWidth = 100;
  std::string out;
  std::string line = prefix;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (line.size() > prefix.size() && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = prefix;
    }
    line += " " + std::string(word);
  }
  return out + line + "\n";
}

// Leading proto comments as `///` lines, so the handler's pure virtuals carry the proto's docs.
std::string DocComment(const pb::MethodDescriptor& method, const std::string& indent) {
  pb::SourceLocation location;
  if (!method.GetSourceLocation(&location)) return "";
  std::string out;
  std::string_view text = location.leading_comments;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string line(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    // A trailing backslash would splice the next generated line into the comment (-Wcomment).
    while (!line.empty() && (line.back() == '\\' || line.back() == ' ' || line.back() == '\r'))
      line.pop_back();
    out += indent + "///" + (line.empty() || line.front() == ' ' ? "" : " ") + line + "\n";
  }
  return out;
}

struct MethodInfo {
  const pb::MethodDescriptor* method;
  std::string member;     // C++ member name
  std::string route_key;  // "package.Service.Method"
  std::string request;    // "::pkg::Req"
  std::string response;   // "::pkg::Resp"
  std::string lane;       // "::actr::RPC_RELIABLE"
};

struct ServiceInfo {
  const pb::ServiceDescriptor* service;
  std::string handler;  // "EchoServiceHandler"
  std::string client;   // "EchoServiceClient"
  std::vector<MethodInfo> methods;
};

bool Collect(const pb::FileDescriptor& file, std::vector<ServiceInfo>& services, std::string& error) {
  const std::string prefix = file.package().empty() ? "" : file.package() + ".";
  for (int s = 0; s < file.service_count(); ++s) {
    const pb::ServiceDescriptor& service = *file.service(s);
    ServiceInfo info{&service, service.name() + "Handler", service.name() + "Client", {}};
    for (const std::string* cls : {&info.handler, &info.client}) {
      const std::string full = prefix + *cls;
      const pb::DescriptorPool& pool = *file.pool();
      if (pool.FindMessageTypeByName(full) || pool.FindEnumTypeByName(full) ||
          pool.FindEnumValueByName(full) || pool.FindExtensionByName(full)) {
        error = "service " + service.full_name() + " needs the C++ class " + *cls + ", but " + full +
                " is already declared in package '" + file.package() +
                "'; rename the service or that declaration";
        return false;
      }
    }
    std::map<std::string, std::string> members;  // C++ member → proto method, to catch collisions
    for (int m = 0; m < service.method_count(); ++m) {
      const pb::MethodDescriptor& method = *service.method(m);
      if (method.client_streaming() || method.server_streaming()) {
        const char* kind = method.client_streaming() && method.server_streaming() ? "bidirectional-streaming"
                           : method.client_streaming()                            ? "client-streaming"
                                                                                  : "server-streaming";
        error = "method " + method.full_name() + " is " + kind +
                "; protoc-gen-actr supports unary methods only (send streams with data chunks)";
        return false;
      }
      const int lane = MethodLane(method);
      if (lane != actr::RPC_RELIABLE && lane != actr::RPC_SIGNAL) {
        error = "method " + method.full_name() +
                " has (actr.payload_type) = " + actr::PayloadType_Name(static_cast<actr::PayloadType>(lane)) +
                ", which is not an RPC lane; RPC methods use RPC_RELIABLE (default) or RPC_SIGNAL";
        return false;
      }
      MethodInfo mi{&method,
                    MethodMemberName(method.name()),
                    method.full_name(),
                    QualifiedType(method.input_type()),
                    QualifiedType(method.output_type()),
                    LaneName(lane)};
      auto [it, inserted] = members.emplace(mi.member, method.name());
      if (!inserted) {
        error = "methods " + it->second + " and " + method.name() + " of " + service.full_name() +
                " both map to the C++ name '" + mi.member + "'; rename one";
        return false;
      }
      info.methods.push_back(std::move(mi));
    }
    services.push_back(std::move(info));
  }
  return true;
}

/// The UnknownRoute error for `service`, naming the route held by the C++ expression `route_key`.
std::string UnknownRoute(const std::string& service, std::string_view route_key) {
  std::string error = "::actr::fail(::actr::ErrorCode::UnknownRoute, std::string(";
  error.append(Quote(service + " has no method for route '")).append(") + std::string(");
  error.append(route_key).append(") + \"'\")");
  return error;
}

void EmitHandler(const ServiceInfo& s, std::string& out) {
  const std::string& name = s.handler;
  const std::string service = s.service->full_name();
  out += "/// Handler base for " + service + ": derive, implement the methods.\n";
  out += "class " + name + " : public virtual ::actr::Workload {\n";
  out += " public:\n";
  out += "  static constexpr std::string_view kServiceName = " + Quote(service) + ";\n";
  out += "  /// actr::config::service_fingerprint() of the service: the contract it was generated from.\n";
  out += "  static constexpr std::string_view kFingerprint = " +
         Quote(actr::config::service_fingerprint(*s.service)) + ";\n\n";
  for (const MethodInfo& m : s.methods) {
    out += DocComment(*m.method, "  ");
    out += "  /// Route " + Quote(m.route_key) + ", lane " + m.lane.substr(8) + ".\n";
    out += "  virtual ::boost::asio::awaitable<::actr::Result<" + m.response + ">> " + m.member + "(\n";
    out += "      const " + m.request + "& request, ::actr::Context& ctx) = 0;\n\n";
  }
  if (s.methods.empty()) {
    out += "  /// True for no route: the service has no methods.\n";
    out += "  static constexpr bool handles_route(std::string_view) { return false; }\n\n";
  } else {
    std::string keys;
    for (const MethodInfo& m : s.methods) keys += (keys.empty() ? "" : ", ") + Quote(m.route_key);
    out += WrapComment("True for " + keys + ".", "  ///");
    out += "  static constexpr bool handles_route(std::string_view route_key) {\n";
    for (std::size_t i = 0; i < s.methods.size(); ++i) {
      out += (i == 0 ? "    return " : "           ") + std::string("route_key == ") +
             Quote(s.methods[i].route_key) + (i + 1 == s.methods.size() ? ";\n" : " ||\n");
    }
    out += "  }\n\n";
  }
  out += "  /// route key -> decode -> handler -> encode. UnknownRoute / DecodeFailure as errors.\n";
  out += "  ::boost::asio::awaitable<::actr::Result<::actr::Payload>> dispatch(\n";
  out += "      std::string_view route_key, ::actr::Payload request, ::actr::Context& ctx) override;\n";
  out += "  /// The same, answering through `request` (what the runtime calls): one coroutine frame.\n";
  out += "  ::boost::asio::awaitable<void> serve(::actr::IncomingRequestPtr request) override;\n";
  out += "};\n\n";

  // Out of class so that the declaration above stays a readable summary.
  const std::string unused = s.methods.empty() ? "[[maybe_unused]] " : "";  // nothing to decode
  out += "inline ::boost::asio::awaitable<::actr::Result<::actr::Payload>> " + name + "::dispatch(\n";
  out += "    std::string_view route_key, " + unused + "::actr::Payload request, " + unused +
         "::actr::Context& ctx) {\n";
  for (const MethodInfo& m : s.methods) {
    out += "  if (route_key == " + Quote(m.route_key) + ") {\n";
    // In process the request arrives typed: read it where it lies; bytes are decoded once, into a
    // message from the thread's pool (its strings keep their capacity from the last request).
    out += "    const " + m.request + "* req = request.get_if<" + m.request + ">();\n";
    out += "    ::actr::detail::Recycled<" + m.request + "> decoded;\n";
    out += "    if (!req) {\n";
    out += "      auto ok = decoded.decode(std::move(request));\n";
    out += "      if (!ok) co_return std::unexpected(std::move(ok.error()));\n";
    out += "      req = &*decoded;\n";
    out += "    }\n";
    out += "    auto resp = co_await this->" + m.member + "(*req, ctx);\n";
    out += "    if (!resp) co_return std::unexpected(std::move(resp.error()));\n";
    out += "    co_return ::actr::Payload::of(std::move(*resp));\n";
    out += "  }\n";
  }
  out += "  co_return " + UnknownRoute(service, "route_key") + ";\n";
  out += "}\n\n";

  // serve(): the same steps in one frame, so that a request costs no second coroutine frame.
  // Every path assigns `result`; the runtime turns a thrown exception into an error.
  out += "inline ::boost::asio::awaitable<void> " + name + "::serve(::actr::IncomingRequestPtr request) {\n";
  out += "  const std::string_view route_key = request->route_key();\n";
  out += "  ::actr::Result<::actr::Payload> result;\n";
  out += "  try {\n";
  std::string indent = "    ";
  for (const MethodInfo& m : s.methods) {
    out += indent + "if (route_key == " + Quote(m.route_key) + ") {\n";
    out += indent + "  const " + m.request + "* req = request->payload().get_if<" + m.request + ">();\n";
    out += indent + "  ::actr::detail::Recycled<" + m.request + "> decoded;\n";
    out += indent + "  if (!req) {\n";
    out += indent + "    auto ok = decoded.decode(std::move(request->payload()));\n";
    out += indent + "    if (ok) req = &*decoded;\n";
    out += indent + "    else result = std::unexpected(std::move(ok.error()));\n";
    out += indent + "  }\n";
    out += indent + "  if (req) {\n";
    out += indent + "    auto resp = co_await this->" + m.member + "(*req, request->context());\n";
    out += indent + "    if (resp) result = ::actr::Payload::of(std::move(*resp));\n";
    out += indent + "    else result = std::unexpected(std::move(resp.error()));\n";
    out += indent + "  }\n";
    out += indent + "} else ";
    indent = "    ";
  }
  out += s.methods.empty() ? "    {\n" : "{\n";
  out += "      result = " + UnknownRoute(service, "route_key") + ";\n";
  out += "    }\n";
  out += "  } catch (const std::exception& e) {\n";
  out += "    request->threw(e.what());\n";
  out += "    co_return;\n";
  out += "  } catch (...) {\n";
  out += "    request->threw(nullptr);\n";
  out += "    co_return;\n";
  out += "  }\n";
  out += "  request->answer(std::move(result));\n";
  out += "}\n\n";
}

void EmitClient(const ServiceInfo& s, std::string& out) {
  const std::string& name = s.client;
  out += "/// Typed client: calls " + s.service->full_name() + " on `dest` through a Context.\n";
  out += "/// The client and the Context must outlive the calls it starts.\n";
  out += "class " + name + " {\n";
  out += " public:\n";
  out += "  " + name + "(::actr::Context& ctx, ::actr::Dest dest) : ctx_(ctx), dest_(std::move(dest)) {}\n";
  for (const MethodInfo& m : s.methods) {
    out += "\n  /// Route " + Quote(m.route_key) + ", lane " + m.lane.substr(8) + ".\n";
    out += "  ::boost::asio::awaitable<::actr::Result<" + m.response + ">> " + m.member + "(\n";
    out += "      " + m.request + " request, ::actr::CallOptions options = {}) {\n";
    out += "    return ctx_.call_route<" + m.response + ">(\n";
    out += "        dest_, " + Quote(m.route_key) + ", " + m.lane +
           ", ::actr::Payload::of(std::move(request)),\n";
    out += "        std::move(options));\n";
    out += "  }\n";
  }
  out += "\n private:\n";
  out += "  ::actr::Context& ctx_;\n";
  out += "  ::actr::Dest dest_;\n";
  out += "};\n\n";
}

// RpcTraits only where `ctx.call(dest, request)` is unambiguous and ODR-safe: the request type is
// defined in this file (so no other generated header can specialize it) and is the input of
// exactly one method here.
void EmitTraits(const pb::FileDescriptor& file, const std::vector<ServiceInfo>& services, std::string& out) {
  std::vector<const pb::Descriptor*> order;
  std::map<const pb::Descriptor*, std::vector<const MethodInfo*>> uses;
  for (const ServiceInfo& s : services) {
    for (const MethodInfo& m : s.methods) {
      auto& list = uses[m.method->input_type()];
      if (list.empty()) order.push_back(m.method->input_type());
      list.push_back(&m);
    }
  }
  std::string traits;
  std::string skipped;
  for (const pb::Descriptor* type : order) {
    const auto& list = uses[type];
    const std::string cpp = QualifiedType(type);
    if (type->file() != &file) {
      skipped += WrapComment("No RpcTraits for " + cpp + ": it is defined in " + type->file()->name() +
                                 ", not in this file, so a specialization here could clash with another "
                                 "one (ODR). Call its methods through the typed client.",
                             "//");
      continue;
    }
    if (list.size() > 1) {
      std::string names;
      for (const MethodInfo* m : list) names += (names.empty() ? "" : ", ") + m->route_key;
      skipped += WrapComment("No RpcTraits for " + cpp + ": it is the request of " +
                                 std::to_string(list.size()) + " methods (" + names +
                                 "), so ctx.call(dest, request) could not pick one. Call them through "
                                 "the typed clients.",
                             "//");
      continue;
    }
    const MethodInfo& m = *list.front();
    traits += "template <>\n";
    traits += "struct RpcTraits<" + cpp + "> {\n";
    traits += "  static constexpr std::string_view route_key = " + Quote(m.route_key) + ";\n";
    traits += "  using Response = " + m.response + ";\n";
    traits += "  static constexpr ::actr::PayloadType lane = " + m.lane + ";\n";
    traits += "};\n\n";
  }
  if (!skipped.empty()) out += skipped + "\n";
  if (!traits.empty()) out += "namespace actr {\n\n" + traits + "}  // namespace actr\n";
}

constexpr std::string_view kMultiServiceNote =
    R"(// For each service S: SHandler (derive it and implement the methods; its dispatch() and serve()
// route "package.S.Method" to them), SClient (typed calls through a Context), and actr::RpcTraits
// for the request types that name exactly one method (so `ctx.call(dest, request)` works).
//
// A workload serving two services derives from actr::Serves<AHandler, BHandler>
// (actr/framework/serves.hpp), which hands each request to the service that has its method.
)";

}  // namespace

bool IsCppKeyword(std::string_view word) {
  return std::ranges::find(kCppKeywords, word) != std::end(kCppKeywords);
}

std::string ToSnakeCase(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (IsUpper(c)) {
      // A word starts at an upper-case letter after a lower-case one or a digit ("getUser"), or at
      // the last capital of an acronym followed by lower case ("HTTPGet" → "http_get").
      const bool after_word = i > 0 && IsLowerOrDigit(name[i - 1]);
      const bool acronym_end = i > 0 && IsUpper(name[i - 1]) && i + 1 < name.size() && IsLower(name[i + 1]);
      if ((after_word || acronym_end) && !out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::string MethodMemberName(std::string_view proto_name) {
  std::string name = ToSnakeCase(proto_name);
  if (IsCppKeyword(name) || std::ranges::find(kReservedMembers, name) != std::end(kReservedMembers)) {
    name += '_';
  }
  return name;
}

// One reading of the option for the generated lanes and the fingerprint, so the two never disagree.
int MethodLane(const pb::MethodDescriptor& method) { return actr::config::method_payload_type(method); }

bool GenerateHeader(const pb::FileDescriptor& file, std::string& out, std::string& error) {
  std::vector<ServiceInfo> services;
  if (!Collect(file, services, error)) return false;

  out += "// Generated by protoc-gen-actr from " + file.name() + ". Do not edit.\n";
  const std::string pb_h = "#include \"" + StripProto(file.name()) + ".pb.h\"\n";
  if (services.empty()) {  // still written: actr_generate declares one .actr.hpp per .proto
    out += "#pragma once\n\n" + pb_h + "\n// " + file.name() +
           " declares no services: nothing else to generate.\n";
    return true;
  }
  out += "//\n" + std::string(kMultiServiceNote);
  out += "#pragma once\n\n";
  out += "#include <actr/framework.hpp>\n";
  out += "#include <actr/framework/recycled.hpp>\n\n";
  out += "#include <boost/asio/awaitable.hpp>\n";
  out += "#include <exception>\n";
  out += "#include <string>\n";
  out += "#include <string_view>\n";
  out += "#include <utility>\n\n";
  out += pb_h + "\n";

  const std::string ns = CppNamespace(file.package());
  if (!ns.empty()) out += "namespace " + ns + " {\n\n";
  for (const ServiceInfo& s : services) {
    EmitHandler(s, out);
    EmitClient(s, out);
  }
  if (!ns.empty()) out += "}  // namespace " + ns + "\n\n";
  EmitTraits(file, services, out);
  while (out.size() >= 2 && out.ends_with("\n\n")) out.pop_back();
  return true;
}

bool ActrGenerator::Generate(const pb::FileDescriptor* file, const std::string& parameter,
                             pb::compiler::GeneratorContext* context, std::string* error) const {
  if (!parameter.empty()) {
    *error = "protoc-gen-actr takes no options (got '" + parameter + "')";
    return false;
  }
  std::string text;
  if (!GenerateHeader(*file, text, *error)) return false;
  std::unique_ptr<pb::io::ZeroCopyOutputStream> stream(context->Open(StripProto(file->name()) + ".actr.hpp"));
  pb::io::Printer printer(stream.get(), '$');
  printer.PrintRaw(text);
  return !printer.failed();
}

}  // namespace actr::codegen
