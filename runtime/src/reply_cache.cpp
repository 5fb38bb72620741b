#include "reply_cache.hpp"

#include <algorithm>
#include <cstring>

namespace actr::detail {

namespace {

// A string kept past this capacity in a recycled slot would pin memory for as long as the slot
// lives; smaller ones are reused so that steady traffic does not allocate.
constexpr std::size_t kKeepCapacity = 4096;
// A string's own (short-string) buffer is part of its slot: only heap bytes count as held.
constexpr std::size_t kInlineCapacity = std::string().capacity();
constexpr std::size_t kMinBuckets = 16;
constexpr std::size_t kMinSlots = 16;

// wyhash's constants and its folded multiply: one 64x64→128 multiply mixes two words well.
constexpr std::uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;

__extension__ using U128 = unsigned __int128;

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  const U128 product = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void trim(std::string& s) {
  if (s.capacity() > kKeepCapacity) std::string().swap(s);
  s.clear();
}

}  // namespace

std::uint64_t reply_cache_hash(std::uint64_t serial, std::uint32_t realm, std::string_view request_id) {
  const char* p = request_id.data();
  std::size_t n = request_id.size();
  std::uint64_t h = mix(serial ^ kP0, ((std::uint64_t{realm} << 32) | (n & 0xffffffffU)) ^ kP1);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n <= 16) {
    // Overlapping loads cover every byte of short ids without a loop (the length is in h).
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = (std::uint64_t{static_cast<unsigned char>(p[0])} << 16) |
          (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) | static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    for (; n > 16; n -= 16, p += 16) h = mix(load64(p) ^ kP2, load64(p + 8) ^ h);
    // The last (possibly overlapping) 16 bytes: still inside the id, as it was longer than 16.
    a = load64(p + n - 16);
    b = load64(p + n - 8);
  }
  // Two multiplies, as wyhash ends: the first alone leaves its low bits an arithmetic progression
  // in the id's last characters (the varying sequence digits), and linear probing then meets long
  // runs for unlucky prefixes. Mixing the product's halves again spreads every input bit.
  const U128 product = static_cast<U128>(a ^ kP2) * (b ^ h);
  return mix(static_cast<std::uint64_t>(product) ^ kP0, static_cast<std::uint64_t>(product >> 64) ^ kP1);
}

ReplyCache::ReplyCache(std::size_t limit, std::size_t answer_budget, std::size_t answer_at_most)
    : limit_(std::clamp<std::size_t>(limit, 1, INT32_MAX)),
      answer_budget_(answer_budget),
      answer_at_most_(std::min(answer_at_most, answer_budget)) {}

ReplyCache::Probe ReplyCache::probe(std::uint32_t tag, std::uint64_t serial, std::uint32_t realm,
                                    std::string_view id) const {
  for (std::size_t b = tag & mask_;; b = (b + 1) & mask_) {
    const Bucket& bucket = index_[b];
    if (bucket.slot == kEmpty) return {b, false};
    if (bucket.tag != tag) continue;  // most mismatches end here, without touching the slot
    const Slot& slot = slots_[bucket.slot];
    if (slot.serial == serial && slot.realm == realm && slot.request_id == id) return {b, true};
  }
}

ReplyCache::Entry* ReplyCache::find(std::uint64_t serial, std::uint32_t realm, std::string_view request_id) {
  if (live_ == 0) return nullptr;
  const auto tag = static_cast<std::uint32_t>(reply_cache_hash(serial, realm, request_id));
  const Probe at = probe(tag, serial, realm, request_id);
  return at.found ? &slots_[index_[at.bucket].slot].entry : nullptr;
}

ReplyCache::Entry* ReplyCache::at(std::uint32_t place, std::uint64_t serial, std::uint32_t realm,
                                  std::string_view request_id) {
  if (place >= slots_.size()) return nullptr;
  Slot& slot = slots_[place];
  const bool same =
      slot.live && slot.serial == serial && slot.realm == realm && slot.request_id == request_id;
  return same ? &slot.entry : nullptr;
}

std::pair<ReplyCache::Entry*, bool> ReplyCache::try_add(std::uint64_t serial, std::uint32_t realm,
                                                        std::string_view request_id, std::uint32_t* place) {
  const auto tag = static_cast<std::uint32_t>(reply_cache_hash(serial, realm, request_id));
  if (index_.empty()) rehash(kMinBuckets);
  if (const Probe found = probe(tag, serial, realm, request_id); found.found) {
    if (place) *place = index_[found.bucket].slot;
    return {&slots_[index_[found.bucket].slot].entry, false};
  }
  const std::uint32_t s = take_slot();
  // At most 3/4 full keeps probe runs short; at the default limit the index settles at 2^17.
  if ((live_ + 1) * 4 > index_.size() * 3) rehash(index_.size() * 2);
  // The eviction (or a rehash) may have opened an earlier hole in this key's run, so look for
  // the first empty bucket again: index words only, no slot is compared.
  std::size_t b = tag & mask_;
  while (index_[b].slot != kEmpty) b = (b + 1) & mask_;
  index_[b] = Bucket{s, tag};

  Slot& slot = slots_[s];
  slot.serial = serial;
  slot.realm = realm;
  slot.tag = tag;
  slot.live = true;
  slot.request_id.assign(request_id);  // within the recycled capacity: no allocation
  ++live_;
  if (place) *place = s;
  return {&slot.entry, true};
}

void ReplyCache::erase(std::uint64_t serial, std::uint32_t realm, std::string_view request_id) {
  if (live_ == 0) return;
  const auto tag = static_cast<std::uint32_t>(reply_cache_hash(serial, realm, request_id));
  const Probe at = probe(tag, serial, realm, request_id);
  if (!at.found) return;
  Slot& slot = slots_[index_[at.bucket].slot];
  slot.live = false;  // keeps its ring place; take_slot() recycles it in turn
  reset(slot);        // drops the waiters now, not when the slot comes round
  unlink(at.bucket);
  --live_;
}

void ReplyCache::settle(std::uint32_t place) {
  if (place >= slots_.size()) return;
  Slot& slot = slots_[place];
  slot.entry.answered = true;
  if (slot.entry.response.capacity() > answer_at_most_) {
    drop_answer(slot);
  } else {
    recount(slot);
  }
  while (held_ > answer_budget_ && drop_from_ < taken_) {
    // Takes older than the ring's size have been recycled since: their slots hold newer entries.
    const std::uint64_t t = std::max<std::uint64_t>(drop_from_, taken_ - slots_.size());
    Slot& oldest = slots_[t % limit_];
    // A request still running may be writing its answer into this buffer right now, further up
    // the stack (Peers::reply): leave it. Its answer is counted when it settles.
    if (!oldest.live || oldest.entry.answered) drop_answer(oldest);
    drop_from_ = t + 1;
  }
}

void ReplyCache::drop_answer(Slot& slot) {
  std::string().swap(slot.entry.response);
  if (slot.entry.answered) slot.entry.answer_dropped = true;
  recount(slot);
}

void ReplyCache::recount(Slot& slot) {
  const std::size_t capacity = slot.entry.response.capacity();
  const std::size_t now = capacity > kInlineCapacity ? capacity : 0;
  held_ = held_ - slot.counted + now;
  slot.counted = now;
}

std::uint32_t ReplyCache::take_slot() {
  ++taken_;
  if (slots_.size() < limit_) {
    // Grow geometrically, but never past the limit (a plain push_back could double past it).
    if (slots_.size() == slots_.capacity()) {
      slots_.reserve(std::min(limit_, std::max(kMinSlots, slots_.capacity() * 2)));
    }
    slots_.emplace_back();
    return static_cast<std::uint32_t>(slots_.size() - 1);
  }
  const std::uint32_t s = next_;
  next_ = next_ + 1 == limit_ ? 0 : next_ + 1;
  Slot& oldest = slots_[s];
  if (oldest.live) {
    std::size_t b = oldest.tag & mask_;
    while (index_[b].slot != s) b = (b + 1) & mask_;  // by slot number: no string compare
    unlink(b);
    oldest.live = false;
    --live_;
  }
  trim(oldest.request_id);
  reset(oldest);
  return s;
}

void ReplyCache::unlink(std::size_t hole) {
  for (std::size_t b = (hole + 1) & mask_; index_[b].slot != kEmpty; b = (b + 1) & mask_) {
    // index_[b] may move back into the hole unless its home lies cyclically in (hole, b].
    const std::size_t home = index_[b].tag & mask_;
    if (((b - home) & mask_) >= ((b - hole) & mask_)) {
      index_[hole] = index_[b];
      hole = b;
    }
  }
  index_[hole] = Bucket{};
}

void ReplyCache::rehash(std::size_t buckets) {
  index_.assign(buckets, Bucket{});
  mask_ = buckets - 1;
  for (std::size_t s = 0; s < slots_.size(); ++s) {
    if (!slots_[s].live) continue;
    std::size_t b = slots_[s].tag & mask_;
    while (index_[b].slot != kEmpty) b = (b + 1) & mask_;
    index_[b] = Bucket{static_cast<std::uint32_t>(s), slots_[s].tag};
  }
}

void ReplyCache::reset(Slot& slot) {
  Entry& entry = slot.entry;
  entry.answered = false;
  entry.answer_dropped = false;
  trim(entry.response);
  entry.waiters.clear();
  if (entry.waiters.capacity() > 64) std::vector<std::weak_ptr<PeerLink>>().swap(entry.waiters);
  recount(slot);
}

}  // namespace actr::detail
