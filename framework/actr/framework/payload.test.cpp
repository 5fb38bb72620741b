#include "actr/framework/payload.hpp"

#include <actr/actr.pb.h>
#include <gtest/gtest.h>

#include <memory>

#include "actr/protocol/ids.hpp"

namespace actr {

TEST(Payload, TypedMessageIsHandedOverWithoutEncoding) {
  auto payload = Payload::of(make_actr_type("acme", "echo", "v1"));
  ASSERT_TRUE(payload.is_message());
  const auto* original = payload.message();
  auto type = std::move(payload).take<ActrType>();
  ASSERT_TRUE(type);
  EXPECT_EQ(type->name(), "echo");
  (void)original;
}

TEST(Payload, BytesDecodeIntoTheRequestedType) {
  auto type = make_actr_type("acme", "echo", "v1");
  Payload payload(type.SerializeAsString());
  EXPECT_FALSE(payload.is_message());
  EXPECT_EQ(payload.byte_size(), type.ByteSizeLong());
  auto decoded = std::move(payload).take<ActrType>();
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, type);
}

TEST(Payload, GarbageIsADecodeFailureNamingTheType) {
  Payload payload(std::string("\xff\xff\xff\xff", 4));
  auto decoded = std::move(payload).take<ActrType>();
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::DecodeFailure);
  EXPECT_NE(decoded.error().message.find("actr.ActrType"), std::string::npos);
}

TEST(Payload, MissingRequiredFieldsAreReported) {
  ActrType partial;
  partial.set_name("only-name");
  auto bytes = Payload::of(partial).take_bytes();
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(bytes.error().message.find("manufacturer"), std::string::npos) << bytes.error().message;
}

TEST(Payload, WriteBytesReplacesWhatTheStringHeld) {
  auto type = make_actr_type("acme", "echo", "v1");
  std::string out(200, 'x');  // longer than the encoding: nothing of it may survive
  ASSERT_TRUE(Payload::of(type).write_bytes(out));
  EXPECT_EQ(out, type.SerializeAsString());
  ASSERT_TRUE(Payload(std::string("raw")).write_bytes(out));
  EXPECT_EQ(out, "raw");
  ActrType partial;
  partial.set_name("only-name");
  auto refused = Payload::of(partial).write_bytes(out);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
}

TEST(Payload, OtherTypedMessageIsReencoded) {
  // A typed payload of another type goes through the bytes, exactly as it would over a wire.
  Realm realm;
  realm.set_realm_id(9);
  auto as_realm = Payload::of(realm).take<Realm>();
  ASSERT_TRUE(as_realm);
  auto mismatch = Payload::of(realm).take<ActrType>();
  EXPECT_FALSE(mismatch);  // a Realm's bytes lack ActrType's required fields
}

TEST(Payload, MaterializeTurnsBytesIntoTypedMessage) {
  Realm realm;
  realm.set_realm_id(3);
  Payload payload(realm.SerializeAsString());
  ASSERT_TRUE(payload.materialize(Realm::default_instance()));
  ASSERT_TRUE(payload.is_message());
  EXPECT_EQ(static_cast<const Realm*>(payload.message())->realm_id(), 3u);
}

TEST(Payload, LentBytesAreReadInPlaceUntilKept) {
  auto type = make_actr_type("acme", "echo", "v1");
  std::string buffer = type.SerializeAsString();
  Payload payload;
  payload.lend(buffer);
  ASSERT_TRUE(payload.is_lent());
  EXPECT_EQ(payload.bytes().data(), buffer.data());  // no copy
  EXPECT_EQ(payload.byte_size(), buffer.size());
  payload.keep();  // the lender is about to reuse its buffer
  EXPECT_FALSE(payload.is_lent());
  buffer.assign(buffer.size(), '\xff');
  auto decoded = std::move(payload).take<ActrType>();
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, type);
}

TEST(Payload, MovingLentBytesCopiesThemSoNoOtherPayloadPointsAtTheLender) {
  std::string buffer = "lent bytes";
  Payload lent;
  lent.lend(buffer);
  Payload moved(std::move(lent));
  EXPECT_FALSE(moved.is_lent());
  EXPECT_NE(moved.bytes().data(), buffer.data());
  Payload assigned(std::string("old"));
  lent.lend(buffer);
  assigned = std::move(lent);
  EXPECT_FALSE(assigned.is_lent());
  buffer = "overwritten";
  EXPECT_EQ(moved.bytes(), "lent bytes");
  EXPECT_EQ(assigned.bytes(), "lent bytes");
}

TEST(Payload, LentBytesDecodeAndConvertLikeOwnedOnes) {
  auto type = make_actr_type("acme", "echo", "v1");
  const std::string buffer = type.SerializeAsString();
  auto lent = [](std::string_view bytes) {
    auto payload = std::make_unique<Payload>();  // not moved: a move would copy the bytes
    payload->lend(bytes);
    return payload;
  };
  ActrType out;
  ASSERT_TRUE(std::move(*lent(buffer)).decode_into(out));
  EXPECT_EQ(out, type);
  auto bytes = std::move(*lent(buffer)).take_bytes();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, buffer);
  std::string written = "stale";
  ASSERT_TRUE(std::move(*lent(buffer)).write_bytes(written));
  EXPECT_EQ(written, buffer);
  auto garbage = std::move(*lent(std::string_view("\xff\xff\xff\xff", 4))).take<ActrType>();
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::DecodeFailure);
  auto empty = lent(std::string_view());
  EXPECT_TRUE(empty->is_lent());
  EXPECT_EQ(empty->byte_size(), 0u);
  auto typed = Payload::of(make_actr_type("acme", "echo", "v1"));
  typed.lend(buffer);  // lending replaces what it held
  EXPECT_FALSE(typed.is_message());
  EXPECT_EQ(typed.bytes(), buffer);
}

}  // namespace actr
