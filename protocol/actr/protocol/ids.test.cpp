#include "actr/protocol/ids.hpp"

#include <gtest/gtest.h>

#include <unordered_map>
#include <unordered_set>

namespace actr {

TEST(ActrType, FormatsAndParses) {
  auto type = make_actr_type("acme", "echo-server", "1.0.2");
  EXPECT_EQ(to_string(type), "acme:echo-server:1.0.2");
  auto parsed = parse_actr_type("acme:echo-server:1.0.2");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, type);
}

TEST(ActrType, RejectsWrongShapeWithClearErrors) {
  for (auto text : {"", "acme", "acme:echo", "a:b:c:d", "acme::1"}) {
    auto parsed = parse_actr_type(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArgument);
  }
  auto bad = parse_actr_type("9acme:echo:v1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("manufacturer '9acme' must start with a letter"), std::string::npos)
      << bad.error().message;
}

TEST(Names, FollowTheRules) {
  EXPECT_TRUE(validate_name("a", "name"));
  EXPECT_TRUE(validate_name("a.b-c_d9", "name"));
  EXPECT_TRUE(validate_name(std::string(32, 'x'), "name"));
  EXPECT_FALSE(validate_name(std::string(33, 'x'), "name"));
  EXPECT_FALSE(validate_name("-a", "name"));
  EXPECT_FALSE(validate_name("a-", "name"));
  EXPECT_FALSE(validate_name("a b", "name"));
  EXPECT_FALSE(validate_name("a/b", "name"));
  EXPECT_TRUE(validate_version("1.0.2"));
  EXPECT_TRUE(validate_version("v2"));
  EXPECT_FALSE(validate_version("1.0:2"));
  EXPECT_FALSE(validate_version(std::string(33, '1')));
  auto error = validate_name("x y", "version").error();
  EXPECT_NE(error.message.find("version 'x y' contains ' '"), std::string::npos) << error.message;
}

TEST(ActrId, FormatsSerialInLowercaseHexAndParsesBack) {
  auto id = make_actr_id(7, 0xabc123, make_actr_type("acme", "echo", "v1"));
  EXPECT_EQ(to_string(id), "abc123@7/acme:echo:v1");
  auto parsed = parse_actr_id("abc123@7/acme:echo:v1");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, id);
}

TEST(ActrId, RejectsMalformedText) {
  for (auto text : {"", "abc", "abc@7", "ABC@7/acme:echo:v1", "xyz@7/acme:echo:v1", "1@x/acme:echo:v1",
                    "1@7/acme:echo", "@7/acme:echo:v1", "1@/acme:echo:v1", "1@99999999999/a:b:c"}) {
    auto parsed = parse_actr_id(text);
    EXPECT_FALSE(parsed) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArgument);
    }
  }
}

TEST(ActrId, WorksAsHashMapKey) {
  auto a = make_actr_id(1, 1, make_actr_type("acme", "echo", "v1"));
  auto b = make_actr_id(1, 2, make_actr_type("acme", "echo", "v1"));
  auto a2 = make_actr_id(1, 1, make_actr_type("acme", "echo", "v1"));
  std::unordered_map<ActrId, int> map;
  map[a] = 1;
  map[b] = 2;
  EXPECT_EQ(map.at(a2), 1);
  EXPECT_EQ(map.size(), 2u);
  std::unordered_set<ActrType> types{a.type(), b.type()};
  EXPECT_EQ(types.size(), 1u);
}

}  // namespace actr
