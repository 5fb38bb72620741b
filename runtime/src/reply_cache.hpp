#pragma once
// The duplicate filter's memory: for each recent inbound request, keyed by its caller (serial,
// realm) and request_id, whether it was answered and with what, so a retry is answered from here
// instead of running twice. Bounded: the oldest entry makes room for a new one.
//
// Layout: a ring of slots in insertion order (grown lazily up to the limit, then recycled oldest
// first, strings keeping their capacity) and an open-addressing index of slot numbers (power-of-two
// size, linear probing, backward-shift deletion). Each index bucket carries 32 bits of the key's
// hash, so a probe rarely touches a slot that is not the one sought. No allocation per request once
// the ring has filled.
//
// Answers are bounded in bytes as well as in number: 65,536 remembered answers of 1 MiB each would
// hold 64 GiB. An answer bigger than `answer_at_most` is not kept, and while the answers held
// (string capacity, counted per slot) exceed `answer_budget` the oldest are let go. An entry whose
// answer went stays: a retry is told the answer is gone rather than run a second time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actr/runtime/node.hpp"

namespace actr::detail {

struct PeerLink;

class ReplyCache {
 public:
  /// `limit`: how many requests are remembered (at least 1, less than 2^31). `answer_budget`: the
  /// bytes all kept answers may hold together; `answer_at_most`: the bytes one may hold.
  explicit ReplyCache(std::size_t limit = DuplicateFilterLimits{}.requests,
                      std::size_t answer_budget = DuplicateFilterLimits{}.answer_bytes,
                      std::size_t answer_at_most = DuplicateFilterLimits{}.answer_at_most);
  explicit ReplyCache(const DuplicateFilterLimits& limits)
      : ReplyCache(limits.requests, limits.answer_bytes, limits.answer_at_most) {}

  struct Entry {
    bool answered = false;
    bool answer_dropped = false;                   // answered, but `response` was not kept
    std::string response;                          // the encoded RESPONSE once answered
    std::vector<std::weak_ptr<PeerLink>> waiters;  // repeats that arrived while it ran
  };

  /// The entry for (serial, realm, request_id), or nullptr. Pointers into the cache stay valid
  /// until the next try_add() or erase().
  Entry* find(std::uint64_t serial, std::uint32_t realm, std::string_view request_id);
  /// A fresh (unanswered, no waiters) entry, evicting the oldest when the ring is full; or, with
  /// `false`, the entry already there.
  /// `place` (optional) receives the entry's place in the ring, for at().
  std::pair<Entry*, bool> try_add(std::uint64_t serial, std::uint32_t realm, std::string_view request_id,
                                  std::uint32_t* place = nullptr);
  /// The entry try_add() put at `place`, if that place still holds this key (the ring may have
  /// recycled it since): find() without hashing or probing.
  Entry* at(std::uint32_t place, std::uint64_t serial, std::uint32_t realm, std::string_view request_id);
  /// Call once the answer at `place` (from try_add) is written to its `response` and sent: marks
  /// it answered and counts its bytes, letting it go if it is too big and the oldest answers go
  /// while over the budget.
  void settle(std::uint32_t place);
  /// Forgets an entry (a request refused before it ran, so its retry is admitted). Its place in
  /// the ring stays taken until eviction comes round to it, as the old deque's did.
  void erase(std::uint64_t serial, std::uint32_t realm, std::string_view request_id);

  /// Live entries (at most the limit).
  std::size_t size() const { return live_; }
  std::size_t limit() const { return limit_; }
  /// Heap bytes the answers hold now (their strings' capacity: kept answers and recycled buffers).
  std::size_t answer_bytes() const { return held_; }

 private:
  static constexpr std::uint32_t kEmpty = UINT32_MAX;
  struct Bucket {
    std::uint32_t slot = kEmpty;  // index into slots_
    std::uint32_t tag = 0;        // low 32 bits of the key's hash; tag & mask_ is its home bucket
  };
  struct Slot {
    std::uint64_t serial = 0;
    std::uint32_t realm = 0;
    std::uint32_t tag = 0;
    bool live = false;  // false: erased, its ring place waiting to be recycled
    std::string request_id;
    Entry entry;
    std::size_t counted = 0;  // entry.response's heap capacity as held_ last counted it
  };
  struct Probe {
    std::size_t bucket;  // where the key is, or the empty bucket that ends its probe sequence
    bool found;
  };

  Probe probe(std::uint32_t tag, std::uint64_t serial, std::uint32_t realm, std::string_view id) const;
  /// The ring slot a new entry goes in: a new one while growing, else the oldest (unindexed).
  std::uint32_t take_slot();
  /// Removes index_[bucket], shifting later members of its probe run back (no tombstones).
  void unlink(std::size_t bucket);
  void rehash(std::size_t buckets);
  /// Clears a slot's entry (a small buffer stays for reuse) and recounts its bytes.
  void reset(Slot& slot);
  /// Frees the answer buffer of `slot` (its entry, if answered, becomes answer_dropped).
  void drop_answer(Slot& slot);
  void recount(Slot& slot);

  std::size_t limit_;
  std::size_t answer_budget_;
  std::size_t answer_at_most_;
  std::size_t held_ = 0;
  // Slots are taken in a fixed order: the t-th take_slot() returns t % limit_. Answers of takes
  // before drop_from_ were let go for the budget already, so each over-budget walk starts there.
  std::uint64_t taken_ = 0;
  std::uint64_t drop_from_ = 0;
  std::size_t live_ = 0;
  std::size_t mask_ = 0;    // index_.size() - 1
  std::uint32_t next_ = 0;  // the oldest ring place, once the ring is full
  std::vector<Slot> slots_;
  std::vector<Bucket> index_;
};

/// The hash the cache keys by: a 64-bit mix of every byte of `request_id`, its length, the serial
/// and the realm. Exposed for tests.
std::uint64_t reply_cache_hash(std::uint64_t serial, std::uint32_t realm, std::string_view request_id);

}  // namespace actr::detail
