#pragma once
// SQLite state that must survive a restart: realms, the serial-number high-water mark, signing
// keys, and registrations (renewal-token hash + the original request, so a node can renew and
// reconnect after a restart). Nothing here is touched per signaling message.
//
// Registration writes are batched (write-behind, one transaction per flush) so registration
// throughput is not bounded by commit latency; serial blocks are reserved synchronously, so a
// crash can never hand out a serial twice.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::signal {

struct RealmRow {
  std::uint32_t id = 0;
  std::string secret;
  std::string previous_secret;
  std::uint64_t previous_until = 0;  // unix seconds; the previous secret is accepted until then
  bool enabled = true;
};

struct KeyRow {
  std::uint32_t key_id = 0;
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes (libsodium form)
  std::uint64_t created_at = 0;
  std::uint64_t retired_at = 0;  // 0 = current
};

struct RegistrationRow {
  std::string actor_id;  // ActrId text form
  std::string token_hash;
  std::uint64_t token_expires_at = 0;
  std::string request;  // encoded RegisterRequest
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& data_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::optional<std::string> get_meta(const std::string& key);
  Result<void> set_meta(const std::string& key, const std::string& value);

  /// Reserves `count` serial numbers and returns the first; persisted before it returns.
  Result<std::uint64_t> reserve_serials(std::uint64_t count);

  Result<std::vector<RealmRow>> load_realms();
  Result<void> upsert_realm(const RealmRow& row);

  Result<std::vector<KeyRow>> load_keys();
  Result<void> insert_key(const KeyRow& row);
  Result<void> retire_key(std::uint32_t key_id, std::uint64_t at);

  void queue_registration(RegistrationRow row);
  void queue_unregistration(std::string actor_id);
  std::optional<RegistrationRow> load_registration(const std::string& actor_id);
  std::size_t pending() const { return pending_.size(); }
  /// Writes queued registration changes in one transaction.
  Result<void> flush();
  Result<void> prune_registrations(std::uint64_t now);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql);
  Result<void> error(std::string_view what);

  struct Pending {
    bool erase = false;
    RegistrationRow row;
  };
  sqlite3* db_ = nullptr;
  std::vector<Pending> pending_;
};

}  // namespace actr::signal
