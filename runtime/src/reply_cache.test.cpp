#include "reply_cache.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <set>
#include <tuple>

namespace actr::detail {
namespace {

using Key = std::tuple<std::uint64_t, std::uint32_t, std::string>;

// The old design (unordered_map + deque of keys in arrival order, at most `limit` keys in the
// deque), on ordered containers. One deliberate difference: the deque remembers which insertion
// each key was, so a stale copy of an erased key does not evict a later entry with that key (the
// old code did; ReplyCache does not).
struct Model {
  struct Value {
    std::uint64_t generation;
    bool answered = false;
    std::string response;
  };
  std::size_t limit;
  std::map<Key, Value> entries;
  std::deque<std::pair<Key, std::uint64_t>> order;
  std::uint64_t generation = 0;

  bool try_add(const Key& key) {
    if (entries.contains(key)) return false;
    entries.emplace(key, Value{++generation});
    order.emplace_back(key, generation);
    while (order.size() > limit) {
      if (auto it = entries.find(order.front().first);
          it != entries.end() && it->second.generation == order.front().second) {
        entries.erase(it);
      }
      order.pop_front();
    }
    return true;
  }
};

TEST(ReplyCache, FindAddErase) {
  ReplyCache cache(8);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find(1, 2, "k3j9x0a-1z4"), nullptr);
  cache.erase(1, 2, "k3j9x0a-1z4");  // nothing there: no-op

  auto [entry, inserted] = cache.try_add(1, 2, "k3j9x0a-1z4");
  ASSERT_TRUE(inserted);
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->answered);
  EXPECT_TRUE(entry->response.empty());
  EXPECT_TRUE(entry->waiters.empty());
  EXPECT_EQ(cache.find(1, 2, "k3j9x0a-1z4"), entry);
  EXPECT_EQ(cache.size(), 1u);

  entry->answered = true;
  entry->response = "answer";
  auto [again, inserted_again] = cache.try_add(1, 2, "k3j9x0a-1z4");
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(again, entry);
  EXPECT_EQ(again->response, "answer");
  EXPECT_EQ(cache.size(), 1u);

  cache.erase(1, 2, "k3j9x0a-1z4");
  EXPECT_EQ(cache.find(1, 2, "k3j9x0a-1z4"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  auto [fresh, inserted_fresh] = cache.try_add(1, 2, "k3j9x0a-1z4");  // a retry is admitted
  EXPECT_TRUE(inserted_fresh);
  EXPECT_FALSE(fresh->answered);
  EXPECT_TRUE(fresh->response.empty());
}

TEST(ReplyCache, SameRequestIdFromDifferentCallersIsDistinct) {
  ReplyCache cache(8);
  auto* a = cache.try_add(1, 2, "id").first;
  auto* b = cache.try_add(3, 2, "id").first;  // another serial
  auto* c = cache.try_add(1, 4, "id").first;  // another realm
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find(1, 2, "id"), a);
  EXPECT_EQ(cache.find(3, 2, "id"), b);
  EXPECT_EQ(cache.find(1, 4, "id"), c);
  EXPECT_EQ(cache.find(3, 4, "id"), nullptr);
  cache.erase(3, 2, "id");
  EXPECT_EQ(cache.find(1, 2, "id"), a);
  EXPECT_EQ(cache.find(3, 2, "id"), nullptr);
  EXPECT_EQ(cache.find(1, 4, "id"), c);
}

TEST(ReplyCache, EvictsTheOldestExactlyAtTheLimit) {
  ReplyCache cache(4);
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_TRUE(cache.try_add(1, 1, id).second);
  EXPECT_EQ(cache.size(), 4u);
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_NE(cache.find(1, 1, id), nullptr) << id;
  EXPECT_FALSE(cache.try_add(1, 1, "a").second);  // a hit does not count as new
  EXPECT_TRUE(cache.try_add(1, 1, "e").second);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.find(1, 1, "a"), nullptr);
  for (const char* id : {"b", "c", "d", "e"}) EXPECT_NE(cache.find(1, 1, id), nullptr) << id;
  EXPECT_TRUE(cache.try_add(1, 1, "f").second);
  EXPECT_EQ(cache.find(1, 1, "b"), nullptr);
  EXPECT_NE(cache.find(1, 1, "c"), nullptr);
}

// at() finds an entry by the place try_add() gave it, while that place still holds the same key.
TEST(ReplyCache, AtFindsAnEntryByItsPlaceUntilThePlaceIsRecycled) {
  ReplyCache cache(2);
  std::uint32_t a = UINT32_MAX, b = UINT32_MAX, again = UINT32_MAX;
  auto [entry_a, fresh_a] = cache.try_add(1, 1, "a", &a);
  ASSERT_TRUE(fresh_a);
  auto [entry_b, fresh_b] = cache.try_add(1, 1, "b", &b);
  ASSERT_TRUE(fresh_b);
  EXPECT_NE(a, b);
  EXPECT_EQ(cache.at(a, 1, 1, "a"), entry_a);
  EXPECT_EQ(cache.at(b, 1, 1, "b"), cache.find(1, 1, "b"));
  EXPECT_FALSE(cache.try_add(1, 1, "a", &again).second);  // a repeat learns the place too
  EXPECT_EQ(again, a);
  EXPECT_EQ(cache.at(a, 1, 1, "b"), nullptr);  // another key
  EXPECT_EQ(cache.at(a, 2, 1, "a"), nullptr);  // another caller
  EXPECT_EQ(cache.at(a, 1, 2, "a"), nullptr);  // another realm
  EXPECT_EQ(cache.at(7, 1, 1, "a"), nullptr);  // no such place
  cache.erase(1, 1, "b");
  EXPECT_EQ(cache.at(b, 1, 1, "b"), nullptr);
  std::uint32_t c = UINT32_MAX;
  ASSERT_TRUE(cache.try_add(1, 1, "c", &c).second);  // the ring is full: "a"'s place is recycled
  EXPECT_EQ(c, a);
  EXPECT_EQ(cache.at(a, 1, 1, "a"), nullptr);
  EXPECT_EQ(cache.at(c, 1, 1, "c"), cache.find(1, 1, "c"));
}

// An erased entry keeps its place in arrival order (as in the old deque): eviction passes over
// it without taking anyone else early, and the others leave in their order.
TEST(ReplyCache, EraseInTheMiddleKeepsEvictionOrder) {
  ReplyCache cache(4);
  for (const char* id : {"a", "b", "c", "d"}) cache.try_add(1, 1, id);
  cache.erase(1, 1, "b");
  EXPECT_EQ(cache.size(), 3u);
  cache.try_add(1, 1, "e");  // a's turn
  EXPECT_EQ(cache.find(1, 1, "a"), nullptr);
  cache.try_add(1, 1, "f");  // b's (already gone) turn: nobody else leaves
  EXPECT_EQ(cache.size(), 4u);
  for (const char* id : {"c", "d", "e", "f"}) EXPECT_NE(cache.find(1, 1, id), nullptr) << id;
  cache.try_add(1, 1, "g");
  EXPECT_EQ(cache.find(1, 1, "c"), nullptr);
  for (const char* id : {"d", "e", "f", "g"}) EXPECT_NE(cache.find(1, 1, id), nullptr) << id;
}

TEST(ReplyCache, LongAndEmptyRequestIds) {
  ReplyCache cache(64);
  const std::string long_id(300, 'x');
  std::string last_differs = long_id;
  last_differs.back() = 'y';
  std::string middle_differs = long_id;
  middle_differs[150] = 'y';
  for (const auto& id : {std::string(), long_id, last_differs, middle_differs}) {
    EXPECT_TRUE(cache.try_add(5, 6, id).second) << id.size();
  }
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_NE(cache.find(5, 6, ""), nullptr);
  EXPECT_NE(cache.find(5, 6, long_id), nullptr);
  EXPECT_EQ(cache.find(5, 6, std::string(299, 'x')), nullptr);
  EXPECT_EQ(cache.find(5, 6, std::string(301, 'x')), nullptr);
  cache.erase(5, 6, long_id);
  EXPECT_EQ(cache.find(5, 6, long_id), nullptr);
  EXPECT_NE(cache.find(5, 6, last_differs), nullptr);
  EXPECT_NE(cache.find(5, 6, middle_differs), nullptr);
  EXPECT_NE(cache.find(5, 6, ""), nullptr);
}

// Every byte and the length reach the hash: prefixes and one-byte changes anywhere all differ.
TEST(ReplyCache, HashCoversEveryByte) {
  std::set<std::uint64_t> seen;
  std::size_t count = 0;
  for (std::size_t length : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 300}) {
    const std::string id(length, 'a');
    seen.insert(reply_cache_hash(1, 2, id));
    ++count;
    for (std::size_t i = 0; i < length; ++i) {
      std::string changed = id;
      changed[i] = 'b';
      seen.insert(reply_cache_hash(1, 2, changed));
      ++count;
    }
  }
  EXPECT_EQ(seen.size(), count);
  EXPECT_NE(reply_cache_hash(1, 2, "id"), reply_cache_hash(2, 2, "id"));
  EXPECT_NE(reply_cache_hash(1, 2, "id"), reply_cache_hash(1, 3, "id"));
}

// The ids a node makes ("<7 random base-36 digits>-<sequence in base 36>") differ only in their
// last characters. Their home buckets must still scatter for every prefix: a hash whose low bits
// step evenly through those characters left a few prefixes in 40 with runs of 10-20 probes.
TEST(ReplyCache, SequentialIdsScatterWhateverTheirPrefix) {
  constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  constexpr std::size_t kBuckets = 2048;
  constexpr std::size_t kIds = 1250;  // the index's load just before it doubles
  std::mt19937_64 random(7);
  double worst = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::string prefix(7, '0');
    for (auto& digit : prefix) digit = kDigits[random() % kDigits.size()];
    const std::uint64_t serial = random();
    std::vector<bool> used(kBuckets);
    std::size_t probes = 0;
    for (std::uint64_t sequence = 0; sequence < kIds; ++sequence) {
      std::string id = prefix + "-";
      std::string digits;
      for (auto n = sequence; digits.empty() || n > 0; n /= 36)
        digits.insert(digits.begin(), kDigits[n % 36]);
      id += digits;
      auto bucket = static_cast<std::size_t>(reply_cache_hash(serial, 1, id)) & (kBuckets - 1);
      for (++probes; used[bucket]; ++probes) bucket = (bucket + 1) & (kBuckets - 1);
      used[bucket] = true;
    }
    worst = std::max(worst, static_cast<double>(probes) / kIds);
  }
  // A uniform hash averages ~1.8 probes per insertion at this load; 200 prefixes stay under 2.5.
  EXPECT_LT(worst, 2.5);
}

TEST(ReplyCache, RecycledEntriesStartFresh) {
  ReplyCache cache(2);
  auto owner = std::make_shared<int>(0);
  const std::shared_ptr<PeerLink> link(owner, nullptr);  // a live weak_ptr without a PeerLink

  auto* a = cache.try_add(1, 1, "a").first;
  a->answered = true;
  a->response.assign(100, 'r');
  a->waiters.push_back(link);
  const char* storage = a->response.data();
  auto* b = cache.try_add(1, 1, "b").first;
  b->response.assign(10'000, 'R');  // too big to keep around in a recycled slot

  auto [c, inserted] = cache.try_add(1, 1, "c");  // a's slot
  ASSERT_TRUE(inserted);
  EXPECT_EQ(cache.find(1, 1, "a"), nullptr);
  EXPECT_FALSE(c->answered);
  EXPECT_TRUE(c->response.empty());
  EXPECT_TRUE(c->waiters.empty());
  c->response.assign(100, 's');
  EXPECT_EQ(c->response.data(), storage);  // the old capacity, reused: no allocation

  auto* d = cache.try_add(1, 1, "d").first;  // b's slot
  EXPECT_TRUE(d->response.empty());
  EXPECT_LT(d->response.capacity(), 10'000u);
}

TEST(ReplyCache, GrowsFromEmptyToTheLimit) {
  constexpr std::uint32_t kLimit = 1000;
  ReplyCache cache(kLimit);
  for (std::uint32_t i = 0; i < kLimit; ++i) {
    ASSERT_TRUE(cache.try_add(i, 0, "r").second);
    ASSERT_EQ(cache.size(), i + 1);
  }
  for (std::uint32_t i = 0; i < kLimit; ++i) ASSERT_NE(cache.find(i, 0, "r"), nullptr) << i;
  cache.try_add(kLimit, 0, "r");
  EXPECT_EQ(cache.size(), kLimit);
  EXPECT_EQ(cache.find(0, 0, "r"), nullptr);
  for (std::uint32_t i = 1; i <= kLimit; ++i) ASSERT_NE(cache.find(i, 0, "r"), nullptr) << i;

  // Storage follows use, not the limit: a billion-entry limit costs nothing until it is used.
  ReplyCache huge(1u << 30);
  for (std::uint32_t i = 0; i < 10; ++i) huge.try_add(i, 0, "r");
  EXPECT_EQ(huge.size(), 10u);
}

// Random operations on a few keys, checked against the model after every step.
void differential(std::size_t limit, std::size_t keys, int steps, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Key> pool;
  for (std::size_t i = 0; i < keys; ++i) {
    std::string id = i % 7 == 0   ? std::string()
                     : i % 5 == 0 ? std::string(280 + i % 40, static_cast<char>('a' + i % 26))
                                  : "k3j9x0a-" + std::to_string(i);
    pool.emplace_back(i % 3, static_cast<std::uint32_t>(i % 2), std::move(id));
  }
  ReplyCache cache(limit);
  Model model{limit};
  for (int step = 0; step < steps; ++step) {
    const Key& key = pool[rng() % pool.size()];
    const auto& [serial, realm, id] = key;
    if (const auto op = rng() % 8; op < 4) {
      auto [entry, inserted] = cache.try_add(serial, realm, id);
      ASSERT_EQ(inserted, model.try_add(key)) << "step " << step;
      const auto& expected = model.entries.at(key);
      ASSERT_EQ(entry->answered, expected.answered);
      ASSERT_EQ(entry->response, expected.response);
    } else if (op == 4) {
      cache.erase(serial, realm, id);
      model.entries.erase(key);
    } else if (auto* entry = cache.find(serial, realm, id)) {  // answer it
      entry->answered = true;
      entry->response = "answer " + std::to_string(step);
      model.entries.at(key).answered = true;
      model.entries.at(key).response = entry->response;
    }
    ASSERT_EQ(cache.size(), model.entries.size()) << "step " << step;
    if (pool.size() > 50 && step % 100 != 0) continue;  // the whole pool now and then, if big
    for (const Key& other : pool) {
      auto* entry = std::apply([&](const auto&... part) { return cache.find(part...); }, other);
      auto it = model.entries.find(other);
      ASSERT_EQ(entry != nullptr, it != model.entries.end()) << "step " << step;
      if (entry) {
        ASSERT_EQ(entry->response, it->second.response);
      }
    }
  }
}

// Answers the entry for `id` with `bytes` bytes and settles it; returns the entry.
ReplyCache::Entry* answer(ReplyCache& cache, const std::string& id, std::size_t bytes) {
  std::uint32_t place = 0;
  auto [entry, inserted] = cache.try_add(1, 2, id, &place);
  EXPECT_TRUE(inserted) << id;
  entry->response.assign(bytes, 'a');
  cache.settle(place);
  return entry;
}

TEST(ReplyCache, AnAnswerTooBigToKeepGoesButItsEntryStays) {
  ReplyCache cache(8, 1 << 20, 1000);
  auto* big = answer(cache, "big", 5000);
  EXPECT_TRUE(big->answered);
  EXPECT_TRUE(big->answer_dropped);
  EXPECT_EQ(big->response.capacity(), std::string().capacity());  // its heap buffer went back
  EXPECT_EQ(cache.answer_bytes(), 0u);
  EXPECT_EQ(cache.find(1, 2, "big"), big);  // still remembered: a retry is refused, not run

  auto* small = answer(cache, "small", 1000);  // at the limit: kept
  EXPECT_TRUE(small->answered);
  EXPECT_FALSE(small->answer_dropped);
  EXPECT_EQ(small->response, std::string(1000, 'a'));
  EXPECT_EQ(cache.answer_bytes(), small->response.capacity());
}

TEST(ReplyCache, PastTheBudgetTheOldestAnswersGo) {
  ReplyCache cache(64, 10'000, 3'000);
  for (int i = 0; i < 20; ++i) {
    answer(cache, "r-" + std::to_string(i), 2'500);
    EXPECT_LE(cache.answer_bytes(), 10'000u) << i;
  }
  // The kept answers are the newest ones, at least three of them; every entry is still there.
  bool kept = false;
  int kept_count = 0;
  for (int i = 0; i < 20; ++i) {
    auto* entry = cache.find(1, 2, "r-" + std::to_string(i));
    ASSERT_NE(entry, nullptr) << i;
    EXPECT_TRUE(entry->answered) << i;
    if (!entry->answer_dropped) {
      kept = true;
      ++kept_count;
      EXPECT_EQ(entry->response.size(), 2'500u) << i;
    } else {
      EXPECT_FALSE(kept) << "r-" << i << " went while an older answer stayed";
      EXPECT_TRUE(entry->response.empty()) << i;
    }
  }
  EXPECT_GE(kept_count, 3);
}

TEST(ReplyCache, TheBudgetLeavesAnAnswerBeingWrittenAlone) {
  ReplyCache cache(8, 5'000, 4'000);
  std::uint32_t running_place = 0;
  auto* running = cache.try_add(1, 2, "running", &running_place).first;
  running->response.assign(3'000, 'r');  // its handler's answer, being encoded: not settled yet
  auto* x = answer(cache, "x", 3'000);
  auto* y = answer(cache, "y", 3'000);  // over the budget: the oldest answered one goes
  EXPECT_EQ(running->response, std::string(3'000, 'r'));
  EXPECT_TRUE(x->answer_dropped);
  EXPECT_FALSE(y->answer_dropped);
  cache.settle(running_place);  // now counted, and over again: the next oldest goes
  EXPECT_FALSE(running->answer_dropped);
  EXPECT_EQ(running->response.size(), 3'000u);
  EXPECT_TRUE(y->answer_dropped);
  EXPECT_LE(cache.answer_bytes(), 5'000u);
}

TEST(ReplyCache, TheBudgetHoldsWhileTheRingWraps) {
  // Two answers fit; the ring recycles its 8 slots many times over, and a recycled slot keeps a
  // small buffer for reuse: that counts too.
  ReplyCache cache(8, 2'000, 1'000);
  for (int i = 0; i < 100; ++i) {
    auto* entry = answer(cache, "w-" + std::to_string(i), 900 + i % 3);
    EXPECT_LE(cache.answer_bytes(), 2'000u) << i;
    EXPECT_FALSE(entry->answer_dropped) << i;  // the newest answer always stays
  }
  std::size_t held = 0;
  for (int i = 92; i < 100; ++i) {
    auto* entry = cache.find(1, 2, "w-" + std::to_string(i));
    ASSERT_NE(entry, nullptr) << i;
    if (entry->response.capacity() > std::string().capacity()) held += entry->response.capacity();
  }
  EXPECT_EQ(cache.answer_bytes(), held);
}

TEST(ReplyCache, MatchesTheOldDesignAtASmallLimit) {
  for (std::uint32_t seed = 1; seed <= 5; ++seed) differential(4, 12, 1000, seed);
  differential(1, 4, 1000, 99);
}

TEST(ReplyCache, MatchesTheOldDesignWithLongProbeRuns) { differential(300, 600, 20'000, 7); }

}  // namespace
}  // namespace actr::detail
