#include "store/decision_query.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "store/decision_store.h"

namespace switchboard::store {
namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() { sqlite3_close_v2(db); }
};
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::kInternal, "store_error",
                    what + ": " + (db ? sqlite3_errmsg(db) : "cannot allocate"));
}

std::string text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

bool has_column(sqlite3* db, const char* name) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('decisions')", -1, &st.s,
                         nullptr) != SQLITE_OK)
    return false;
  while (sqlite3_step(st.s) == SQLITE_ROW)
    if (text(st.s, 0) == name) return true;
  return false;
}

}  // namespace

Result<nlohmann::json> search_decisions(const std::string& path, const DecisionQuery& q) {
  Db db;
  if (sqlite3_open_v2(path.c_str(), &db.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    return sqlite_error(db.db, "opening " + path);
  sqlite3_busy_timeout(db.db, 1000);
  const bool has_key = has_column(db.db, "key_name");
  std::string sql =
      "SELECT id,time_ms,route,policy,model,replica,status,outcome,error_code,stream,latency_ms,"
      "cost_usd,prompt_tokens,completion_tokens,cache,reason";
  sql += has_key ? ",key_name" : ",NULL";
  sql += " FROM decisions WHERE 1=1";
  std::vector<std::string> binds;                      // text parameters, in order
  std::vector<std::pair<std::size_t, int>> int_binds;  // (position, value)
  auto add = [&](const char* clause, std::string v) {
    sql += clause;
    binds.push_back(std::move(v));
  };
  if (!q.id.empty()) {
    // A prefix match on the primary key: id >= p AND id < p + '\xff'.
    add(" AND id >= ?", q.id);
    add(" AND id < ?", q.id + "\x7f");
  }
  if (!q.before.empty()) add(" AND id < ?", q.before);
  if (q.since_ms) add(" AND id >= ?", id_prefix(*q.since_ms));
  if (q.until_ms) add(" AND id < ?", id_prefix(*q.until_ms));
  if (!q.route.empty()) add(" AND route = ?", q.route);
  if (!q.model.empty()) add(" AND model = ?", q.model);
  if (!q.outcome.empty()) add(" AND outcome = ?", q.outcome);
  if (!q.key.empty()) {
    if (!has_key) return nlohmann::json{{"data", nlohmann::json::array()}, {"next", nullptr}};
    add(" AND key_name = ?", q.key);
  }
  if (q.status) {
    sql += " AND status = ?";
    binds.push_back(std::to_string(*q.status));
  }
  const int limit = std::clamp(q.limit, 1, 500);
  sql += " ORDER BY id DESC LIMIT " + std::to_string(limit + 1);
  Stmt st;
  if (sqlite3_prepare_v2(db.db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK)
    return sqlite_error(db.db, "searching decisions");
  for (std::size_t i = 0; i < binds.size(); ++i)
    sqlite3_bind_text(st.s, static_cast<int>(i + 1), binds[i].data(),
                      static_cast<int>(binds[i].size()), SQLITE_TRANSIENT);
  if (q.status)  // bound as an integer (the column's affinity)
    sqlite3_bind_int(st.s, static_cast<int>(binds.size()), *q.status);
  auto data = nlohmann::json::array();
  nlohmann::json next = nullptr;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    if (static_cast<int>(data.size()) == limit) {
      next = data.back()["id"];
      break;
    }
    nlohmann::json cache = nullptr;
    if (auto c = nlohmann::json::parse(text(st.s, 14), nullptr, false);
        c.is_object() && c.contains("status"))
      cache = c["status"];
    nlohmann::json row = {{"id", text(st.s, 0)},
                          {"time_ms", sqlite3_column_int64(st.s, 1)},
                          {"route", text(st.s, 2)},
                          {"policy", text(st.s, 3)},
                          {"model", text(st.s, 4)},
                          {"replica", text(st.s, 5)},
                          {"status", sqlite3_column_int(st.s, 6)},
                          {"outcome", text(st.s, 7)},
                          {"error_code", text(st.s, 8)},
                          {"stream", sqlite3_column_int(st.s, 9) != 0},
                          {"latency_ms", sqlite3_column_double(st.s, 10)},
                          {"cost_usd", sqlite3_column_double(st.s, 11)},
                          {"prompt_tokens", sqlite3_column_int64(st.s, 12)},
                          {"completion_tokens", sqlite3_column_int64(st.s, 13)},
                          {"cache", cache},
                          {"reason", text(st.s, 15)}};
    if (has_key) {  // the API key's name (docs/keys.md); "" = none
      std::string key = sqlite3_column_type(st.s, 16) == SQLITE_NULL ? std::string() : text(st.s, 16);
      row["key"] = key.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::move(key));
    }
    data.push_back(std::move(row));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db.db, "searching decisions");
  return nlohmann::json{{"data", std::move(data)}, {"next", std::move(next)}};
}

}  // namespace switchboard::store
