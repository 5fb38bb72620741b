#include "keys.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "util.hpp"

namespace actr::signal {

TEST(KeyStore, SignVerifyRotateAndPersist) {
  auto dir = std::filesystem::temp_directory_path() / ("actr-keys-" + hex_encode(random_bytes(4)));
  {
    auto store = Store::open(dir.string());
    ASSERT_TRUE(store);
    KeyStore keys(**store, 3600);
    ASSERT_TRUE(keys.load());
    auto now = unix_now();
    auto sig = keys.sign("hello");
    EXPECT_TRUE(keys.verify(1, "hello", sig, now));
    EXPECT_FALSE(keys.verify(1, "hellO", sig, now));
    auto id = keys.rotate();
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, 2u);
    EXPECT_EQ(keys.state(1, now), KeyStore::KeyState::Tolerated);
    EXPECT_TRUE(keys.verify(1, "hello", sig, now));
    EXPECT_FALSE(keys.verify(1, "hello", sig, now + 7200));  // past the tolerance
  }
  auto store = Store::open(dir.string());
  KeyStore keys(**store, 3600);
  ASSERT_TRUE(keys.load());
  EXPECT_EQ(keys.current_id(), 2u);
  EXPECT_EQ(keys.state(1, unix_now()), KeyStore::KeyState::Tolerated);
  auto first = (*store)->reserve_serials(10);
  auto second = (*store)->reserve_serials(10);
  EXPECT_EQ(*second, *first + 10);
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace actr::signal
