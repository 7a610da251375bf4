#include "store/decision_store.h"

#include "store/stored_responses.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>

#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace switchboard::store {
namespace {

constexpr std::size_t kBatchSize = 1024;                // records per transaction at most
constexpr auto kBatchWindow = std::chrono::milliseconds(50);  // longest a record waits in memory

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-16384;
PRAGMA mmap_size=268435456;
PRAGMA wal_autocheckpoint=4096;
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY NOT NULL,
  time_ms INTEGER NOT NULL,
  route TEXT, policy TEXT, model TEXT, replica TEXT, reason TEXT,
  status INTEGER, outcome TEXT, error_code TEXT, error_message TEXT,
  stream INTEGER, latency_ms REAL, upstream_ms REAL,
  prompt_tokens INTEGER, completion_tokens INTEGER, tokens_source TEXT, cost_usd REAL,
  candidates TEXT, attempts TEXT, stages TEXT, guard TEXT, calls TEXT, cache TEXT,
  key_name TEXT, key_team TEXT, api TEXT, session TEXT
);
DROP INDEX IF EXISTS decisions_time;
)sql";
// No index on time_ms: ids begin with the time (new_decision_id), so the primary key's index orders
// rows by time and retention deletes the lowest ids; another index would cost every insert one more
// b-tree insert. A rowid table (the rows appended in rowid order, the id in its own narrow index)
// rather than WITHOUT ROWID, whose b-tree holds the whole ~1 KB rows in id order: inserting costs
// ~13% fewer instructions in SQLite (bench/callgrind.sh). Databases created before keep their
// WITHOUT ROWID table; every query works on both (decision_query.cc, EXPLAIN QUERY PLAN: a search
// or scan of the id index either way).

// SQLite's allocation statistics take a global mutex on every allocation; nothing here reads them
// (sqlite3_memory_used, soft heap limits). Off for the process, before SQLite initialises (a static
// initialiser: the auth stage may open its key store before the decision store is opened).
[[maybe_unused]] const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

constexpr const char* kInsert =
    "INSERT INTO decisions (id,time_ms,route,policy,model,replica,reason,status,outcome,"
    "error_code,error_message,stream,latency_ms,upstream_ms,prompt_tokens,completion_tokens,"
    "tokens_source,cost_usd,candidates,attempts,stages,guard,calls,cache,key_name,key_team,api,"
    "session) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

constexpr const char* kSelect =
    "SELECT id,time_ms,route,policy,model,replica,reason,status,outcome,error_code,error_message,"
    "stream,latency_ms,upstream_ms,prompt_tokens,completion_tokens,tokens_source,cost_usd,"
    "candidates,attempts,stages,guard,calls,cache,key_name,key_team,api,session FROM decisions "
    "WHERE id = ?";

constexpr const char* kCount = "SELECT count(*) FROM decisions";
constexpr const char* kDeleteOlder =
    "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE id < ? ORDER BY id LIMIT ?)";
constexpr const char* kDeleteOldest =
    "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions ORDER BY id LIMIT ?)";

Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(ErrorKind::kInternal, "store_error",
                    what + ": " + (db ? sqlite3_errmsg(db) : "cannot allocate"));
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

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

}  // namespace

namespace {
// Stage names and outcomes are identifiers (registered names, a fixed vocabulary): written as JSON
// without escaping. Anything else goes through nlohmann.
bool plain_identifier(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return !s.empty();
}

// Text that can go between JSON quotes as it is: printable ASCII but '"' and '\\'. Model and replica
// names, results and notes nearly always are; anything else takes the nlohmann path.
bool json_safe(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

// Shortest text that reads back as the same double (what nlohmann writes too), without a format
// string: the writer thread formats several numbers for every request.
void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void append_integer(std::string& out, std::uint64_t v);

// One decimal, as for stage microseconds (finite; the caller checked).
void append_fixed1(std::string& out, double v) {
  if (v < 0 || v >= 1e15) {
    char buf[48];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 1);
    out.append(buf, ec == std::errc() ? end : buf);
    return;
  }
  const auto tenths = static_cast<std::uint64_t>(std::llround(v * 10));
  append_integer(out, tenths / 10);
  out += '.';
  out += static_cast<char>('0' + tenths % 10);
}

void append_integer(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// The candidates and attempts columns, formatted directly when every string is json_safe and every
// number finite (the writer thread does this for every request); otherwise through nlohmann.
std::string candidates_text(const std::vector<Candidate>& candidates) {
  std::string out = "[";
  for (const auto& c : candidates) {
    if (!json_safe(c.model) || !json_safe(c.note) || !std::isfinite(c.predicted_quality) ||
        !std::isfinite(c.predicted_cost) || (c.utility && !std::isfinite(*c.utility)) ||
        c.lambda || c.price)
      return candidates_json(candidates).dump();
    if (out.size() > 1) out += ',';
    out += R"({"model":")";
    out += c.model;
    out += R"(","predicted_quality":)";
    if (c.predicted_quality < 0) out += "null"; else append_number(out, c.predicted_quality);
    out += R"(,"predicted_cost":)";
    if (c.predicted_cost < 0) out += "null"; else append_number(out, c.predicted_cost);
    out += R"(,"utility":)";
    if (!c.utility) out += "null"; else append_number(out, *c.utility);
    out += c.eligible ? R"(,"eligible":true,"note":")" : R"(,"eligible":false,"note":")";
    out += c.note;
    out += "\"}";
  }
  out += ']';
  return out;
}

std::string attempts_text(const std::vector<AttemptRecord>& attempts) {
  std::string out = "[";
  for (const auto& a : attempts) {
    if (!json_safe(a.model) || !json_safe(a.replica) || !json_safe(a.result) || (a.ms && !std::isfinite(*a.ms)))
      return attempts_json(attempts).dump();
    if (out.size() > 1) out += ',';
    out += R"({"model":")";
    out += a.model;
    if (!a.replica.empty()) {
      out += R"(","replica":")";
      out += a.replica;
    }
    out += R"(","result":")";
    out += a.result;
    out += '"';
    if (a.ms) {
      out += R"(,"ms":)";
      append_number(out, *a.ms);
    }
    if (a.hedge) out += R"(,"hedge":true)";
    if (a.unavailable) {
      out += R"(,"unavailable":)";
      append_integer(out, a.unavailable);
    }
    out += '}';
  }
  out += ']';
  return out;
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

// The stages column, written per record by the writer thread: formatted directly (it has a fixed
// shape and is written for every request), times to 0.1 µs.
std::string stages_text(const std::vector<StageSpan>& stages) {
  std::string out = "[";
  for (const auto& s : stages) {
    if (!plain_identifier(s.name) || !plain_identifier(s.outcome) || !std::isfinite(s.us))
      return stages_json(stages).dump();
    if (out.size() > 1) out += ',';
    out += R"({"name":")";
    out += s.name;
    out += R"(","us":)";
    append_fixed1(out, s.us);
    out += R"(,"outcome":")";
    out += s.outcome;
    out += "\"}";
  }
  out += ']';
  return out;
}

}  // namespace

nlohmann::json candidates_json(const std::vector<Candidate>& candidates) {
  auto prediction = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  auto out = nlohmann::json::array();
  for (const auto& c : candidates) {
    out.push_back({{"model", c.model},
                   {"predicted_quality", prediction(c.predicted_quality)},
                   {"predicted_cost", prediction(c.predicted_cost)},
                   {"utility", c.utility ? nlohmann::json(*c.utility) : nlohmann::json(nullptr)},
                   {"eligible", c.eligible},
                   {"note", c.note}});
    if (c.lambda) out.back()["lambda"] = *c.lambda;  // live dual prices (docs/capacity.md)
    if (c.price) out.back()["price"] = *c.price;
  }
  return out;
}

nlohmann::json attempts_json(const std::vector<AttemptRecord>& attempts) {
  auto out = nlohmann::json::array();
  for (const auto& a : attempts) {
    nlohmann::json j = {{"model", a.model}, {"result", a.result}};
    if (!a.replica.empty()) j["replica"] = a.replica;
    if (a.ms) j["ms"] = *a.ms;
    if (a.hedge) j["hedge"] = true;
    if (a.unavailable) j["unavailable"] = a.unavailable;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json calls_json(const std::vector<CallRecord>& calls) {
  auto out = nlohmann::json::array();
  for (const auto& c : calls)
    out.push_back({{"model", c.model},
                   {"replica", c.replica},
                   {"tier", c.tier},
                   {"result", c.result},
                   {"ms", std::isfinite(c.ms) ? c.ms : 0.0},
                   {"prompt_tokens", c.prompt_tokens},
                   {"completion_tokens", c.completion_tokens},
                   {"cost_usd", c.cost_usd},
                   {"score", c.score && std::isfinite(*c.score) ? nlohmann::json(*c.score)
                                                                : nlohmann::json(nullptr)},
                   {"extracted", c.extracted},
                   {"note", c.note},
                   {"accepted", c.accepted}});
  return out;
}

nlohmann::json cache_json(const std::optional<CacheRecord>& c) {
  if (!c) return nullptr;
  nlohmann::json j = {{"status", c->status}};
  if (!c->entry.empty()) j["entry"] = c->entry;
  if (c->similarity) j["similarity"] = *c->similarity;
  if (!c->match.empty()) j["match"] = c->match;
  if (c->status == "hit") j["saved_usd"] = c->saved_usd;
  if (!c->note.empty()) j["note"] = c->note;
  return j;
}

nlohmann::json session_json(const std::optional<SessionRecord>& s) {
  if (!s) return nullptr;
  return {{"kind", s->kind},     {"id", s->id},       {"turn", s->turn},
          {"action", s->action}, {"model", s->model}, {"reason", s->reason}};
}

nlohmann::json stages_json(const std::vector<StageSpan>& stages) {
  auto out = nlohmann::json::array();
  for (const auto& s : stages) out.push_back({{"name", s.name}, {"us", s.us}, {"outcome", s.outcome}});
  return out;
}

nlohmann::json guard_json(const std::vector<GuardCheck>& checks) {
  auto out = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json j = {{"check", c.check}, {"verdict", c.verdict}, {"us", c.us}};
    if (!c.kinds.empty()) {
      nlohmann::json kinds = nlohmann::json::object();
      for (const auto& [kind, n] : c.kinds) kinds[kind] = n;
      j["kinds"] = std::move(kinds);
    }
    if (c.score) j["score"] = *c.score;
    if (c.threshold) j["threshold"] = *c.threshold;
    if (!c.target.empty()) j["target"] = c.target;
    out.push_back(std::move(j));
  }
  return out;
}

namespace {
constexpr char kHex[] = "0123456789abcdef";
}

std::string id_prefix(std::int64_t time_ms) {
  std::string id = "dec_00000000000";
  const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(time_ms, 0));
  for (int i = 0; i < 11; ++i) id[4 + 10 - i] = kHex[(ms >> (4 * i)) & 0xf];
  return id;
}

std::string new_decision_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  auto random = rng();
  std::string id = id_prefix(static_cast<std::int64_t>(ms & 0xfffffffffffULL));
  id.resize(4 + 11 + 13);
  for (int i = 0; i < 13; ++i) id[15 + 12 - i] = kHex[(random >> (4 * i)) & 0xf];
  return id;
}

nlohmann::json DecisionRecord::to_json() const {
  return {{"id", id},
          {"time_ms", time_ms},
          {"route", route},
          {"api", api},
          {"key", key_name.empty() ? nlohmann::json(nullptr)
                                   : nlohmann::json{{"name", key_name}, {"team", key_team}}},
          {"policy", policy},
          {"model", model},
          {"replica", replica},
          {"reason", reason},
          {"status", status},
          {"outcome", outcome},
          {"error", error_code.empty()
                        ? nlohmann::json(nullptr)
                        : nlohmann::json{{"code", error_code}, {"message", error_message}}},
          {"stream", stream},
          {"latency_ms", latency_ms},
          {"upstream_ms", upstream_ms},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"source", tokens_source}}},
          {"cost_usd", cost_usd},
          {"candidates", candidates_json(candidates)},
          {"attempts", attempts_json(attempts)},
          {"stages", stages_json(stages)},
          {"guard", guard_json(guard)},
          {"calls", calls_json(calls)},
          {"cache", cache_json(cache)},
          {"session", session_json(session)}};
}

struct DecisionStore::Reader {
  sqlite3* db = nullptr;
  sqlite3_stmt* select = nullptr;
  ~Reader() {
    sqlite3_finalize(select);
    sqlite3_close_v2(db);
  }
};

Result<std::unique_ptr<DecisionStore>> DecisionStore::open(const std::string& path,
                                                           StoreOptions options) {
  std::unique_ptr<DecisionStore> store(new DecisionStore());
  store->path_ = path;
  store->options_ = options;
  if (store->options_.delete_batch == 0) store->options_.delete_batch = 1;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &store->write_db_, flags, nullptr) != SQLITE_OK)
    return sqlite_error(store->write_db_, "opening " + path);
  char* err = nullptr;
  if (sqlite3_exec(store->write_db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(ErrorKind::kInternal, "store_error", "creating the schema in " + path + ": " + msg);
  }
  // Databases written before decision records had stage spans get the column (an error just means
  // it is there already).
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN stages TEXT", nullptr, nullptr, nullptr);
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN guard TEXT", nullptr, nullptr, nullptr);
  // ... and before multi-call plans recorded their calls.
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN calls TEXT", nullptr, nullptr,
               nullptr);
  // ... and before they had the cache's outcome.
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN cache TEXT", nullptr, nullptr,
               nullptr);
  // ... and before API keys (docs/keys.md).
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN key_name TEXT", nullptr, nullptr,
               nullptr);
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN key_team TEXT", nullptr, nullptr,
               nullptr);
  // ... and before they named the client API (docs/apis.md).
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN api TEXT", nullptr, nullptr,
               nullptr);
  // ... and before sessions (docs/sessions.md).
  sqlite3_exec(store->write_db_, "ALTER TABLE decisions ADD COLUMN session TEXT", nullptr, nullptr,
               nullptr);
  if (std::string why = create_responses_table(store->write_db_); !why.empty())
    return make_error(ErrorKind::kInternal, "store_error",
                      "creating the responses table in " + path + ": " + why);
  sqlite3_busy_timeout(store->write_db_, 5000);
  // One read connection now, so that a path that cannot be read fails here, not at the first
  // lookup.
  auto reader = store->take_reader();
  if (!reader)
    return make_error(ErrorKind::kInternal, "store_error", "opening " + path + " for reading");
  store->return_reader(std::move(reader));
  store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
  return store;
}

std::unique_ptr<DecisionStore::Reader> DecisionStore::take_reader() {
  {
    std::lock_guard lock(read_mu_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return r;
    }
  }
  auto r = std::make_unique<Reader>();
  if (sqlite3_open_v2(path_.c_str(), &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    return nullptr;
  sqlite3_busy_timeout(r->db, 1000);
  if (sqlite3_prepare_v2(r->db, kSelect, -1, &r->select, nullptr) != SQLITE_OK) return nullptr;
  return r;
}

void DecisionStore::return_reader(std::unique_ptr<Reader> r) {
  sqlite3_reset(r->select);
  sqlite3_clear_bindings(r->select);
  std::lock_guard lock(read_mu_);
  if (readers_.size() < 8) readers_.push_back(std::move(r));  // more idle ones are closed
}

DecisionStore::~DecisionStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  readers_.clear();
  sqlite3_close_v2(write_db_);
}

void DecisionStore::record(DecisionRecord record) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_pending) {
      dropped_.fetch_add(1);
      return;
    }
    auto shared = std::make_shared<const DecisionRecord>(std::move(record));
    pending_[shared->id] = shared;
    if (shared->stored_response) pending_responses_[shared->stored_response->id] = shared;
    queue_.push_back(std::move(shared));
    ++enqueued_;
    // The writer wakes by itself every kBatchWindow; waking it per record would cost a futex
    // call on the request path and a transaction per record.
    if (queue_.size() < kBatchSize) return;
  }
  wake_.notify_one();
}

void DecisionStore::flush() {
  std::unique_lock lock(mu_);
  auto target = enqueued_;
  flush_requested_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return written_ >= target || stopping_; });
}

std::optional<DecisionRecord> DecisionStore::find(const std::string& id) {
  if (auto r = find_pending(id)) return r;
  return find_stored(id);
}

std::optional<std::string> DecisionStore::find_response(const std::string& response_id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = pending_responses_.find(response_id); it != pending_responses_.end())
      return it->second->stored_response->items;
  }
  auto reader = take_reader();
  if (!reader) return std::nullopt;
  auto items = read_stored_response(reader->db, response_id);
  return_reader(std::move(reader));
  return items;
}

std::optional<DecisionRecord> DecisionStore::find_pending(const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto it = pending_.find(id); it != pending_.end()) return *it->second;
  return std::nullopt;
}

std::optional<DecisionRecord> DecisionStore::find_stored(const std::string& id) {
  auto reader = take_reader();
  if (!reader) return std::nullopt;
  sqlite3_stmt* stmt = reader->select;
  sqlite3_bind_text(stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  std::optional<DecisionRecord> out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
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
    r.candidates = candidates_from_json(nlohmann::json::parse(column_text(stmt, 18), nullptr, false));
    r.attempts = attempts_from_json(nlohmann::json::parse(column_text(stmt, 19), nullptr, false));
    r.stages = stages_from_json(nlohmann::json::parse(column_text(stmt, 20), nullptr, false));
    r.guard = guard_from_json(nlohmann::json::parse(column_text(stmt, 21), nullptr, false));
    r.calls = calls_from_json(nlohmann::json::parse(column_text(stmt, 22), nullptr, false));
    r.cache = cache_from_json(nlohmann::json::parse(column_text(stmt, 23), nullptr, false));
    r.key_name = column_text(stmt, 24);
    r.key_team = column_text(stmt, 25);
    r.api = column_text(stmt, 26);
    r.session = session_from_json(nlohmann::json::parse(column_text(stmt, 27), nullptr, false));
    out = std::move(r);
  }
  return_reader(std::move(reader));
  return out;
}

std::int64_t DecisionStore::stored_count() {
  auto reader = take_reader();
  if (!reader) return -1;
  sqlite3_stmt* stmt = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(reader->db, kCount, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return_reader(std::move(reader));
  return n;
}

bool DecisionStore::retention_step() {
  const bool by_age = options_.retention_days > 0;
  const bool by_rows = options_.max_rows > 0;
  const auto now = std::chrono::steady_clock::now();
  if (!aging_ && excess_rows_ <= 0) {
    if (now < next_retention_) return false;
    next_retention_ = now + options_.retention_interval;
    aging_ = by_age;
    if (by_rows) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(write_db_, kCount, -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW)
        excess_rows_ = sqlite3_column_int64(stmt, 0) - options_.max_rows;
      sqlite3_finalize(stmt);
    }
  }
  const auto batch = static_cast<std::int64_t>(options_.delete_batch);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t limit = batch;
  if (aging_) {
    const auto cutoff = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() -
                        static_cast<std::int64_t>(options_.retention_days * 86'400'000.0);
    if (sqlite3_prepare_v2(write_db_, kDeleteOlder, -1, &stmt, nullptr) != SQLITE_OK) {
      aging_ = false;
      return excess_rows_ > 0;
    }
    // Every id of a record from before `cutoff` sorts below "dec_" + the cutoff's 11 hex digits.
    const std::string below = id_prefix(cutoff);
    sqlite3_bind_text(stmt, 1, below.data(), static_cast<int>(below.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, limit);
  } else {
    limit = std::min(batch, excess_rows_);
    if (sqlite3_prepare_v2(write_db_, kDeleteOldest, -1, &stmt, nullptr) != SQLITE_OK) {
      excess_rows_ = 0;
      return false;
    }
    sqlite3_bind_int64(stmt, 1, limit);
  }
  const bool ok = sqlite3_step(stmt) == SQLITE_DONE;
  sqlite3_finalize(stmt);
  const std::int64_t deleted = ok ? sqlite3_changes(write_db_) : 0;
  expired_.fetch_add(static_cast<std::uint64_t>(deleted));
  if (deleted > 0) expire_stored_responses(write_db_);  // with their decision records
  if (aging_) {
    if (!ok || deleted < limit) aging_ = false;  // nothing older is left
    excess_rows_ -= deleted;                     // aged rows count against the excess too
  } else {
    excess_rows_ = ok ? excess_rows_ - deleted : 0;
  }
  return aging_ || excess_rows_ > 0;
}

void DecisionStore::writer_loop() {
  // Below the request path's priority: on a saturated machine the writer catches up when the
  // workers idle (the bounded queue and the drop counter cover a writer that never can).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  const bool retention = options_.retention_days > 0 || options_.max_rows > 0;
  next_retention_ = std::chrono::steady_clock::now();  // a first pass at start-up
  bool more_to_delete = false;
  for (;;) {
    std::vector<RecordPtr> batch;
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      // While retention has rows left to delete, go on at once (after this batch of inserts).
      if (!more_to_delete)
        wake_.wait_for(lock, kBatchWindow, [&] {
          return queue_.size() >= kBatchSize || stopping_ || flush_requested_;
        });
      flush_requested_ = false;
      while (!queue_.empty() && batch.size() < kBatchSize) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty()) {
      write_batch(batch);
      std::lock_guard lock(mu_);
      for (const auto& r : batch) {
        pending_.erase(r->id);
        if (r->stored_response) {
          auto it = pending_responses_.find(r->stored_response->id);
          if (it != pending_responses_.end() && it->second == r) pending_responses_.erase(it);
        }
      }
      written_ += batch.size();
    }
    flushed_.notify_all();
    if (stop) return;
    if (retention) more_to_delete = retention_step();
  }
}

namespace {
// The writer thread's statements, prepared on its first batch and reused by every later one
// (SQLITE_PREPARE_PERSISTENT). Thread-local because each store has its own writer thread, and
// finalized when that thread ends — before the store closes the connection (~DecisionStore joins
// the thread first).
struct WriterStatements {
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  ~WriterStatements() {
    sqlite3_finalize(insert);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
  }
};
thread_local WriterStatements writer_statements;
}  // namespace

void DecisionStore::write_batch(const std::vector<RecordPtr>& batch) {
  auto& ws = writer_statements;
  auto prepare = [this](const char* sql, sqlite3_stmt*& stmt) {
    return stmt || sqlite3_prepare_v3(write_db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                      nullptr) == SQLITE_OK;
  };
  if (!prepare("BEGIN", ws.begin) || !prepare("COMMIT", ws.commit) ||
      !prepare(kInsert, ws.insert)) {
    dropped_.fetch_add(batch.size());
    return;
  }
  sqlite3_step(ws.begin);
  sqlite3_reset(ws.begin);
  sqlite3_stmt* stmt = ws.insert;
  for (const auto& record : batch) {
    const DecisionRecord& r = *record;
    int i = 0;
    // The strings outlive sqlite3_step (the record and the locals below): bound without a copy.
    auto text = [&](const std::string& s) {
      sqlite3_bind_text(stmt, ++i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    };
    text(r.id);
    sqlite3_bind_int64(stmt, ++i, r.time_ms);
    text(r.route);
    text(r.policy);
    text(r.model);
    text(r.replica);
    text(r.reason);
    sqlite3_bind_int(stmt, ++i, r.status);
    text(r.outcome);
    text(r.error_code);
    text(r.error_message);
    sqlite3_bind_int(stmt, ++i, r.stream ? 1 : 0);
    sqlite3_bind_double(stmt, ++i, r.latency_ms);
    sqlite3_bind_double(stmt, ++i, r.upstream_ms);
    sqlite3_bind_int64(stmt, ++i, r.prompt_tokens);
    sqlite3_bind_int64(stmt, ++i, r.completion_tokens);
    text(r.tokens_source);
    sqlite3_bind_double(stmt, ++i, r.cost_usd);
    const std::string candidates = candidates_text(r.candidates), attempts = attempts_text(r.attempts),
                      stages = stages_text(r.stages);
    text(candidates);
    text(attempts);
    text(stages);
    const std::string guard = r.guard.empty() ? std::string("[]") : guard_json(r.guard).dump();
    text(guard);
    // Single-call records (nearly all) store an empty list without formatting anything.
    const std::string calls = r.calls.empty() ? std::string("[]") : dump(calls_json(r.calls));
    text(calls);
    const std::string cache = r.cache ? dump(cache_json(r.cache)) : std::string();
    if (r.cache)
      text(cache);
    else
      sqlite3_bind_null(stmt, ++i);
    if (r.key_name.empty()) {
      sqlite3_bind_null(stmt, ++i);
      sqlite3_bind_null(stmt, ++i);
    } else {
      text(r.key_name);
      text(r.key_team);
    }
    text(r.api);
    const std::string session = r.session ? dump(session_json(r.session)) : std::string();
    if (r.session)
      text(session);
    else
      sqlite3_bind_null(stmt, ++i);
    if (sqlite3_step(stmt) != SQLITE_DONE) dropped_.fetch_add(1);
    sqlite3_reset(stmt);
  }
  sqlite3_clear_bindings(stmt);  // the bound strings die with the batch
  write_stored_responses(write_db_, batch);
  // As before with sqlite3_exec: a COMMIT that fails (busy) leaves the transaction open, and the
  // next batch's COMMIT writes both.
  sqlite3_step(ws.commit);
  sqlite3_reset(ws.commit);
}

}  // namespace switchboard::store
