#include "access/meter.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "access/key_store.h"
#include "core/wall_clock.h"

namespace switchboard::access {

std::string usage_hour(std::int64_t time_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(time_ms)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const auto hour = duration_cast<hours>(t - day).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hour));
  return buf;
}

Result<std::unique_ptr<Meter>> Meter::open(const std::string& path, MeterOptions options) {
  // The key store creates the tables.
  auto ks = KeyStore::open(path);
  if (!ks) return ks.error();
  std::unique_ptr<Meter> m(new Meter());
  if (sqlite3_open_v2(path.c_str(), &m->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return make_error(ErrorKind::kInternal, "store_error", "opening " + path + " for metering");
  m->options_ = options;
  sqlite3_busy_timeout(m->db_, static_cast<int>(options.busy_timeout.count()));
  m->thread_ = std::thread([p = m.get()] { p->loop(); });
  return m;
}

Meter::~Meter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(db_);
}

void Meter::record(UsageEvent e) {
  std::lock_guard lock(mu_);
  RowKey k{usage_hour(e.time_ms), std::move(e.key),   std::move(e.key_id),
           std::move(e.team),        std::move(e.route), std::move(e.model)};
  auto it = rows_.find(k);
  if (it == rows_.end()) {
    if (rows_.size() + writing_ >= options_.max_rows) {
      dropped_.fetch_add(1);
      return;
    }
    it = rows_.emplace(std::move(k), Sums{}).first;
  }
  Sums& s = it->second;
  s.requests += 1;
  s.refused += e.refused ? 1 : 0;
  s.prompt += e.prompt_tokens;
  s.completion += e.completion_tokens;
  s.cost += e.cost_usd;
}

void Meter::flush() {
  std::unique_lock lock(mu_);
  const auto target = generation_ + 1;
  flush_ = true;
  wake_.notify_one();
  written_.wait(lock, [&] { return done_ >= target || stopping_; });
}

void Meter::loop() {
  std::optional<std::chrono::steady_clock::time_point> give_up_at;  // set once stopping
  for (;;) {
    std::map<RowKey, Sums> batch;
    bool stop;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || flush_; });
      flush_ = false;
      batch.swap(rows_);
      writing_ = batch.size();
      ++generation_;
      stop = stopping_;
      if (stop && !give_up_at)
        give_up_at = std::chrono::steady_clock::now() + options_.stop_grace;
    }
    const bool written = batch.empty() || write(batch);
    if (!written) {
      write_failures_.fetch_add(1);
      const bool give_up = stop && std::chrono::steady_clock::now() >= *give_up_at;
      if (give_up) {
        dropped_.fetch_add(batch.size());
      } else {
        // Back into the map, summed with what arrived meanwhile; tried again with it.
        std::lock_guard lock(mu_);
        writing_ = 0;
        for (auto& [k, s] : batch) {
          Sums& into = rows_[k];
          into.requests += s.requests;
          into.refused += s.refused;
          into.prompt += s.prompt;
          into.completion += s.completion;
          into.cost += s.cost;
        }
        stop = false;
      }
      // Logged at the first failure, every 100th, and always at the final drop.
      const auto failures = write_failures_.load();
      if (give_up || failures == 1 || failures % 100 == 0)
        spdlog::warn("usage meter: writing {} rows failed ({} failures so far): {}{}",
                     batch.size(), failures, last_error_,
                     give_up ? "; stopping, dropped" : "; trying again");
    }
    if (options_.retention.count() > 0 && !stop &&
        (!next_prune_ || std::chrono::steady_clock::now() >= *next_prune_)) {
      prune();
      next_prune_ = std::chrono::steady_clock::now() + std::chrono::hours(1);
    }
    {
      std::lock_guard lock(mu_);
      if (written) done_ = generation_;
      writing_ = 0;  // written, dropped, or back in rows_
    }
    written_.notify_all();
    if (stop) return;
    // A stop while the writes fail: try again at once, but not in a busy loop.
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool Meter::write(const std::map<RowKey, Sums>& rows) {
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  // IMMEDIATE: the write lock is taken (or waited for) before anything is added.
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    last_error_ = sqlite3_errmsg(db_);
    return false;
  }
  sqlite3_stmt* st = nullptr;
  bool ok = sqlite3_prepare_v2(
                db_,
                "INSERT INTO usage (hour,key,key_id,team,route,model,requests,refused,prompt_tokens,"
                "completion_tokens,cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(hour,key,key_id,team,route,model) DO UPDATE SET "
                "requests = requests + excluded.requests, refused = refused + excluded.refused, "
                "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = completion_tokens + excluded.completion_tokens, "
                "cost_usd = cost_usd + excluded.cost_usd",
                -1, &st, nullptr) == SQLITE_OK;
  for (auto it = rows.begin(); ok && it != rows.end(); ++it) {
    const auto& [k, s] = *it;
    int i = 0;
    for (const std::string* t : {&std::get<0>(k), &std::get<1>(k), &std::get<2>(k),
                                 &std::get<3>(k), &std::get<4>(k), &std::get<5>(k)})
      sqlite3_bind_text(st, ++i, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, ++i, s.requests);
    sqlite3_bind_int64(st, ++i, s.refused);
    sqlite3_bind_int64(st, ++i, s.prompt);
    sqlite3_bind_int64(st, ++i, s.completion);
    sqlite3_bind_double(st, ++i, s.cost);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  ok = ok && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    last_error_ = sqlite3_errmsg(db_);  // before the rollback replaces it
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return ok;
}

void Meter::prune() {
  const std::int64_t now = unix_ms();
  const std::string before = usage_hour(
      now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention).count());
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM usage WHERE hour < ?", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, before.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_DONE)
      pruned_.fetch_add(static_cast<std::uint64_t>(sqlite3_changes(db_)));
    else
      spdlog::warn("usage meter: deleting rows before {} failed: {}", before, sqlite3_errmsg(db_));
  }
  sqlite3_finalize(st);
}

Result<std::vector<UsageRow>> query_usage(const std::string& path, const std::string& group_by,
                                          std::int64_t since_ms) {
  if (group_by != "key" && group_by != "team" && group_by != "route" && group_by != "model" &&
      group_by != "hour")
    return make_error(ErrorKind::kBadRequest, "bad_request",
                      "group by one of key, team, route, model, hour (got '" + group_by + "')");
  auto ks = KeyStore::open(path);
  if (!ks) return ks.error();
  const std::string sql = "SELECT " + group_by +
                          ", sum(requests), sum(refused), sum(prompt_tokens), "
                          "sum(completion_tokens), sum(cost_usd) FROM usage WHERE hour >= ? "
                          "GROUP BY " +
                          group_by + " ORDER BY sum(cost_usd) DESC, " + group_by;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2((*ks)->db(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return make_error(ErrorKind::kInternal, "store_error", sqlite3_errmsg((*ks)->db()));
  const std::string since = usage_hour(since_ms);
  sqlite3_bind_text(st, 1, since.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<UsageRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    UsageRow r;
    auto* g = sqlite3_column_text(st, 0);
    r.group = g ? reinterpret_cast<const char*>(g) : "";
    r.requests = sqlite3_column_int64(st, 1);
    r.refused = sqlite3_column_int64(st, 2);
    r.prompt_tokens = sqlite3_column_int64(st, 3);
    r.completion_tokens = sqlite3_column_int64(st, 4);
    r.cost_usd = sqlite3_column_double(st, 5);
    out.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  return out;
}

Result<std::map<std::string, KeySpend>> query_key_spend(const std::string& path,
                                                        const std::vector<Key>& keys,
                                                        std::int64_t day_start_ms,
                                                        std::int64_t month_start_ms) {
  auto ks = KeyStore::open(path);
  if (!ks) return ks.error();
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2((*ks)->db(),
                         "SELECT key_id, key, hour, sum(cost_usd) FROM usage WHERE hour >= ? AND "
                         "key != '' GROUP BY key_id, key, hour",
                         -1, &st, nullptr) != SQLITE_OK)
    return make_error(ErrorKind::kInternal, "store_error", sqlite3_errmsg((*ks)->db()));
  const std::string month = usage_hour(month_start_ms), day = usage_hour(day_start_ms);
  sqlite3_bind_text(st, 1, month.c_str(), -1, SQLITE_TRANSIENT);
  std::unordered_map<std::string, const Key*> by_id, by_name;
  for (const Key& k : keys) {
    by_id.emplace(k.id, &k);
    by_name.emplace(k.name, &k);
  }
  auto column = [&](int i) {
    auto* p = sqlite3_column_text(st, i);
    return std::string(p ? reinterpret_cast<const char*>(p) : "");
  };
  std::map<std::string, KeySpend> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string id = column(0), name = column(1), hour = column(2);
    const Key* k = nullptr;
    if (!id.empty()) {
      auto it = by_id.find(id);
      if (it != by_id.end()) k = it->second;
    } else if (auto it = by_name.find(name);
               it != by_name.end() && hour >= usage_hour(it->second->created_ms)) {
      k = it->second;
    }
    if (!k) continue;
    const double usd = sqlite3_column_double(st, 3);
    KeySpend& s = out[k->id];
    s.month_usd += usd;
    if (hour >= day) s.today_usd += usd;
  }
  sqlite3_finalize(st);
  return out;
}

}  // namespace switchboard::access
