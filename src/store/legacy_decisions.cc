#include "store/legacy_decisions.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "store/decision_batches.h"
#include "store/record_codec.h"

namespace switchboard::store {
namespace {

constexpr std::size_t kChunk = 1024;

// Columns added over time to the old table; an old database lacks the later ones (ALTER TABLE
// gives them, NULL, before reading).
constexpr const char* kLateColumns[] = {"stages", "guard",    "calls", "cache",
                                        "key_name", "key_team", "api",   "session"};

constexpr const char* kSelect =
    "SELECT id,time_ms,route,policy,model,replica,reason,status,outcome,error_code,error_message,"
    "stream,latency_ms,upstream_ms,prompt_tokens,completion_tokens,tokens_source,cost_usd,"
    "candidates,attempts,stages,guard,calls,cache,key_name,key_team,api,session FROM decisions "
    "ORDER BY id LIMIT ?";

std::optional<CacheRecord> cache_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  CacheRecord c;
  c.status = j.value("status", "");
  c.entry = j.value("entry", "");
  if (j.contains("similarity") && j["similarity"].is_number())
    c.similarity = j["similarity"].get<double>();
  c.match = j.value("match", "");
  c.saved_usd = j.value("saved_usd", 0.0);
  c.note = j.value("note", "");
  return c;
}

std::optional<SessionRecord> session_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  SessionRecord r;
  r.kind = j.value("kind", "");
  r.id = j.value("id", "");
  r.turn = j.value("turn", std::int64_t{0});
  r.action = j.value("action", "");
  r.model = j.value("model", "");
  r.reason = j.value("reason", "");
  return r;
}

std::vector<StageSpan> stages_from_json(const nlohmann::json& j) {
  std::vector<StageSpan> out;
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    out.push_back({s.value("name", ""), s.value("us", 0.0), s.value("outcome", "")});
  }
  return out;
}

std::vector<GuardCheck> guard_from_json(const nlohmann::json& j) {
  std::vector<GuardCheck> out;
  if (!j.is_array()) return out;
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    GuardCheck c;
    c.check = o.value("check", "");
    c.verdict = o.value("verdict", "");
    if (auto k = o.find("kinds"); k != o.end() && k->is_object())
      for (const auto& [kind, n] : k->items())
        if (n.is_number_integer()) c.kinds.emplace_back(kind, n.get<int>());
    if (auto it = o.find("score"); it != o.end() && it->is_number()) c.score = it->get<double>();
    if (auto it = o.find("threshold"); it != o.end() && it->is_number())
      c.threshold = it->get<double>();
    c.target = o.value("target", "");
    c.us = o.value("us", 0.0);
    out.push_back(std::move(c));
  }
  return out;
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto* p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}
std::vector<Candidate> candidates_from_json(const nlohmann::json& j) {
  std::vector<Candidate> out;
  if (!j.is_array()) return out;
  auto number = [](const nlohmann::json& o, const char* key, double none) {
    auto it = o.find(key);
    return it != o.end() && it->is_number() ? it->get<double>() : none;
  };
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    Candidate c;
    c.model = o.value("model", "");
    c.predicted_quality = number(o, "predicted_quality", -1);
    c.predicted_cost = number(o, "predicted_cost", -1);
    if (auto it = o.find("utility"); it != o.end() && it->is_number()) c.utility = it->get<double>();
    c.eligible = o.value("eligible", true);
    c.note = o.value("note", "");
    if (auto it = o.find("lambda"); it != o.end() && it->is_number()) c.lambda = it->get<double>();
    if (auto it = o.find("price"); it != o.end() && it->is_number()) c.price = it->get<double>();
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<AttemptRecord> attempts_from_json(const nlohmann::json& j) {
  std::vector<AttemptRecord> out;
  if (!j.is_array()) return out;
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    AttemptRecord a;
    a.model = o.value("model", "");
    a.replica = o.value("replica", "");
    a.result = o.value("result", "");
    if (auto it = o.find("ms"); it != o.end() && it->is_number()) a.ms = it->get<double>();
    a.hedge = o.value("hedge", false);
    a.unavailable = o.value("unavailable", std::size_t{0});
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<CallRecord> calls_from_json(const nlohmann::json& j) {
  std::vector<CallRecord> out;
  if (!j.is_array()) return out;
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    CallRecord c;
    c.model = o.value("model", "");
    c.replica = o.value("replica", "");
    c.tier = o.value("tier", 0);
    c.result = o.value("result", "");
    c.ms = o.value("ms", 0.0);
    c.prompt_tokens = o.value("prompt_tokens", std::int64_t{0});
    c.completion_tokens = o.value("completion_tokens", std::int64_t{0});
    c.cost_usd = o.value("cost_usd", 0.0);
    if (auto it = o.find("score"); it != o.end() && it->is_number()) c.score = it->get<double>();
    c.extracted = o.value("extracted", "");
    c.note = o.value("note", "");
    c.accepted = o.value("accepted", false);
    out.push_back(std::move(c));
  }
  return out;
}



nlohmann::json parse(sqlite3_stmt* s, int i) {
  return nlohmann::json::parse(column_text(s, i), nullptr, false);
}

DecisionRecord read_row(sqlite3_stmt* stmt) {
  DecisionRecord r;
  r.id = column_text(stmt, 0);
  r.time_ms = sqlite3_column_int64(stmt, 1);
  r.route = column_text(stmt, 2);
  r.policy = column_text(stmt, 3);
  r.model = column_text(stmt, 4);
  r.replica = column_text(stmt, 5);
  r.reason = column_text(stmt, 6);
  r.status = sqlite3_column_int(stmt, 7);
  r.outcome = column_text(stmt, 8);
  r.error_code = column_text(stmt, 9);
  r.error_message = column_text(stmt, 10);
  r.stream = sqlite3_column_int(stmt, 11) != 0;
  r.latency_ms = sqlite3_column_double(stmt, 12);
  r.upstream_ms = sqlite3_column_double(stmt, 13);
  r.prompt_tokens = sqlite3_column_int64(stmt, 14);
  r.completion_tokens = sqlite3_column_int64(stmt, 15);
  r.tokens_source = column_text(stmt, 16);
  r.cost_usd = sqlite3_column_double(stmt, 17);
  r.candidates = candidates_from_json(parse(stmt, 18));
  r.attempts = attempts_from_json(parse(stmt, 19));
  r.stages = stages_from_json(parse(stmt, 20));
  r.guard = guard_from_json(parse(stmt, 21));
  r.calls = calls_from_json(parse(stmt, 22));
  r.cache = cache_from_json(parse(stmt, 23));
  r.key_name = column_text(stmt, 24);
  r.key_team = column_text(stmt, 25);
  r.api = column_text(stmt, 26);
  r.session = session_from_json(parse(stmt, 27));
  return r;
}

bool has_legacy_table(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  bool found = false;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='decisions'",
                         -1, &st, nullptr) == SQLITE_OK)
    found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

std::string exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return {};
  std::string msg = err ? err : sqlite3_errmsg(db);
  sqlite3_free(err);
  return msg;
}

}  // namespace

std::string migrate_legacy_decisions(sqlite3* db, std::int64_t& moved) {
  moved = 0;
  if (!has_legacy_table(db)) return {};
  for (const char* column : kLateColumns) {  // an error just means it is there already
    const std::string sql = std::string("ALTER TABLE decisions ADD COLUMN ") + column + " TEXT";
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  BatchWriter writer(db);
  for (;;) {
    if (auto why = exec(db, "BEGIN IMMEDIATE"); !why.empty()) return why;
    std::vector<DecisionRecord> records;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, kSelect, -1, &st, nullptr) != SQLITE_OK) {
      std::string why = sqlite3_errmsg(db);
      sqlite3_finalize(st);
      exec(db, "ROLLBACK");
      return why;
    }
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(kChunk));
    while (sqlite3_step(st) == SQLITE_ROW) records.push_back(read_row(st));
    sqlite3_finalize(st);
    if (records.empty()) break;  // still in the transaction: the DROP below commits with it
    BatchEncoder encoder;
    for (const auto& r : records) encoder.add(r);
    if (!writer.write(encoder)) {
      std::string why = sqlite3_errmsg(db);
      exec(db, "ROLLBACK");
      return why;
    }
    sqlite3_stmt* del = nullptr;
    bool ok = sqlite3_prepare_v2(db, "DELETE FROM decisions WHERE id <= ?", -1, &del, nullptr) ==
              SQLITE_OK;
    if (ok) {
      sqlite3_bind_text(del, 1, records.back().id.data(),
                        static_cast<int>(records.back().id.size()), SQLITE_STATIC);
      ok = sqlite3_step(del) == SQLITE_DONE;
    }
    sqlite3_finalize(del);
    if (!ok) {
      std::string why = sqlite3_errmsg(db);
      exec(db, "ROLLBACK");
      return why;
    }
    if (auto why = exec(db, "COMMIT"); !why.empty()) {
      exec(db, "ROLLBACK");
      return why;
    }
    moved += static_cast<std::int64_t>(records.size());
  }
  if (auto why = exec(db, "DROP TABLE decisions"); !why.empty()) {
    exec(db, "ROLLBACK");
    return why;
  }
  return exec(db, "COMMIT");
}

}  // namespace switchboard::store
