#include "store.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace actr::signal {
namespace {

// One prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind_text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t i64(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string str(int col) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS realms(
  id INTEGER PRIMARY KEY, secret TEXT NOT NULL, previous_secret TEXT NOT NULL DEFAULT '',
  previous_until INTEGER NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS signing_keys(
  key_id INTEGER PRIMARY KEY, public_key BLOB NOT NULL, secret_key BLOB NOT NULL,
  created_at INTEGER NOT NULL, retired_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS registrations(
  actor_id TEXT PRIMARY KEY, token_hash BLOB NOT NULL, token_expires_at INTEGER NOT NULL,
  request BLOB NOT NULL);
)sql";

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return fail(ErrorCode::Internal, fmt::format("cannot create data dir '{}': {}", data_dir, ec.message()));
  auto path = (std::filesystem::path(data_dir) / "actr-signal.sqlite3").string();
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fail(ErrorCode::Internal, fmt::format("cannot open '{}': {}", path, msg));
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               ec);  // holds signing keys and realm secrets
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;", kSchema}) {
    if (auto r = store->exec(sql); !r) return std::unexpected(r.error());
  }
  return store;
}

Store::~Store() {
  (void)flush();
  sqlite3_close(db_);
}

Result<void> Store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "unknown";
    sqlite3_free(msg);
    return fail(ErrorCode::Internal, fmt::format("sqlite: {}", text));
  }
  return {};
}

Result<void> Store::error(std::string_view what) {
  return fail(ErrorCode::Internal, fmt::format("sqlite {}: {}", what, sqlite3_errmsg(db_)));
}

std::optional<std::string> Store::get_meta(const std::string& key) {
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?");
  s.bind_text(1, key);
  if (s.step() == SQLITE_ROW) return s.str(0);
  return std::nullopt;
}

Result<void> Store::set_meta(const std::string& key, const std::string& value) {
  Stmt s(db_,
         "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.bind_text(1, key).bind_text(2, value);
  if (s.step() != SQLITE_DONE) return error("set_meta");
  return {};
}

Result<std::uint64_t> Store::reserve_serials(std::uint64_t count) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  std::uint64_t first = 1;
  if (auto v = get_meta("serial_reserved")) first = std::stoull(*v);
  auto r = set_meta("serial_reserved", std::to_string(first + count));
  if (!r) {
    (void)exec("ROLLBACK");
    return std::unexpected(r.error());
  }
  if (auto c = exec("COMMIT"); !c) return std::unexpected(c.error());
  return first;
}

Result<std::vector<RealmRow>> Store::load_realms() {
  Stmt s(db_, "SELECT id, secret, previous_secret, previous_until, enabled FROM realms ORDER BY id");
  std::vector<RealmRow> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back({static_cast<std::uint32_t>(s.i64(0)), s.str(1), s.str(2),
                   static_cast<std::uint64_t>(s.i64(3)), s.i64(4) != 0});
  }
  return out;
}

Result<void> Store::upsert_realm(const RealmRow& row) {
  Stmt s(
      db_,
      "INSERT INTO realms(id, secret, previous_secret, previous_until, enabled) VALUES(?, ?, ?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET secret = excluded.secret, previous_secret = excluded.previous_secret, "
      "previous_until = excluded.previous_until, enabled = excluded.enabled");
  s.bind(1, row.id).bind_text(2, row.secret).bind_text(3, row.previous_secret);
  s.bind(4, static_cast<std::int64_t>(row.previous_until)).bind(5, row.enabled ? 1 : 0);
  if (s.step() != SQLITE_DONE) return error("upsert_realm");
  return {};
}

Result<std::vector<KeyRow>> Store::load_keys() {
  Stmt s(db_,
         "SELECT key_id, public_key, secret_key, created_at, retired_at FROM signing_keys ORDER BY key_id");
  std::vector<KeyRow> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back({static_cast<std::uint32_t>(s.i64(0)), s.str(1), s.str(2),
                   static_cast<std::uint64_t>(s.i64(3)), static_cast<std::uint64_t>(s.i64(4))});
  }
  return out;
}

Result<void> Store::insert_key(const KeyRow& row) {
  Stmt s(
      db_,
      "INSERT INTO signing_keys(key_id, public_key, secret_key, created_at, retired_at) VALUES(?,?,?,?,?)");
  s.bind(1, row.key_id).bind_blob(2, row.public_key).bind_blob(3, row.secret_key);
  s.bind(4, static_cast<std::int64_t>(row.created_at)).bind(5, static_cast<std::int64_t>(row.retired_at));
  if (s.step() != SQLITE_DONE) return error("insert_key");
  return {};
}

Result<void> Store::retire_key(std::uint32_t key_id, std::uint64_t at) {
  Stmt s(db_, "UPDATE signing_keys SET retired_at = ? WHERE key_id = ?");
  s.bind(1, static_cast<std::int64_t>(at)).bind(2, key_id);
  if (s.step() != SQLITE_DONE) return error("retire_key");
  return {};
}

void Store::queue_registration(RegistrationRow row) { pending_.push_back({false, std::move(row)}); }

void Store::queue_unregistration(std::string actor_id) {
  RegistrationRow row;
  row.actor_id = std::move(actor_id);
  pending_.push_back({true, std::move(row)});
}

std::optional<RegistrationRow> Store::load_registration(const std::string& actor_id) {
  (void)flush();  // rare path (after a restart); see queued writes too
  Stmt s(db_, "SELECT actor_id, token_hash, token_expires_at, request FROM registrations WHERE actor_id = ?");
  s.bind_text(1, actor_id);
  if (s.step() != SQLITE_ROW) return std::nullopt;
  return RegistrationRow{s.str(0), s.str(1), static_cast<std::uint64_t>(s.i64(2)), s.str(3)};
}

Result<void> Store::flush() {
  if (pending_.empty()) return {};
  if (auto r = exec("BEGIN"); !r) return r;
  {
    Stmt put(db_,
             "INSERT INTO registrations(actor_id, token_hash, token_expires_at, request) VALUES(?,?,?,?) "
             "ON CONFLICT(actor_id) DO UPDATE SET token_hash = excluded.token_hash, "
             "token_expires_at = excluded.token_expires_at, request = excluded.request");
    Stmt del(db_, "DELETE FROM registrations WHERE actor_id = ?");
    for (auto& p : pending_) {
      Stmt& s = p.erase ? del : put;
      s.bind_text(1, p.row.actor_id);
      if (!p.erase) {
        s.bind_blob(2, p.row.token_hash).bind(3, static_cast<std::int64_t>(p.row.token_expires_at));
        s.bind_blob(4, p.row.request);
      }
      if (s.step() != SQLITE_DONE) {
        auto e = error("flush");
        (void)exec("ROLLBACK");
        return e;
      }
      s.reset();
    }
  }
  pending_.clear();
  return exec("COMMIT");
}

Result<void> Store::prune_registrations(std::uint64_t now) {
  if (auto r = flush(); !r) return r;
  Stmt s(db_, "DELETE FROM registrations WHERE token_expires_at < ?");
  s.bind(1, static_cast<std::int64_t>(now));
  if (s.step() != SQLITE_DONE) return error("prune");
  return {};
}

}  // namespace actr::signal
