#include "actr/config/fingerprint.hpp"

#include <actr/options.pb.h>
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

namespace {

namespace pb = google::protobuf;
using actr::config::canonical_file_text;
using actr::config::canonical_service_text;
using actr::config::proto_file_fingerprint;
using actr::config::service_fingerprint;

using Files = std::vector<std::pair<std::string, std::string>>;  // name, text

// Builds descriptors from .proto text; imports (actr/options.proto, well-known types) come from
// the generated pool. One pool per file, so the same names can be compiled in several variants.
class ProtoText {
 public:
  explicit ProtoText(const std::string& text, const std::string& name = "fp/test.proto")
      : ProtoText(Files{{name, text}}) {}

  /// Several files; the first is file(). Later files may be imported by earlier ones.
  explicit ProtoText(const Files& files)
      : generated_(*pb::DescriptorPool::generated_pool()), merged_(&parsed_, &generated_), pool_(&merged_) {
    for (const auto& [name, text] : files) {
      pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
      Collector errors;
      pb::io::Tokenizer tokenizer(&input, &errors);
      pb::FileDescriptorProto proto;
      pb::compiler::Parser parser;
      parser.RecordErrorsTo(&errors);
      const bool parsed = parser.Parse(&tokenizer, &proto);
      EXPECT_TRUE(parsed) << name << ":\n" << errors.text;
      proto.set_name(name);
      parsed_.Add(proto);
    }
    file_ = pool_.FindFileByName(files.front().first);
    EXPECT_NE(file_, nullptr) << "cannot build " << files.front().first;
  }

  const pb::FileDescriptor& file() const { return *file_; }
  const pb::ServiceDescriptor& service(const std::string& full_name) const {
    const pb::ServiceDescriptor* service = pool_.FindServiceByName(full_name);
    EXPECT_NE(service, nullptr) << full_name;
    return *service;
  }

 private:
  struct Collector : pb::io::ErrorCollector {
    std::string text;
    void AddError(int line, int column, const std::string& message) override {
      text += std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message + "\n";
    }
  };

  pb::SimpleDescriptorDatabase parsed_;
  pb::DescriptorPoolDatabase generated_;
  pb::MergedDescriptorDatabase merged_;
  pb::DescriptorPool pool_;
  const pb::FileDescriptor* file_ = nullptr;
};

constexpr const char* kBase = R"(
syntax = "proto3";
package fp.test;
import "actr/options.proto";
import "google/protobuf/empty.proto";

enum Kind { KIND_A = 0; KIND_B = 1; KIND_C = 2; }

message Request {
  string text = 1;
  int32 count = 2;
  Inner inner = 3;
  map<string, Kind> tags = 4;
  oneof choice { string a = 5; uint64 b = 6; }
  message Inner { repeated Kind kinds = 1; optional bytes blob = 2; }
}

message Response { string text = 1; }

message Unrelated { string x = 1; }

service Echo {
  rpc Echo(Request) returns (Response);
  rpc Shout(Request) returns (Response) { option (actr.payload_type) = RPC_SIGNAL; }
  rpc Reset(google.protobuf.Empty) returns (google.protobuf.Empty);
}
)";

// kBase with comments, other whitespace and every declaration list in another order.
constexpr const char* kReordered = R"(// A leading comment.
syntax="proto3";
import "google/protobuf/empty.proto";
import "actr/options.proto";
package fp.test;

/* Block comment */
message Unrelated {
  string x = 1;  // trailing
}

service Echo {
  // Doc comment on Reset.
  rpc Reset ( google.protobuf.Empty ) returns ( google.protobuf.Empty ) ;
  rpc Shout(Request) returns (Response) {
    option (actr.payload_type) = RPC_SIGNAL;
  }
  rpc Echo(Request) returns (Response) {}
}

message Response {
    string text = 1;
}

message Request {
  message Inner {
    optional bytes blob = 2;
    repeated Kind kinds = 1;
  }
  oneof choice {
    uint64 b = 6;
    string a = 5;
  }
  map<string, Kind> tags = 4;
  Inner inner = 3;
  int32 count = 2;
  string text = 1;
}

enum Kind {
  KIND_A = 0;  // proto3 wants the zero value first
  KIND_C = 2;
  KIND_B = 1;
}
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string echo_fingerprint(const std::string& text) {
  ProtoText proto(text);
  return service_fingerprint(proto.service("fp.test.Echo"));
}

TEST(Fingerprint, Format) {
  const std::string fp = echo_fingerprint(kBase);
  EXPECT_TRUE(actr::config::is_fingerprint(fp)) << fp;
  EXPECT_FALSE(actr::config::is_fingerprint("sha256:abc"));
  EXPECT_FALSE(actr::config::is_fingerprint("md5:" + std::string(64, 'a')));
  EXPECT_FALSE(actr::config::is_fingerprint("sha256:" + std::string(64, 'A')));
  // The well-known SHA-256 test vector.
  EXPECT_EQ(actr::config::sha256_fingerprint("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fingerprint, IgnoresCommentsWhitespaceAndOrder) {
  ProtoText base(kBase);
  ProtoText reordered(kReordered);
  EXPECT_EQ(canonical_service_text(base.service("fp.test.Echo")),
            canonical_service_text(reordered.service("fp.test.Echo")));
  EXPECT_EQ(service_fingerprint(base.service("fp.test.Echo")),
            service_fingerprint(reordered.service("fp.test.Echo")));
  EXPECT_EQ(canonical_file_text(base.file()), canonical_file_text(reordered.file()));
  EXPECT_EQ(proto_file_fingerprint(base.file()), proto_file_fingerprint(reordered.file()));
  // The file name is not part of the contract either.
  ProtoText moved(kBase, "elsewhere/echo.proto");
  EXPECT_EQ(service_fingerprint(moved.service("fp.test.Echo")), echo_fingerprint(kBase));
}

TEST(Fingerprint, CanonicalTextCoversTheReachableTypes) {
  ProtoText base(kBase);
  const std::string text = canonical_service_text(base.service("fp.test.Echo"));
  EXPECT_NE(text.find("method Shout fp.test.Request fp.test.Response payload_type=RPC_SIGNAL"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("payload_type=RPC_RELIABLE"), std::string::npos) << text;
  for (const char* name :
       {"message fp.test.Request ", "message fp.test.Request.Inner ", "message fp.test.Request.TagsEntry ",
        "enum fp.test.Kind ", "message google.protobuf.Empty "}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << " missing in\n" << text;
  }
  EXPECT_EQ(text.find("Unrelated"), std::string::npos) << text;
}

TEST(Fingerprint, ChangesWithTheContract) {
  const std::string base = echo_fingerprint(kBase);
  const std::pair<const char*, const char*> changes[] = {
      {"int32 count = 2;", "int64 count = 2;"},                  // field type
      {"int32 count = 2;", "int32 count = 7;"},                  // field number
      {"int32 count = 2;", "int32 total = 2;"},                  // field name
      {"int32 count = 2;", "repeated int32 count = 2;"},         // label
      {"optional bytes blob = 2;", "bytes blob = 2;"},           // presence
      {"repeated Kind kinds = 1;", "repeated Kind kinds = 9;"},  // nested type
      {"KIND_B = 1;", "KIND_B = 3;"},                            // enum value
      {"oneof choice { string a = 5; uint64 b = 6; }", "string a = 5; uint64 b = 6;"},
      {"rpc Echo(Request) returns (Response);", "rpc Echo(Request) returns (Request);"},
      {"rpc Echo(Request) returns (Response);", "rpc Echo(Response) returns (Response);"},
      {"rpc Echo(Request) returns (Response);", "rpc Echo2(Request) returns (Response);"},
      {"rpc Echo(Request) returns (Response);", "rpc Echo(stream Request) returns (Response);"},
      {"= RPC_SIGNAL", "= RPC_RELIABLE"},
      {"package fp.test;", "package fp.test2;"},
  };
  for (const auto& [from, to] : changes) {
    std::string text = replaced(kBase, from, to);
    if (std::string_view(from).starts_with("package")) {
      ProtoText proto(text);
      EXPECT_NE(service_fingerprint(proto.service("fp.test2.Echo")), base) << to;
    } else {
      EXPECT_NE(echo_fingerprint(text), base) << from << " -> " << to;
    }
  }
}

TEST(Fingerprint, UnreachableTypesChangeOnlyTheFileFingerprint) {
  ProtoText base(kBase);
  ProtoText changed(replaced(kBase, "string x = 1;", "string x = 2;"));
  EXPECT_EQ(service_fingerprint(base.service("fp.test.Echo")),
            service_fingerprint(changed.service("fp.test.Echo")));
  EXPECT_NE(proto_file_fingerprint(base.file()), proto_file_fingerprint(changed.file()));
}

TEST(Fingerprint, ProtoTwoDefaultsAndLabels) {
  constexpr const char* kProto2 = R"(
syntax = "proto2";
package fp.test;
message Request { required string name = 1; optional int32 n = 2 [default = 5]; repeated int32 xs = 3 [packed = true]; }
service Echo { rpc Echo(Request) returns (Request); }
)";
  const std::string base = echo_fingerprint(kProto2);
  EXPECT_NE(echo_fingerprint(replaced(kProto2, "default = 5", "default = 6")), base);
  EXPECT_NE(echo_fingerprint(replaced(kProto2, "required string", "optional string")), base);
  EXPECT_NE(echo_fingerprint(replaced(kProto2, "[packed = true]", "")), base);
  ProtoText proto(kProto2);
  const std::string text = canonical_service_text(proto.service("fp.test.Echo"));
  EXPECT_NE(text.find("field 2 n optional int32 presence default=5"), std::string::npos) << text;
  EXPECT_NE(text.find("field 1 name required string\n"), std::string::npos) << text;
  EXPECT_NE(text.find("field 3 xs repeated int32 packed"), std::string::npos) << text;
}

TEST(Fingerprint, ServiceSpec) {
  ProtoText base(kBase);
  const pb::ServiceDescriptor& echo = base.service("fp.test.Echo");
  const actr::ServiceSpec spec = actr::config::make_service_spec(echo);
  ASSERT_TRUE(spec.IsInitialized());
  EXPECT_EQ(spec.name(), "fp.test.Echo");
  EXPECT_EQ(spec.fingerprint(), service_fingerprint(echo));
  ASSERT_EQ(spec.protobufs_size(), 1);  // google/protobuf/empty.proto is left out
  EXPECT_EQ(spec.protobufs(0).package(), "fp.test");
  EXPECT_EQ(spec.protobufs(0).fingerprint(), proto_file_fingerprint(base.file()));
  EXPECT_NE(spec.protobufs(0).content().find("service Echo"), std::string::npos);
  // The content is .proto text that compiles back to the same contract.
  ProtoText again(spec.protobufs(0).content());
  EXPECT_EQ(service_fingerprint(again.service("fp.test.Echo")), spec.fingerprint());
  EXPECT_EQ(actr::config::service_registration(echo), "fp.test.Echo:" + spec.fingerprint());
}

TEST(Fingerprint, FollowsTypesIntoImportedFiles) {
  constexpr const char* kService = R"(
syntax = "proto3";
package fp.svc;
import "fp/types.proto";
service Store { rpc Get(fp.types.Key) returns (fp.types.Value); }
)";
  constexpr const char* kTypes = R"(
syntax = "proto3";
package fp.types;
message Key { string id = 1; }
message Value { bytes data = 1; Meta meta = 2; }
message Meta { int64 version = 1; }
)";
  ProtoText base(Files{{"fp/svc.proto", kService}, {"fp/types.proto", kTypes}});
  ProtoText changed(
      {{"fp/svc.proto", kService}, {"fp/types.proto", replaced(kTypes, "int64 version", "int32 version")}});
  const pb::ServiceDescriptor& store = base.service("fp.svc.Store");
  EXPECT_NE(service_fingerprint(store), service_fingerprint(changed.service("fp.svc.Store")));
  // The service's own file did not change; the types file did.
  EXPECT_EQ(proto_file_fingerprint(base.file()), proto_file_fingerprint(changed.file()));

  const actr::ServiceSpec spec = actr::config::make_service_spec(store);
  ASSERT_EQ(spec.protobufs_size(), 2);
  EXPECT_EQ(spec.protobufs(0).package(), "fp.svc");
  EXPECT_EQ(spec.protobufs(1).package(), "fp.types");
  EXPECT_EQ(spec.protobufs(1).fingerprint(), proto_file_fingerprint(*store.method(0)->input_type()->file()));
  EXPECT_NE(spec.protobufs(1).content().find("message Meta"), std::string::npos);
}

TEST(Fingerprint, MethodPayloadType) {
  ProtoText base(kBase);
  const pb::ServiceDescriptor& echo = base.service("fp.test.Echo");
  EXPECT_EQ(actr::config::method_payload_type(*echo.FindMethodByName("Shout")), actr::RPC_SIGNAL);
  EXPECT_EQ(actr::config::method_payload_type(*echo.FindMethodByName("Echo")), actr::RPC_RELIABLE);
}

}  // namespace
