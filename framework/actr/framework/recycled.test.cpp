#include "actr/framework/recycled.hpp"

#include <actr/actr.pb.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace actr::detail {
namespace {

// ServiceLocation: every field optional, one a string.
using Message = ServiceLocation;

Payload encoded(const std::string& region, bool with_latitude = false) {
  Message message;
  message.set_region(region);
  if (with_latitude) message.set_latitude(48.1);
  return Payload(message.SerializeAsString());
}

// Each test runs on a thread of its own, so it starts with an empty pool.
template <class F>
void on_fresh_thread(F body) {
  std::thread(body).join();
}

TEST(Recycled, TheNextDecodeReusesTheMessageAndItsStringsWithNothingLeftOver) {
  on_fresh_thread([] {
    const Message* first_message = nullptr;
    const char* first_name = nullptr;
    {
      Recycled<Message> decoded;
      ASSERT_TRUE(decoded.decode(encoded(std::string(40, 'a'), true)));
      first_message = &*decoded;
      first_name = (*decoded).region().data();
    }
    EXPECT_EQ(Recycled<Message>::kept(), 1u);
    Recycled<Message> decoded;
    ASSERT_TRUE(decoded.decode(encoded(std::string(30, 'b'))));
    EXPECT_EQ(Recycled<Message>::kept(), 0u);
    EXPECT_EQ(&*decoded, first_message);
    EXPECT_EQ((*decoded).region().data(), first_name);  // the buffer kept its capacity
    EXPECT_EQ((*decoded).region(), std::string(30, 'b'));
    EXPECT_FALSE((*decoded).has_latitude());  // cleared: nothing of the last request
  });
}

TEST(Recycled, AMessageDecodedFromManyBytesIsFreedNotKept) {
  on_fresh_thread([] {
    {
      Recycled<Message> decoded;
      ASSERT_TRUE(decoded.decode(encoded(std::string(message_pool::kKeepAtMost + 1, 'x'))));
    }
    EXPECT_EQ(Recycled<Message>::kept(), 0u);
    {
      Recycled<Message> decoded;
      ASSERT_TRUE(decoded.decode(encoded("small")));
    }
    EXPECT_EQ(Recycled<Message>::kept(), 1u);
  });
}

TEST(Recycled, ThePoolIsBoundedAndEachThreadHasItsOwn) {
  on_fresh_thread([] {
    {
      std::vector<std::unique_ptr<Recycled<Message>>> live;
      for (std::uint32_t i = 0; i < message_pool::kKept + 3; ++i) {
        live.push_back(std::make_unique<Recycled<Message>>());
        ASSERT_TRUE(live.back()->decode(encoded("n" + std::to_string(i))));
      }
    }
    EXPECT_EQ(Recycled<Message>::kept(), message_pool::kKept);
    on_fresh_thread([] { EXPECT_EQ(Recycled<Message>::kept(), 0u); });
  });
}

TEST(Recycled, GarbageIsADecodeFailureAndTheMessageStillGoesBack) {
  on_fresh_thread([] {
    {
      Recycled<Message> decoded;
      auto ok = decoded.decode(Payload(std::string("\xff\xff\xff\xff", 4)));
      ASSERT_FALSE(ok);
      EXPECT_EQ(ok.error().code, ErrorCode::DecodeFailure);
    }
    EXPECT_EQ(Recycled<Message>::kept(), 1u);
    Recycled<Message> decoded;
    ASSERT_TRUE(decoded.decode(encoded("eu-west")));
    EXPECT_EQ((*decoded).region(), "eu-west");
  });
}

TEST(Recycled, ATypedPayloadDecodesToo) {
  on_fresh_thread([] {
    Message typed;
    typed.set_region("eu-west");
    Recycled<Message> decoded;
    ASSERT_TRUE(decoded.decode(Payload::of(std::move(typed))));
    EXPECT_EQ((*decoded).region(), "eu-west");
  });
}

}  // namespace
}  // namespace actr::detail
