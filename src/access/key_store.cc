#include "access/key_store.h"
#include "core/wall_clock.h"

#include <sqlite3.h>

#include <chrono>
#include <optional>

namespace switchboard::access {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL, team TEXT NOT NULL DEFAULT '',
  hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
  allow TEXT NOT NULL, limits TEXT NOT NULL,
  created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys(name) WHERE revoked_ms = 0;
CREATE TABLE IF NOT EXISTS usage (
  hour TEXT NOT NULL, key TEXT NOT NULL, key_id TEXT NOT NULL DEFAULT '', team TEXT NOT NULL,
  route TEXT NOT NULL, model TEXT NOT NULL, requests INTEGER NOT NULL, refused INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
  PRIMARY KEY (hour, key, key_id, team, route, model)
) WITHOUT ROWID;
)sql";

constexpr int kBusyTimeoutMs = 2000;

// A usage table made before rows carried the key's id (session 22) is rebuilt with the column
// (its rows get key_id ''), in one transaction; a no-op when the column is there.
constexpr const char* kAddKeyIdToUsage = R"sql(
CREATE TABLE usage_with_key_id (
  hour TEXT NOT NULL, key TEXT NOT NULL, key_id TEXT NOT NULL DEFAULT '', team TEXT NOT NULL,
  route TEXT NOT NULL, model TEXT NOT NULL, requests INTEGER NOT NULL, refused INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
  PRIMARY KEY (hour, key, key_id, team, route, model)
) WITHOUT ROWID;
INSERT INTO usage_with_key_id (hour,key,key_id,team,route,model,requests,refused,prompt_tokens,
  completion_tokens,cost_usd)
  SELECT hour,key,'',team,route,model,requests,refused,prompt_tokens,completion_tokens,cost_usd
  FROM usage;
DROP TABLE usage;
ALTER TABLE usage_with_key_id RENAME TO usage;
)sql";

constexpr const char* kColumns =
    "id,name,team,hash,prefix,allow,limits,created_ms,revoked_ms FROM api_keys";

// updated_ms of a change: its time, but always above every earlier change's, so that two changes
// within one millisecond still move version() (a create and a revoke in the same ms did not).
#define kNextUpdate "max(?, (SELECT coalesce(max(updated_ms), 0) + 1 FROM api_keys))"

Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::kInternal, "store_error",
                    what + ": " + (db ? sqlite3_errmsg(db) : "cannot allocate"));
}

std::string text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

// Whether the usage table has the key_id column (PRAGMA table_info; nullopt when it cannot be
// read, so that a failed read never passes for "missing" and rebuilds a migrated table).
std::optional<bool> usage_has_key_id(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('usage')", -1, &s, nullptr) !=
      SQLITE_OK)
    return std::nullopt;
  bool has = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    has |= text(s, 0) == "key_id";
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return std::nullopt;
  return has;
}

// Adds key_id to an older usage table, under the write lock (another process opening the same
// file may have done it meanwhile: checked again inside the transaction). "" or SQLite's message.
std::string add_key_id_to_usage(sqlite3* db) {
  char* err = nullptr;
  // The rebuild of a large table takes a while: other processes opening the file wait for it.
  sqlite3_busy_timeout(db, 60'000);
  bool ok = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &err) == SQLITE_OK;
  std::optional<bool> has = ok ? usage_has_key_id(db) : std::nullopt;
  ok = ok && has;
  if (ok && !*has) ok = sqlite3_exec(db, kAddKeyIdToUsage, nullptr, nullptr, &err) == SQLITE_OK;
  ok = ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, &err) == SQLITE_OK;
  std::string msg;
  if (!ok) {
    msg = err ? err : sqlite3_errmsg(db);
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  sqlite3_free(err);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return msg;
}

Key read_key(sqlite3_stmt* s) {
  Key k;
  k.id = text(s, 0);
  k.name = text(s, 1);
  k.team = text(s, 2);
  k.hash = text(s, 3);
  k.prefix = text(s, 4);
  auto allow = permissions_from_json(nlohmann::json::parse(text(s, 5), nullptr, false));
  auto limits = limits_from_json(nlohmann::json::parse(text(s, 6), nullptr, false));
  k.created_ms = sqlite3_column_int64(s, 7);
  k.revoked_ms = sqlite3_column_int64(s, 8);
  if (allow) k.allow = std::move(*allow);
  if (limits) k.limits = *limits;
  // A row edited by hand or written by another tool: served without its permissions or limits it
  // would be unbounded, so it is refused until it is revoked and issued again.
  if (!allow || !limits)
    k.refused = std::string("its stored ") + (!allow ? "permissions" : "limits") +
                " cannot be read; revoke it and issue a new key";
  return k;
}

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::open(const std::string& path) {
  std::unique_ptr<KeyStore> ks(new KeyStore());
  if (sqlite3_open_v2(path.c_str(), &ks->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return sqlite_error(ks->db_, "opening " + path);
  sqlite3_busy_timeout(ks->db_, kBusyTimeoutMs);
  char* err = nullptr;
  if (sqlite3_exec(ks->db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating the key tables in " + path + ": " + msg);
  }
  if (usage_has_key_id(ks->db_) != std::optional<bool>(true)) {
    const std::string msg = add_key_id_to_usage(ks->db_);
    if (!msg.empty())
      return make_error(ErrorKind::kInternal, "store_error",
                        "adding key_id to the usage table in " + path + ": " + msg);
  }
  return ks;
}

KeyStore::~KeyStore() {
  sqlite3_close_v2(db_);
}

Result<CreatedKey> KeyStore::create(const KeySpec& spec) {
  if (auto bad = validate(spec)) return *bad;
  CreatedKey out;
  out.secret = generate_secret();
  Key& k = out.key;
  k.id = generate_key_id();
  k.name = spec.name;
  k.team = spec.team;
  k.hash = hash_secret(out.secret);
  k.prefix = out.secret.substr(0, 12);
  k.allow = spec.allow;
  k.limits = spec.limits;
  k.created_ms = unix_ms();
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO api_keys (id,name,team,hash,prefix,allow,limits,created_ms,"
                         "revoked_ms,updated_ms) VALUES (?,?,?,?,?,?,?,?,0," kNextUpdate ")",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "preparing the key insert");
  const std::string allow = permissions_json(k.allow).dump(), limits = limits_json(k.limits).dump();
  int i = 0;
  for (const std::string* s : std::initializer_list<const std::string*>{
           &k.id, &k.name, &k.team, &k.hash, &k.prefix, &allow, &limits})
    sqlite3_bind_text(st.s, ++i, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.s, ++i, k.created_ms);
  sqlite3_bind_int64(st.s, ++i, k.created_ms);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_CONSTRAINT)
    return make_error(ErrorKind::kBadRequest, "key_exists",
                      "an active key named '" + k.name + "' exists (revoke it first)");
  if (rc != SQLITE_DONE) return sqlite_error(db_, "storing the key");
  return out;
}

Result<std::vector<Key>> KeyStore::list(bool include_revoked) {
  const std::string sql = std::string("SELECT ") + kColumns +
                          (include_revoked ? "" : " WHERE revoked_ms = 0") +
                          " ORDER BY created_ms, id";
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "listing keys");
  std::vector<Key> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) out.push_back(read_key(st.s));
  if (rc != SQLITE_DONE) return sqlite_error(db_, "listing keys");
  return out;
}

Result<Key> KeyStore::revoke(const std::string& name_or_id) {
  // Found and updated in one write transaction, taken before the read: a read transaction that
  // then writes fails at once with SQLITE_BUSY when another connection wrote meanwhile (the busy
  // timeout does not apply), and concurrent revokes (admin API, CLI) left keys active.
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "revoking the key");
  auto revoked = revoke_in_transaction(name_or_id);
  if (!revoked || sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Result<Key> failed = revoked ? sqlite_error(db_, "revoking the key") : revoked;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return failed;
  }
  return revoked;
}

Result<Key> KeyStore::revoke_in_transaction(const std::string& name_or_id) {
  const std::string sql =
      std::string("SELECT ") + kColumns +
      " WHERE revoked_ms = 0 AND (name = ?1 OR id = ?1) ORDER BY id = ?1 DESC LIMIT 1";
  Stmt find;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &find.s, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "finding the key");
  sqlite3_bind_text(find.s, 1, name_or_id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(find.s) != SQLITE_ROW)
    return make_error(ErrorKind::kNotFound, "key_not_found",
                      "no active key named or with id '" + name_or_id + "'");
  Key k = read_key(find.s);
  sqlite3_reset(find.s);
  k.revoked_ms = unix_ms();
  Stmt up;
  if (sqlite3_prepare_v2(
          db_, "UPDATE api_keys SET revoked_ms = ?, updated_ms = " kNextUpdate " WHERE id = ?", -1,
          &up.s, nullptr) != SQLITE_OK)
    return sqlite_error(db_, "revoking the key");
  sqlite3_bind_int64(up.s, 1, k.revoked_ms);
  sqlite3_bind_int64(up.s, 2, k.revoked_ms);
  sqlite3_bind_text(up.s, 3, k.id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(up.s) != SQLITE_DONE) return sqlite_error(db_, "revoking the key");
  return k;
}

Result<std::int64_t> KeyStore::version() {
  Stmt st;
  if (sqlite3_prepare_v2(db_, "SELECT count(*), coalesce(max(updated_ms), 0) FROM api_keys", -1,
                         &st.s, nullptr) != SQLITE_OK ||
      sqlite3_step(st.s) != SQLITE_ROW)
    return sqlite_error(db_, "reading the key table's version");
  // Creating adds a row; revoking moves max(updated_ms). Both change this sum.
  return sqlite3_column_int64(st.s, 0) * 1'000'003 + sqlite3_column_int64(st.s, 1);
}

}  // namespace switchboard::access
