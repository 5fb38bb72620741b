#include "actr/config/lock_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actr/protocol/ids.hpp"

namespace {

using actr::config::LockedDependency;
using actr::config::LockFile;

const std::string kFp1 = "sha256:" + std::string(64, 'a');
const std::string kFp2 = "sha256:" + std::string(63, '0') + "1";

LockFile sample() {
  LockFile lock;
  lock.upsert({"store", actr::make_actr_type("acme", "kv-store", "2.0.0"), "kv.Store", kFp1});
  lock.upsert({"clock", actr::make_actr_type("acme", "clock", "1.0"), "time.Clock", kFp2});
  return lock;
}

class LockFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("actr_lock_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(LockFileTest, SaveAndLoadRoundTrip) {
  const auto path = dir_ / "manifest.lock.toml";
  ASSERT_TRUE(actr::config::save_lock_file(sample(), path));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "manifest.lock.toml.tmp"));
  auto loaded = actr::config::load_lock_file(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->dependencies.size(), 2u);
  EXPECT_EQ(loaded->dependencies[0].alias, "clock");
  const LockedDependency* store = loaded->find("store");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(actr::to_string(store->actr_type), "acme:kv-store:2.0.0");
  EXPECT_EQ(store->service, "kv.Store");
  EXPECT_EQ(store->fingerprint, kFp1);
  // Saving what was loaded writes the same bytes: the format is stable for version control.
  EXPECT_EQ(actr::config::format_lock_file(*loaded), actr::config::format_lock_file(sample()));
}

TEST_F(LockFileTest, Format) {
  EXPECT_EQ(
      actr::config::format_lock_file(sample()),
      "# manifest.lock.toml: written by `actr deps install`; do not edit by hand.\n"
      "# Pins the service fingerprint of each dependency in manifest.toml.\n"
      "version = 1\n"
      "\n[[dependency]]\nalias = \"clock\"\nactr_type = \"acme:clock:1.0\"\nservice = \"time.Clock\"\n"
      "fingerprint = \"" +
          kFp2 +
          "\"\n"
          "\n[[dependency]]\nalias = \"store\"\nactr_type = \"acme:kv-store:2.0.0\"\nservice = \"kv.Store\"\n"
          "fingerprint = \"" +
          kFp1 + "\"\n");
  EXPECT_EQ(actr::config::format_lock_file({}),
            "# manifest.lock.toml: written by `actr deps install`; do not edit by hand.\n"
            "# Pins the service fingerprint of each dependency in manifest.toml.\nversion = 1\n");
}

TEST_F(LockFileTest, SaveRefusesWhatWouldNotLoad) {
  LockFile lock = sample();
  lock.dependencies[0].fingerprint = "sha256:short";
  auto saved = actr::config::save_lock_file(lock, dir_ / "x.toml");
  ASSERT_FALSE(saved);
  EXPECT_NE(saved.error().message.find("fingerprint 'sha256:short'"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.toml"));
  lock = sample();
  lock.dependencies.push_back(lock.dependencies[0]);
  EXPECT_FALSE(actr::config::save_lock_file(lock, dir_ / "x.toml"));
}

TEST(LockFileParse, Errors) {
  auto error_of = [](std::string_view text) {
    auto lock = actr::config::parse_lock_file(text);
    EXPECT_FALSE(lock) << text;
    return lock ? std::string() : lock.error().message;
  };
  const std::string entry =
      "[[dependency]]\nalias = \"a\"\nactr_type = \"x:y:1\"\nservice = \"p.S\"\nfingerprint = \"" + kFp1 +
      "\"\n";
  EXPECT_TRUE(actr::config::parse_lock_file(entry));
  EXPECT_EQ(
      error_of("version = 2\n"),
      "manifest.lock.toml:1:11: key 'version': version 2 is not supported (this build reads version 1)");
  EXPECT_EQ(error_of(entry + entry),
            "manifest.lock.toml:7:9: key 'dependency[1].alias': 'a' is locked twice");
  EXPECT_EQ(error_of("[[dependency]]\nalias = \"a\"\nactr_type = \"x:y:1\"\nservice = \"p.S\"\n"),
            "manifest.lock.toml:1:1: missing required key 'dependency[0].fingerprint'");
  EXPECT_EQ(
      error_of("[[dependency]]\nalias = \"a\"\nactr_type = \"x:y:1\"\nservice = \"p.S\"\nfingerprint = "
               "\"md5:1\"\n"),
      "manifest.lock.toml:5:15: key 'dependency[0].fingerprint': 'md5:1' is not sha256:<64 lowercase hex "
      "digits>");
  EXPECT_EQ(error_of(entry + "extra = 1\n"),
            "manifest.lock.toml:6:1: unknown key 'dependency[0].extra' (expected one of: actr_type, alias, "
            "fingerprint, service)");
}

TEST(LockFileCheck, AgainstManifest) {
  auto manifest = actr::config::parse_manifest(R"(
[package]
manufacturer = "acme"
name = "app"
version = "1"
[dependencies]
store = { actr_type = "acme:kv-store:2.0.0", service = "kv.Store" }
clock = "acme:clock:1.0"
)");
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_TRUE(actr::config::check_lock(*manifest, sample()));

  LockFile stale = sample();
  stale.dependencies[0].actr_type.set_version("3.0.0");
  stale.upsert({"extra", actr::make_actr_type("a", "b", "1"), "p.S", kFp1});
  stale.dependencies.erase(stale.dependencies.begin() + 1);  // clock
  auto result = actr::config::check_lock(*manifest, stale);
  ASSERT_FALSE(result);
  EXPECT_EQ(
      result.error().message,
      "manifest.lock.toml is out of date ('clock' is not locked; 'store' is locked at acme:kv-store:3.0.0 "
      "but "
      "the manifest asks for acme:kv-store:2.0.0; 'extra' is locked but not in the manifest); run `actr deps "
      "install`");
}

}  // namespace
