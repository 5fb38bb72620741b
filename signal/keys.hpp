#pragma once
// Ed25519 signing keys (libsodium): the current key signs new credentials; a rotated-out key
// still verifies for a tolerance period, so nodes have time to renew.

#include <cstdint>
#include <map>
#include <string>

#include "actr/protocol/error.hpp"
#include "store.hpp"

namespace actr::signal {

class KeyStore {
 public:
  KeyStore(Store& store, std::uint64_t tolerance_secs) : store_(store), tolerance_secs_(tolerance_secs) {}

  /// Loads keys from the store; creates the first key if there is none.
  Result<void> load();
  /// Retires the current key (still valid for the tolerance period) and makes a new one current.
  Result<std::uint32_t> rotate();

  std::uint32_t current_id() const { return current_; }
  const std::string& current_public() const { return keys_.at(current_).public_key; }
  std::uint64_t current_created_at() const { return keys_.at(current_).created_at; }
  std::string sign(std::string_view message) const;

  enum class KeyState { Current, Tolerated, Unknown };
  /// Current, in tolerance, or unknown/expired (unknown = not to be trusted).
  KeyState state(std::uint32_t key_id, std::uint64_t now) const;
  bool verify(std::uint32_t key_id, std::string_view message, std::string_view signature,
              std::uint64_t now) const;
  /// The public key of a key that is still valid.
  const std::string* public_key(std::uint32_t key_id, std::uint64_t now) const;

 private:
  Result<std::uint32_t> create(std::uint64_t now);

  Store& store_;
  std::uint64_t tolerance_secs_;
  std::map<std::uint32_t, KeyRow> keys_;
  std::uint32_t current_ = 0;
};

}  // namespace actr::signal
