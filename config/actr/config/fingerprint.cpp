#include "actr/config/fingerprint.hpp"

#include <actr/options.pb.h>
#include <fmt/format.h>
#include <google/protobuf/descriptor.pb.h>
#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <vector>

namespace actr::config {
namespace {

namespace pb = google::protobuf;

// Bumped if the canonical text ever changes shape, so old and new fingerprints never collide.
constexpr std::string_view kHeader = "actr-fingerprint v1\n";

std::string syntax_of(const pb::FileDescriptor& file) {
  return pb::FileDescriptor::SyntaxName(file.syntax());
}

// Default values can hold any bytes: escape so that the text stays one line per field.
std::string escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string default_value(const pb::FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return std::to_string(field.default_value_int32());
    case pb::FieldDescriptor::CPPTYPE_INT64: return std::to_string(field.default_value_int64());
    case pb::FieldDescriptor::CPPTYPE_UINT32: return std::to_string(field.default_value_uint32());
    case pb::FieldDescriptor::CPPTYPE_UINT64: return std::to_string(field.default_value_uint64());
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return fmt::format("{}", field.default_value_double());
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return fmt::format("{}", field.default_value_float());
    case pb::FieldDescriptor::CPPTYPE_BOOL: return field.default_value_bool() ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM: return field.default_value_enum()->name();
    case pb::FieldDescriptor::CPPTYPE_STRING: return "\"" + escape(field.default_value_string()) + "\"";
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
  return "";
}

// One line: everything that shapes the wire format or the generated API of the field.
std::string field_line(const pb::FieldDescriptor& field) {
  static constexpr std::string_view kLabels[] = {"", "optional", "required", "repeated"};
  std::string line = fmt::format("  field {} {} {} {}", field.number(), field.name(), kLabels[field.label()],
                                 pb::FieldDescriptor::TypeName(field.type()));
  if (field.message_type()) line += " " + field.message_type()->full_name();
  if (field.enum_type()) line += " " + field.enum_type()->full_name();
  if (const pb::OneofDescriptor* oneof = field.real_containing_oneof()) line += " oneof=" + oneof->name();
  if (field.has_presence() && !field.is_required()) line += " presence";
  if (field.is_packed()) line += " packed";
  if (field.has_default_value()) line += " default=" + default_value(field);
  return line + "\n";
}

std::vector<const pb::FieldDescriptor*> fields_by_number(const pb::Descriptor& message) {
  std::vector<const pb::FieldDescriptor*> fields;
  for (int i = 0; i < message.field_count(); ++i) fields.push_back(message.field(i));
  std::ranges::sort(fields, {}, &pb::FieldDescriptor::number);
  return fields;
}

std::string message_block(const pb::Descriptor& message) {
  std::string out = fmt::format("message {} {}\n", message.full_name(), syntax_of(*message.file()));
  if (message.options().map_entry()) out += "  map_entry\n";
  for (const pb::FieldDescriptor* field : fields_by_number(message)) out += field_line(*field);
  return out;
}

std::string enum_block(const pb::EnumDescriptor& type) {
  std::vector<std::pair<int, std::string>> values;
  for (int i = 0; i < type.value_count(); ++i)
    values.emplace_back(type.value(i)->number(), type.value(i)->name());
  std::ranges::sort(values);  // by number, aliases by name
  std::string out = fmt::format("enum {} {}\n", type.full_name(), syntax_of(*type.file()));
  for (const auto& [number, name] : values) out += fmt::format("  value {} {}\n", number, name);
  return out;
}

std::string service_block(const pb::ServiceDescriptor& service) {
  std::vector<const pb::MethodDescriptor*> methods;
  for (int i = 0; i < service.method_count(); ++i) methods.push_back(service.method(i));
  std::ranges::sort(methods, {}, &pb::MethodDescriptor::name);
  std::string out = "service " + service.full_name() + "\n";
  for (const pb::MethodDescriptor* m : methods) {
    const int lane = method_payload_type(*m);
    const std::string lane_name = actr::PayloadType_IsValid(lane)
                                      ? actr::PayloadType_Name(static_cast<actr::PayloadType>(lane))
                                      : std::to_string(lane);
    out += fmt::format("  method {} {} {}{}{} payload_type={}\n", m->name(), m->input_type()->full_name(),
                       m->output_type()->full_name(), m->client_streaming() ? " client_streaming" : "",
                       m->server_streaming() ? " server_streaming" : "", lane_name);
  }
  return out;
}

std::string extension_block(const pb::FieldDescriptor& extension) {
  return fmt::format("extension {} extends {}\n", extension.full_name(),
                     extension.containing_type()->full_name()) +
         field_line(extension);
}

// Types keyed by full name: std::map gives the sorted, duplicate-free order the text needs.
struct TypeSet {
  std::map<std::string, const pb::Descriptor*> messages;
  std::map<std::string, const pb::EnumDescriptor*> enums;

  void add_enum(const pb::EnumDescriptor& type) { enums.emplace(type.full_name(), &type); }

  // A message with its nested declarations, and (when `follow`) every type its fields reach.
  void add_message(const pb::Descriptor& root, bool follow) {
    std::deque<const pb::Descriptor*> queue{&root};
    while (!queue.empty()) {
      const pb::Descriptor* message = queue.front();
      queue.pop_front();
      if (!messages.emplace(message->full_name(), message).second) continue;
      for (int i = 0; i < message->nested_type_count(); ++i) queue.push_back(message->nested_type(i));
      for (int i = 0; i < message->enum_type_count(); ++i) add_enum(*message->enum_type(i));
      if (!follow) continue;
      for (int i = 0; i < message->field_count(); ++i) {
        const pb::FieldDescriptor* field = message->field(i);
        if (field->message_type()) queue.push_back(field->message_type());
        if (field->enum_type()) add_enum(*field->enum_type());
      }
    }
  }

  std::string text() const {
    std::string out;
    for (const auto& [name, message] : messages) out += message_block(*message);
    for (const auto& [name, type] : enums) out += enum_block(*type);
    return out;
  }
};

TypeSet reachable_types(const pb::ServiceDescriptor& service) {
  TypeSet types;
  for (int i = 0; i < service.method_count(); ++i) {
    types.add_message(*service.method(i)->input_type(), true);
    types.add_message(*service.method(i)->output_type(), true);
  }
  return types;
}

void collect_extensions(const pb::Descriptor& message,
                        std::map<std::string, const pb::FieldDescriptor*>& out) {
  for (int i = 0; i < message.extension_count(); ++i)
    out.emplace(message.extension(i)->full_name(), message.extension(i));
  for (int i = 0; i < message.nested_type_count(); ++i) collect_extensions(*message.nested_type(i), out);
}

}  // namespace

int method_payload_type(const pb::MethodDescriptor& method) {
  const pb::MethodOptions& options = method.options();
  if (options.HasExtension(actr::payload_type)) return options.GetExtension(actr::payload_type);
  // Options built by a pool that did not know the extension keep it as an unknown field; the
  // generated MethodOptions knows it (options.pb.cc is linked), so a reparse recovers it.
  if (options.unknown_fields().empty()) return actr::RPC_RELIABLE;
  pb::MethodOptions reparsed;
  if (reparsed.ParseFromString(options.SerializeAsString()) && reparsed.HasExtension(actr::payload_type)) {
    return reparsed.GetExtension(actr::payload_type);
  }
  return actr::RPC_RELIABLE;
}

std::string canonical_service_text(const pb::ServiceDescriptor& service) {
  return std::string(kHeader) + service_block(service) + reachable_types(service).text();
}

std::string canonical_file_text(const pb::FileDescriptor& file) {
  std::string out =
      std::string(kHeader) + fmt::format("file package={} syntax={}\n", file.package(), syntax_of(file));
  TypeSet types;
  std::map<std::string, const pb::FieldDescriptor*> extensions;
  std::map<std::string, const pb::ServiceDescriptor*> services;
  for (int i = 0; i < file.message_type_count(); ++i) {
    types.add_message(*file.message_type(i), false);
    collect_extensions(*file.message_type(i), extensions);
  }
  for (int i = 0; i < file.enum_type_count(); ++i) types.add_enum(*file.enum_type(i));
  for (int i = 0; i < file.extension_count(); ++i)
    extensions.emplace(file.extension(i)->full_name(), file.extension(i));
  for (int i = 0; i < file.service_count(); ++i)
    services.emplace(file.service(i)->full_name(), file.service(i));
  out += types.text();
  for (const auto& [name, extension] : extensions) out += extension_block(*extension);
  for (const auto& [name, service] : services) out += service_block(*service);
  return out;
}

std::string sha256_fingerprint(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // EVP_Digest with SHA-256 fails only on allocation failure; there is no sane fallback then.
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) std::abort();
  std::string out = "sha256:";
  for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

bool is_fingerprint(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!text.starts_with(kPrefix) || text.size() != kPrefix.size() + 64) return false;
  return std::ranges::all_of(text.substr(kPrefix.size()),
                             [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string service_fingerprint(const pb::ServiceDescriptor& service) {
  return sha256_fingerprint(canonical_service_text(service));
}

std::string proto_file_fingerprint(const pb::FileDescriptor& file) {
  return sha256_fingerprint(canonical_file_text(file));
}

actr::ServiceSpec make_service_spec(const pb::ServiceDescriptor& service) {
  actr::ServiceSpec spec;
  spec.set_name(service.full_name());
  spec.set_fingerprint(service_fingerprint(service));
  std::map<std::string, const pb::FileDescriptor*> files{{service.file()->name(), service.file()}};
  const TypeSet types = reachable_types(service);
  for (const auto& [name, message] : types.messages) files.emplace(message->file()->name(), message->file());
  for (const auto& [name, type] : types.enums) files.emplace(type->file()->name(), type->file());
  for (const auto& [name, file] : files) {
    if (name.starts_with("google/protobuf/")) continue;  // ships with every protoc
    actr::ServiceSpec::Protobuf* entry = spec.add_protobufs();
    entry->set_package(file->package());
    entry->set_content(file->DebugString());
    entry->set_fingerprint(proto_file_fingerprint(*file));
  }
  return spec;
}

std::string service_registration(const pb::ServiceDescriptor& service) {
  return service.full_name() + ":" + service_fingerprint(service);
}

}  // namespace actr::config
