// The key table in SQLite (`api_keys`, in the file `auth.keys_db` names; by default the decision
// store's file). Used by `switchboard keys`, by the admin API and by the gateway's key registry
// (access/service.h), each through its own KeyStore (its own connection).
//
// Every call is blocking SQLite I/O (busy timeout 2 s): never call it on an event loop. A KeyStore
// is not thread-safe; open one per thread.
//
// Schema: api_keys(id PK, name, team, hash UNIQUE, prefix, allow JSON, limits JSON, created_ms,
// revoked_ms, updated_ms); names are unique among active keys (a partial unique index), so a name
// of a revoked key may be used again. usage(hour, key name, key_id, team, route, model, sums) is
// the meter's (access/meter.h); rows are kept per key id, so a key re-created under a revoked
// key's name starts its budgets from zero.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "access/key.h"
#include "switchboard/result.h"

struct sqlite3;

namespace switchboard::access {

struct CreatedKey {
  Key key;
  std::string secret;  // shown once; not stored
};

class KeyStore {
 public:
  // Opens (creating if needed) `path` and the api_keys and usage tables. Errors: kInternal
  // "store_error" with SQLite's message.
  static Result<std::unique_ptr<KeyStore>> open(const std::string& path);
  ~KeyStore();

  // Validates `spec` (access::validate), makes a secret and stores its hash. Errors:
  // invalid_key_spec (400), key_exists (409-ish, kBadRequest) when an active key has the name.
  Result<CreatedKey> create(const KeySpec& spec);
  // Every key, oldest first; revoked ones too when `include_revoked`.
  Result<std::vector<Key>> list(bool include_revoked = false);
  // Revokes the active key with this id, else the one with this name (names cannot begin with
  // "key_" as ids do, but an older database may hold one), in one write transaction (concurrent
  // revokes wait for each other). Errors: key_not_found (kNotFound).
  Result<Key> revoke(const std::string& name_or_id);
  // A number that changes whenever a key is created or revoked (by any process): the registry
  // reloads when it does.
  Result<std::int64_t> version();
  sqlite3* db() const { return db_; }  // for the meter's queries in the same file

 private:
  KeyStore() = default;
  Result<Key> revoke_in_transaction(const std::string& name_or_id);  // within BEGIN IMMEDIATE
  sqlite3* db_ = nullptr;
};

}  // namespace switchboard::access
