// Small helpers shared by the store's SQLite tables: one prepared statement with typed binds and
// column reads, and the store's error for a failed SQLite call.
//
// Contract: a Statement whose SQL failed to prepare is false (operator bool) and every bind or
// step on it fails with SQLITE_MISUSE (SQLite accepts a null statement), so callers check the step.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::store {

inline Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::kInternal, "store_error",
                    what + ": " + (db ? sqlite3_errmsg(db) : "cannot allocate"));
}

// Opens (creating) the SQLite file `path` into `*db` for one thread at a time (the caller
// serialises: SQLITE_OPEN_NOMUTEX), with a 5 s busy timeout, and runs `schema`. `what` names the
// tables in the error ("the feedback tables"). On error `*db` may be set: the caller closes it.
inline Result<bool> open_database(const std::string& path, const char* schema,
                                  const std::string& what, sqlite3** db) {
  if (sqlite3_open_v2(path.c_str(), db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return sqlite_error(*db, "opening " + path);
  sqlite3_busy_timeout(*db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(*db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating " + what + " in " + path + ": " + msg);
  }
  return true;
}

// "" when `table` has every one of `columns` (comma-separated), else why not: a table of that
// name left by another program (or a future version) passes CREATE TABLE IF NOT EXISTS and would
// fail every later write; refused at open instead.
inline std::string check_columns(sqlite3* db, const std::string& table, const std::string& columns) {
  const std::string sql = "SELECT " + columns + " FROM " + table + " LIMIT 0";
  sqlite3_stmt* s = nullptr;
  const bool ok = sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK;
  std::string why = ok ? "" : "table '" + table + "' has another shape (" + sqlite3_errmsg(db) +
                                  "): made by another program? use another file";
  sqlite3_finalize(s);
  return why;
}

struct Statement {
  sqlite3_stmt* s = nullptr;
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      s = nullptr;
    }
  }
  ~Statement() { sqlite3_finalize(s); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  explicit operator bool() const { return s != nullptr; }

  void text(int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
  void real(int i, const std::optional<double>& v) {
    if (v)
      sqlite3_bind_double(s, i, *v);
    else
      sqlite3_bind_null(s, i);
  }
  std::string col_text(int i) {
    const auto* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
  }
  std::int64_t col_int(int i) { return sqlite3_column_int64(s, i); }
  std::optional<double> col_real(int i) {
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(s, i);
  }
};

}  // namespace switchboard::store
