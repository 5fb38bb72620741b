// Compiles and runs the code protoc-gen-actr generated from gen_test.proto: RpcTraits, the handler
// bases' dispatchers, a two-service workload and the typed clients, driven through a small Context.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>
#include <actr/config/fingerprint.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <concepts>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gen_plain.actr.hpp"
#include "gen_test.actr.hpp"
#include "gen_types.actr.hpp"  // no services: an (almost) empty header that still compiles

namespace {

namespace v1 = gentest::v1;
namespace asio = boost::asio;
using actr::ErrorCode;
using actr::Payload;
using actr::Result;
using namespace std::chrono_literals;

// --- compile-time checks of RpcTraits ---

static_assert(actr::RpcRequest<v1::PingRequest>);
static_assert(actr::RpcTraits<v1::PingRequest>::route_key == "gentest.v1.Pinger.Ping");
static_assert(std::same_as<actr::RpcTraits<v1::PingRequest>::Response, v1::PingResponse>);
static_assert(actr::RpcTraits<v1::PingRequest>::lane == actr::RPC_RELIABLE);

// (actr.payload_type) = RPC_SIGNAL was read from the method option.
static_assert(actr::RpcTraits<v1::AlertRequest>::route_key == "gentest.v1.Pinger.Alert");
static_assert(std::same_as<actr::RpcTraits<v1::AlertRequest>::Response, v1::PingResponse>);
static_assert(actr::RpcTraits<v1::AlertRequest>::lane == actr::RPC_SIGNAL);

// A nested request type keeps protoc's C++ name (Outer_GetUserInfoRequest).
static_assert(actr::RpcTraits<v1::Outer::GetUserInfoRequest>::route_key ==
              "gentest.v1.Directory.GetUserInfo");
static_assert(std::same_as<actr::RpcTraits<v1::Outer_GetUserInfoRequest>::Response, v1::UserInfo>);
static_assert(actr::RpcTraits<v1::DeleteRequest>::route_key == "gentest.v1.Directory.Delete");
static_assert(actr::RpcTraits<v1::DeleteRequest>::lane == actr::RPC_RELIABLE);
static_assert(std::same_as<actr::RpcTraits<v1::DispatchRequest>::Response, google::protobuf::Empty>);

// No traits for a request shared by two methods, nor for a type from another file.
static_assert(!actr::RpcRequest<v1::SharedKey>);
static_assert(!actr::RpcRequest<google::protobuf::Empty>);
static_assert(!actr::RpcRequest<gentest::types::Token>);

// A file without a package: "Service.Method", global namespace, keyword method renamed.
static_assert(actr::RpcTraits<PlainRequest>::route_key == "Plain.Do");
static_assert(std::same_as<actr::RpcTraits<::PlainRequest>::Response, PlainRequest>);
static_assert(PlainHandler::kServiceName == "Plain");
static_assert(std::same_as<decltype(std::declval<PlainClient&>().do_(PlainRequest{})),
                           asio::awaitable<Result<PlainRequest>>>);

// A service without methods routes nothing.
static_assert(!v1::IdleHandler::handles_route("gentest.v1.Idle.Anything"));

static_assert(v1::PingerHandler::kServiceName == "gentest.v1.Pinger");
static_assert(v1::DirectoryHandler::kServiceName == "gentest.v1.Directory");
static_assert(v1::PingerHandler::kFingerprint.starts_with("sha256:"));
static_assert(v1::PingerHandler::kFingerprint.size() == 7 + 64);
static_assert(v1::PingerHandler::kFingerprint != v1::DirectoryHandler::kFingerprint);
static_assert(v1::PingerHandler::handles_route("gentest.v1.Pinger.Reset"));
static_assert(!v1::PingerHandler::handles_route("gentest.v1.Directory.Remove"));
static_assert(!v1::PingerHandler::handles_route("gentest.v1.Pinger.ping"));
static_assert(v1::DirectoryHandler::handles_route("gentest.v1.Directory.Dispatch"));
static_assert(std::is_abstract_v<v1::PingerHandler>);
static_assert(std::is_base_of_v<actr::Workload, v1::DirectoryHandler>);

// Typed client signatures, including a method whose request has no traits.
static_assert(std::same_as<decltype(std::declval<v1::PingerClient&>().lookup(v1::SharedKey{})),
                           asio::awaitable<Result<v1::UserInfo>>>);
static_assert(std::same_as<decltype(std::declval<v1::DirectoryClient&>().get_user_info({}, 5ms)),
                           asio::awaitable<Result<v1::UserInfo>>>);

// --- test doubles ---

/// Runs `task` to completion on a fresh io_context; exceptions from it are rethrown.
template <class T>
T RunSync(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

/// What TestContext saw leave through send_request / send_tell.
struct Sent {
  std::string route_key;
  actr::PayloadType lane;
  actr::Dest::Kind dest;
  bool typed;  // the payload was still a message (not serialized)
  std::chrono::milliseconds timeout;
  bool tell;
};

/// The smallest Context: records outbound messages and hands requests to `loopback` (standing in
/// for the in-process gate), or answers NotImplemented.
class TestContext final : public actr::Context {
 public:
  actr::Workload* loopback = nullptr;
  std::vector<Sent> sent;

  const actr::ActrId& self_id() const override { return self_; }
  const std::optional<actr::ActrId>& caller_id() const override { return caller_; }
  std::string_view request_id() const override { return {}; }
  const actr::Metadata& metadata() const override { return metadata_; }
  const actr::TraceContext& trace() const override { return trace_; }

  asio::awaitable<Result<Payload>> send_request(const actr::Dest& dest, actr::Outbound message) override {
    sent.push_back(Record(dest, message, false));
    if (loopback == nullptr) co_return NotImplemented();
    co_return co_await loopback->dispatch(message.route_key, std::move(message.payload), *this);
  }
  asio::awaitable<Result<void>> send_tell(const actr::Dest& dest, actr::Outbound message) override {
    sent.push_back(Record(dest, message, true));
    co_return NotImplemented();
  }
  Result<void> register_stream(std::string, actr::StreamHandler) override { return NotImplemented(); }
  Result<void> unregister_stream(std::string_view) override { return NotImplemented(); }
  asio::awaitable<Result<void>> send_data_chunk(const actr::Dest&, actr::DataChunk,
                                                actr::PayloadType) override {
    co_return NotImplemented();
  }
  Result<void> register_media_track(std::string, actr::MediaTrackHandler) override {
    return NotImplemented();
  }
  Result<void> unregister_media_track(std::string_view) override { return NotImplemented(); }
  asio::awaitable<Result<void>> add_media_track(const actr::Dest&, std::string, std::string) override {
    co_return NotImplemented();
  }
  asio::awaitable<Result<void>> send_media_sample(const actr::Dest&, actr::MediaSample) override {
    co_return NotImplemented();
  }
  asio::awaitable<Result<actr::ActrId>> discover_route_candidate(const actr::ActrType&) override {
    co_return NotImplemented();
  }
  asio::awaitable<Result<void>> subscribe_actr_up(const actr::ActrType&) override {
    co_return NotImplemented();
  }
  asio::awaitable<Result<std::vector<actr::ActrId>>> discover_route_candidates(const actr::ActrType&,
                                                                               std::uint32_t) override {
    co_return NotImplemented();
  }

 private:
  static std::unexpected<actr::Error> NotImplemented() {
    return actr::fail(ErrorCode::NotImplemented, "TestContext");
  }
  static Sent Record(const actr::Dest& dest, const actr::Outbound& m, bool tell) {
    return Sent{std::string(m.route_key), m.lane, dest.kind(), m.payload.is_message(),
                m.options.timeout,        tell};
  }

  actr::ActrId self_;
  std::optional<actr::ActrId> caller_;
  actr::Metadata metadata_;
  actr::TraceContext trace_;
};

class PingerImpl : public v1::PingerHandler {
 public:
  asio::awaitable<Result<v1::PingResponse>> ping(const v1::PingRequest& request, actr::Context&) override {
    v1::PingResponse response;
    response.set_text(request.text());
    response.set_count(++pings);
    co_return response;
  }
  asio::awaitable<Result<v1::PingResponse>> alert(const v1::AlertRequest& request, actr::Context&) override {
    if (request.reason() == "throw") throw std::runtime_error("alert exploded");
    co_return actr::fail(ErrorCode::PermissionDenied, "alert refused: " + request.reason());
  }
  asio::awaitable<Result<v1::UserInfo>> lookup(const v1::SharedKey& request, actr::Context&) override {
    v1::UserInfo info;
    info.set_name("pinger:" + request.key());
    co_return info;
  }
  asio::awaitable<Result<google::protobuf::Empty>> reset(const google::protobuf::Empty&,
                                                         actr::Context&) override {
    pings = 0;
    co_return google::protobuf::Empty{};
  }

  std::uint32_t pings = 0;
};

class DirectoryImpl : public v1::DirectoryHandler {
 public:
  asio::awaitable<Result<v1::UserInfo>> get_user_info(const v1::Outer::GetUserInfoRequest& request,
                                                      actr::Context&) override {
    v1::UserInfo info;
    info.set_name(request.name());
    info.set_age(42);
    co_return info;
  }
  asio::awaitable<Result<google::protobuf::Empty>> remove(const v1::SharedKey& request,
                                                          actr::Context&) override {
    removed.push_back(request.key());
    co_return google::protobuf::Empty{};
  }
  // Delete and Dispatch are renamed: a C++ keyword and the dispatcher's own name.
  asio::awaitable<Result<google::protobuf::Empty>> delete_(const v1::DeleteRequest& request,
                                                           actr::Context&) override {
    removed.push_back("delete:" + request.key());
    co_return google::protobuf::Empty{};
  }
  asio::awaitable<Result<google::protobuf::Empty>> dispatch_(const v1::DispatchRequest& request,
                                                             actr::Context&) override {
    removed.push_back("dispatch:" + request.key());
    co_return google::protobuf::Empty{};
  }
  asio::awaitable<Result<v1::UserInfo>> redeem(const gentest::types::Token& token, actr::Context&) override {
    v1::UserInfo info;
    info.set_name("token:" + token.value());
    co_return info;
  }

  std::vector<std::string> removed;
};

/// Two services in one workload, each already implemented by a class of its own.
using Both = actr::Serves<PingerImpl, DirectoryImpl>;

/// What the runtime hands serve(): records how it was answered and that it was released.
class RecordingRequest final : public actr::IncomingRequest {
 public:
  RecordingRequest(std::string route_key, Payload payload, actr::Context& ctx)
      : route_key_(std::move(route_key)), payload_(std::move(payload)), ctx_(ctx) {}

  std::string_view route_key() const override { return route_key_; }
  Payload& payload() override { return payload_; }
  actr::Context& context() override { return ctx_; }
  void answer(Result<Payload> result) override { answers.push_back(std::move(result)); }
  void threw(const char* what) override { thrown.emplace_back(what ? what : "(not a std::exception)"); }

  /// Runs `workload.serve` on this request.
  void serve_with(actr::Workload& workload) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, workload.serve(actr::IncomingRequestPtr(this)),
                   [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
  }

  std::vector<Result<Payload>> answers;
  std::vector<std::string> thrown;
  bool released = false;

 private:
  void release() noexcept override { released = true; }

  std::string route_key_;
  Payload payload_;
  actr::Context& ctx_;
};

v1::PingRequest MakePing(std::string text) {
  v1::PingRequest request;
  request.set_text(std::move(text));
  return request;
}

// --- serve: dispatch and answer in one frame ---

TEST(GeneratedServe, AnswersOnceWithTheTypedResponseAndReleasesTheRequest) {
  PingerImpl pinger;
  TestContext ctx;
  RecordingRequest request("gentest.v1.Pinger.Ping", Payload::of(MakePing("hi")), ctx);
  request.serve_with(pinger);
  ASSERT_EQ(request.answers.size(), 1u);
  ASSERT_TRUE(request.answers[0]) << request.answers[0].error().to_string();
  EXPECT_TRUE(request.answers[0]->is_message());
  auto response = std::move(*request.answers[0]).take<v1::PingResponse>();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->text(), "hi");
  EXPECT_TRUE(request.thrown.empty());
  EXPECT_TRUE(request.released);
}

TEST(GeneratedServe, DecodesBytesAndAnswersErrorsAsResults) {
  PingerImpl pinger;
  TestContext ctx;
  RecordingRequest bytes("gentest.v1.Pinger.Ping", Payload(MakePing("wire").SerializeAsString()), ctx);
  bytes.serve_with(pinger);
  ASSERT_EQ(bytes.answers.size(), 1u);
  ASSERT_TRUE(bytes.answers[0]);
  EXPECT_EQ(std::move(*bytes.answers[0]).take<v1::PingResponse>()->text(), "wire");

  RecordingRequest garbage("gentest.v1.Pinger.Ping", Payload(std::string("\xff\xff\xff", 3)), ctx);
  garbage.serve_with(pinger);
  ASSERT_EQ(garbage.answers.size(), 1u);
  ASSERT_FALSE(garbage.answers[0]);
  EXPECT_EQ(garbage.answers[0].error().code, ErrorCode::DecodeFailure);

  RecordingRequest unknown("gentest.v1.Pinger.Nope", Payload::of(MakePing("x")), ctx);
  unknown.serve_with(pinger);
  ASSERT_EQ(unknown.answers.size(), 1u);
  ASSERT_FALSE(unknown.answers[0]);
  EXPECT_EQ(unknown.answers[0].error().code, ErrorCode::UnknownRoute);
  EXPECT_NE(unknown.answers[0].error().message.find("gentest.v1.Pinger.Nope"), std::string::npos);

  v1::AlertRequest alert;
  alert.set_reason("no");
  RecordingRequest refused("gentest.v1.Pinger.Alert", Payload::of(alert), ctx);
  refused.serve_with(pinger);
  ASSERT_EQ(refused.answers.size(), 1u);
  ASSERT_FALSE(refused.answers[0]);
  EXPECT_EQ(refused.answers[0].error().code, ErrorCode::PermissionDenied);
  for (auto* r : {&bytes, &garbage, &unknown, &refused}) EXPECT_TRUE(r->thrown.empty() && r->released);
}

TEST(GeneratedServe, AHandlerExceptionIsReportedInsteadOfAnAnswer) {
  PingerImpl pinger;
  TestContext ctx;
  v1::AlertRequest alert;
  alert.set_reason("throw");
  RecordingRequest request("gentest.v1.Pinger.Alert", Payload::of(alert), ctx);
  request.serve_with(pinger);
  EXPECT_TRUE(request.answers.empty());
  ASSERT_EQ(request.thrown.size(), 1u);
  EXPECT_EQ(request.thrown[0], "alert exploded");
  EXPECT_TRUE(request.released);
}

TEST(GeneratedServe, TwoServiceWorkloadAndEmptyService) {
  Both both;
  actr::Workload& workload = both;
  TestContext ctx;
  RecordingRequest pong("gentest.v1.Pinger.Ping", Payload::of(MakePing("p")), ctx);
  pong.serve_with(workload);
  ASSERT_EQ(pong.answers.size(), 1u);
  EXPECT_TRUE(pong.answers[0]);
  v1::Outer::GetUserInfoRequest who;
  who.set_name("ada");
  RecordingRequest info("gentest.v1.Directory.GetUserInfo", Payload::of(who), ctx);
  info.serve_with(workload);
  ASSERT_EQ(info.answers.size(), 1u);
  ASSERT_TRUE(info.answers[0]);
  EXPECT_EQ(std::move(*info.answers[0]).take<v1::UserInfo>()->name(), "ada");
  RecordingRequest lost("gentest.v1.Other.Ping", Payload::of(MakePing("p")), ctx);
  lost.serve_with(workload);
  ASSERT_EQ(lost.answers.size(), 1u);
  ASSERT_FALSE(lost.answers[0]);
  EXPECT_EQ(lost.answers[0].error().code, ErrorCode::UnknownRoute);
  EXPECT_EQ(lost.answers[0].error().message,
            "none of gentest.v1.Pinger, gentest.v1.Directory has a method for route 'gentest.v1.Other.Ping'");
  EXPECT_TRUE(lost.released);

  struct Idle : v1::IdleHandler {};
  Idle idle;
  RecordingRequest nothing("gentest.v1.Idle.Anything", Payload(std::string()), ctx);
  nothing.serve_with(idle);
  ASSERT_EQ(nothing.answers.size(), 1u);
  ASSERT_FALSE(nothing.answers[0]);
  EXPECT_EQ(nothing.answers[0].error().code, ErrorCode::UnknownRoute);
}

// --- dispatch ---

TEST(GeneratedDispatch, RoutesTypedRequestAndHandsTypedResponseBack) {
  PingerImpl pinger;
  TestContext ctx;
  auto reply = RunSync(pinger.dispatch("gentest.v1.Pinger.Ping", Payload::of(MakePing("hi")), ctx));
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_TRUE(reply->is_message());  // in-process: no serialization on the way back
  auto response = std::move(*reply).take<v1::PingResponse>();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->text(), "hi");
  EXPECT_EQ(response->count(), 1u);
}

TEST(GeneratedDispatch, DecodesBytes) {
  PingerImpl pinger;
  TestContext ctx;
  auto reply =
      RunSync(pinger.dispatch("gentest.v1.Pinger.Ping", Payload(MakePing("wire").SerializeAsString()), ctx));
  ASSERT_TRUE(reply) << reply.error().to_string();
  auto bytes = std::move(*reply).take_bytes();
  ASSERT_TRUE(bytes);
  v1::PingResponse response;
  ASSERT_TRUE(response.ParseFromString(*bytes));
  EXPECT_EQ(response.text(), "wire");
}

TEST(GeneratedDispatch, UnknownRouteNamesTheKey) {
  PingerImpl pinger;
  TestContext ctx;
  auto reply = RunSync(pinger.dispatch("gentest.v1.Pinger.Nope", Payload::of(MakePing("x")), ctx));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::UnknownRoute);
  EXPECT_EQ(reply.error().message, "gentest.v1.Pinger has no method for route 'gentest.v1.Pinger.Nope'");
  EXPECT_EQ(pinger.pings, 0u);
}

TEST(GeneratedDispatch, GarbageBytesAreDecodeFailure) {
  PingerImpl pinger;
  TestContext ctx;
  // Field 1, length 5, but only two bytes follow.
  auto reply = RunSync(pinger.dispatch("gentest.v1.Pinger.Ping",
                                       Payload(std::string("\x0a\x05"
                                                           "ab",
                                                           4)),
                                       ctx));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::DecodeFailure);
  EXPECT_EQ(pinger.pings, 0u);  // the handler never ran
}

TEST(GeneratedDispatch, HandlerErrorPassesThrough) {
  PingerImpl pinger;
  TestContext ctx;
  v1::AlertRequest alert;
  alert.set_reason("fire");
  auto reply = RunSync(pinger.dispatch("gentest.v1.Pinger.Alert", Payload::of(alert), ctx));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), (actr::Error{ErrorCode::PermissionDenied, "alert refused: fire"}));
}

TEST(GeneratedDispatch, RenamedMethodsAndTypesFromOtherFiles) {
  DirectoryImpl directory;
  TestContext ctx;
  v1::DeleteRequest del;
  del.set_key("a");
  v1::DispatchRequest dis;
  dis.set_key("b");
  EXPECT_TRUE(RunSync(directory.dispatch("gentest.v1.Directory.Delete", Payload::of(del), ctx)));
  EXPECT_TRUE(RunSync(directory.dispatch("gentest.v1.Directory.Dispatch", Payload::of(dis), ctx)));
  auto empty = RunSync(directory.dispatch("gentest.v1.Directory.Remove", Payload::of(v1::SharedKey{}), ctx));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(std::move(*empty).take<google::protobuf::Empty>());
  EXPECT_EQ(directory.removed, (std::vector<std::string>{"delete:a", "dispatch:b", ""}));
}

TEST(GeneratedDispatch, TwoServiceWorkload) {
  Both both;
  TestContext ctx;
  actr::Workload& workload = both;
  auto pong = RunSync(workload.dispatch("gentest.v1.Pinger.Ping", Payload::of(MakePing("p")), ctx));
  ASSERT_TRUE(pong);
  v1::Outer::GetUserInfoRequest who;
  who.set_name("ada");
  auto info = RunSync(workload.dispatch("gentest.v1.Directory.GetUserInfo", Payload::of(who), ctx));
  ASSERT_TRUE(info);
  auto user = std::move(*info).take<v1::UserInfo>();
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name(), "ada");
  EXPECT_EQ(user->age(), 42u);
  auto lost = RunSync(workload.dispatch("gentest.v1.Other.Ping", Payload::of(MakePing("p")), ctx));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::UnknownRoute);
  EXPECT_EQ(lost.error().message,
            "none of gentest.v1.Pinger, gentest.v1.Directory has a method for route 'gentest.v1.Other.Ping'");
}

TEST(GeneratedDispatch, EmptyServiceAnswersUnknownRoute) {
  struct Idle : v1::IdleHandler {};
  Idle idle;
  TestContext ctx;
  auto reply = RunSync(idle.dispatch("gentest.v1.Idle.Anything", Payload(std::string()), ctx));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::UnknownRoute);
}

// --- typed clients ---

TEST(GeneratedClient, SendsRouteKeyLaneAndTypedPayload) {
  TestContext ctx;
  v1::PingerClient client(ctx, actr::Dest::local());
  v1::AlertRequest alert;
  alert.set_reason("r");
  auto alerted = RunSync(client.alert(alert, 250ms));
  ASSERT_FALSE(alerted);
  EXPECT_EQ(alerted.error().code, ErrorCode::NotImplemented);  // TestContext has no loopback
  EXPECT_FALSE(RunSync(client.lookup(v1::SharedKey{})));
  ASSERT_EQ(ctx.sent.size(), 2u);
  EXPECT_EQ(ctx.sent[0].route_key, "gentest.v1.Pinger.Alert");
  EXPECT_EQ(ctx.sent[0].lane, actr::RPC_SIGNAL);
  EXPECT_EQ(ctx.sent[0].dest, actr::Dest::Kind::Local);
  EXPECT_TRUE(ctx.sent[0].typed);
  EXPECT_EQ(ctx.sent[0].timeout, 250ms);
  EXPECT_FALSE(ctx.sent[0].tell);
  EXPECT_EQ(ctx.sent[1].route_key, "gentest.v1.Pinger.Lookup");
  EXPECT_EQ(ctx.sent[1].lane, actr::RPC_RELIABLE);
  EXPECT_EQ(ctx.sent[1].timeout, actr::kDefaultCallTimeout);
}

TEST(GeneratedClient, RoundTripThroughDispatcher) {
  Both both;
  TestContext ctx;
  ctx.loopback = &both;
  v1::PingerClient pinger(ctx, actr::Dest::shell());
  v1::DirectoryClient directory(ctx, actr::Dest::shell());

  auto pong = RunSync(pinger.ping(MakePing("loop")));
  ASSERT_TRUE(pong) << pong.error().to_string();
  EXPECT_EQ(pong->text(), "loop");
  v1::SharedKey key;
  key.set_key("k");
  auto info = RunSync(pinger.lookup(key));  // shared request type: only the client can call it
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name(), "pinger:k");
  EXPECT_TRUE(RunSync(directory.remove(key)));
  gentest::types::Token token;
  token.set_value("t");
  auto redeemed = RunSync(directory.redeem(token));  // request type from another file
  ASSERT_TRUE(redeemed);
  EXPECT_EQ(redeemed->name(), "token:t");
  EXPECT_EQ(both.removed, std::vector<std::string>{"k"});
  auto refused = RunSync(pinger.alert(v1::AlertRequest{}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::PermissionDenied);
  ASSERT_EQ(ctx.sent.size(), 5u);
  EXPECT_EQ(ctx.sent[2].route_key, "gentest.v1.Directory.Remove");
  EXPECT_EQ(ctx.sent[3].route_key, "gentest.v1.Directory.Redeem");
}

TEST(GeneratedTraits, ContextCallAndTellUseThem) {
  Both both;
  TestContext ctx;
  ctx.loopback = &both;
  auto pong = RunSync(ctx.call(actr::Dest::local(), MakePing("traits")));
  static_assert(std::same_as<decltype(pong), Result<v1::PingResponse>>);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->text(), "traits");
  EXPECT_FALSE(RunSync(ctx.tell(actr::Dest::local(), v1::AlertRequest{})));
  ASSERT_EQ(ctx.sent.size(), 2u);
  EXPECT_EQ(ctx.sent[0].route_key, "gentest.v1.Pinger.Ping");
  EXPECT_EQ(ctx.sent[0].lane, actr::RPC_RELIABLE);
  EXPECT_EQ(ctx.sent[1].route_key, "gentest.v1.Pinger.Alert");
  EXPECT_EQ(ctx.sent[1].lane, actr::RPC_SIGNAL);
  EXPECT_TRUE(ctx.sent[1].tell);
}

// The plugin computed kFingerprint from protoc's descriptors; the linked program recomputes it from
// the descriptors compiled into it. They must agree, or peers would disagree on compatibility.
template <class Handler>
void ExpectRuntimeFingerprint() {
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      std::string(Handler::kServiceName));
  ASSERT_NE(service, nullptr) << Handler::kServiceName;
  EXPECT_EQ(Handler::kFingerprint, actr::config::service_fingerprint(*service)) << Handler::kServiceName;
}

TEST(GeneratedFingerprint, MatchesTheRuntimeDescriptors) {
  ExpectRuntimeFingerprint<v1::PingerHandler>();  // has an RPC_SIGNAL method
  ExpectRuntimeFingerprint<v1::DirectoryHandler>();
  ExpectRuntimeFingerprint<v1::IdleHandler>();
  ExpectRuntimeFingerprint<PlainHandler>();
}

}  // namespace
