#include "keys.hpp"

#include <sodium.h>

#include "util.hpp"

namespace actr::signal {

Result<void> KeyStore::load() {
  auto rows = store_.load_keys();
  if (!rows) return std::unexpected(rows.error());
  for (auto& row : *rows) {
    if (row.retired_at == 0) current_ = row.key_id;
    keys_[row.key_id] = std::move(row);
  }
  if (current_ == 0) {
    auto id = create(unix_now());
    if (!id) return std::unexpected(id.error());
  }
  return {};
}

Result<std::uint32_t> KeyStore::create(std::uint64_t now) {
  KeyRow row;
  row.key_id = keys_.empty() ? 1 : keys_.rbegin()->first + 1;
  row.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  row.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(row.public_key.data()),
                      reinterpret_cast<unsigned char*>(row.secret_key.data()));
  row.created_at = now;
  if (auto r = store_.insert_key(row); !r) return std::unexpected(r.error());
  current_ = row.key_id;
  keys_[row.key_id] = std::move(row);
  return current_;
}

Result<std::uint32_t> KeyStore::rotate() {
  auto now = unix_now();
  auto old = current_;
  if (auto r = store_.retire_key(old, now); !r) return std::unexpected(r.error());
  keys_[old].retired_at = now;
  return create(now);
}

std::string KeyStore::sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(keys_.at(current_).secret_key.data()));
  return sig;
}

KeyStore::KeyState KeyStore::state(std::uint32_t key_id, std::uint64_t now) const {
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return KeyState::Unknown;
  if (it->second.retired_at == 0) return KeyState::Current;
  return now < it->second.retired_at + tolerance_secs_ ? KeyState::Tolerated : KeyState::Unknown;
}

const std::string* KeyStore::public_key(std::uint32_t key_id, std::uint64_t now) const {
  if (state(key_id, now) == KeyState::Unknown) return nullptr;
  return &keys_.at(key_id).public_key;
}

bool KeyStore::verify(std::uint32_t key_id, std::string_view message, std::string_view signature,
                      std::uint64_t now) const {
  const std::string* pk = public_key(key_id, now);
  if (!pk || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(pk->data())) == 0;
}

}  // namespace actr::signal
