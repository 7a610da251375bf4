#include "store/decision_query.h"

#include <sqlite3.h>

#include <algorithm>
#include <vector>

#include "store/decision_batches.h"
#include "store/decision_store.h"
#include "store/record_codec.h"
#include "store/sqlite_statement.h"

namespace switchboard::store {
namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() { sqlite3_close_v2(db); }
};

// The lowest of the upper bounds given ("" = none).
void lower_to(std::string& hi, const std::string& bound) {
  if (!bound.empty() && (hi.empty() || bound < hi)) hi = bound;
}

nlohmann::json summary(const DecisionRecord& r) {
  return {{"id", r.id},
          {"time_ms", r.time_ms},
          {"route", r.route},
          {"policy", r.policy},
          {"model", r.model},
          {"replica", r.replica},
          {"status", r.status},
          {"outcome", r.outcome},
          {"error_code", r.error_code},
          {"stream", r.stream},
          {"latency_ms", r.latency_ms},
          {"cost_usd", r.cost_usd},
          {"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"cache", r.cache ? nlohmann::json(r.cache->status) : nlohmann::json(nullptr)},
          {"key", r.key_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.key_name)},
          {"reason", r.reason}};
}

Result<sqlite3*> open_readonly(const std::string& path, Db& db) {
  if (sqlite3_open_v2(path.c_str(), &db.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    return sqlite_error(db.db, "opening " + path);
  sqlite3_busy_timeout(db.db, 1000);
  return db.db;
}

}  // namespace

Result<std::int64_t> each_stored_decision(const std::string& path,
                                          const std::function<void(const DecisionRecord&)>& each) {
  Db db;
  if (auto opened = open_readonly(path, db); !opened) return opened.error();
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.db, "SELECT data FROM decision_batches ORDER BY seq", -1, &st,
                         nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    return sqlite_error(db.db, "reading decisions");
  }
  std::int64_t n = 0;
  bool damaged = false;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && !damaged) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(st, 0));
    const std::string_view data(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    damaged = !decode_batch(data, [&](DecisionRecord&& r) {
      each(r);
      ++n;
      return true;
    });
  }
  sqlite3_finalize(st);
  if (damaged)
    return make_error(ErrorKind::kInternal, "store_error", "a damaged batch of decisions in " + path);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db.db, "reading decisions");
  return n;
}

Result<std::int64_t> count_stored_decisions(const std::string& path) {
  Db db;
  if (auto opened = open_readonly(path, db); !opened) return opened.error();
  const std::int64_t n = count_batched(db.db);
  if (n < 0) return sqlite_error(db.db, "counting decisions");
  return n;
}

Result<nlohmann::json> search_decisions(const std::string& path, const DecisionQuery& q) {
  Db db;
  if (auto opened = open_readonly(path, db); !opened) return opened.error();
  // Id bounds: [lo, hi).
  std::string lo = q.id, hi;
  if (q.since_ms) lo = std::max(lo, id_prefix(*q.since_ms));
  if (!q.id.empty()) lower_to(hi, q.id + "\x7f");  // a prefix match
  lower_to(hi, q.before);
  if (q.until_ms) lower_to(hi, id_prefix(*q.until_ms));
  auto match = [&](const DecisionRecord& r) {
    return (q.route.empty() || r.route == q.route) && (q.model.empty() || r.model == q.model) &&
           (q.outcome.empty() || r.outcome == q.outcome) &&
           (q.key.empty() || r.key_name == q.key) && (!q.status || r.status == *q.status);
  };
  const int limit = std::clamp(q.limit, 1, 500);
  std::vector<DecisionRecord> found;
  // One more than a page: whether there is a next one.
  if (!newest_batched(db.db, lo, hi, static_cast<std::size_t>(limit) + 1, match, found))
    return sqlite_error(db.db, "searching decisions");
  auto data = nlohmann::json::array();
  nlohmann::json next = nullptr;
  for (const auto& r : found) {
    if (static_cast<int>(data.size()) == limit) {
      next = data.back()["id"];
      break;
    }
    data.push_back(summary(r));
  }
  return nlohmann::json{{"data", std::move(data)}, {"next", std::move(next)}};
}

}  // namespace switchboard::store
