#include "pipeline/session/stored_sessions.h"
#include "core/wall_clock.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace switchboard::pipeline::session {
namespace {

constexpr std::size_t kMaxQueue = 65'536;
constexpr auto kWriteEvery = std::chrono::milliseconds(200);
constexpr auto kPruneEvery = std::chrono::seconds(60);

}  // namespace

Result<std::shared_ptr<StoredSessions>> StoredSessions::acquire(const std::string& sqlite_path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<StoredSessions>> live;
  std::lock_guard lock(mu);
  if (auto s = live[sqlite_path].lock()) return s;
  auto store = store::SessionStore::open(sqlite_path);
  if (!store) return store.error();
  auto s = std::make_shared<StoredSessions>(std::move(*store));
  live[sqlite_path] = s;
  return s;
}

StoredSessions::StoredSessions(std::unique_ptr<store::SessionStore> store)
    : store_(std::move(store)), thread_([this] { run(); }) {}

StoredSessions::~StoredSessions() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::size_t StoredSessions::restore(const std::string& route, SessionTable& table) {
  const std::int64_t now = unix_ms(), steady = steady_now_ms();
  auto rows = store_->live(route, now, table.max_sessions());
  if (!rows) {
    spdlog::warn("route '{}': sessions not restored: {}", route, rows.error().message);
    return 0;
  }
  std::size_t merged = 0;
  for (const auto& r : *rows) {  // oldest first: the most recent ends first in the LRU order
    const std::int64_t age = std::max<std::int64_t>(0, now - r.last_ms);
    if (age >= table.ttl_ms() || r.model.empty() || r.turns < 1) continue;
    State state{r.model, r.replica, r.turns, r.switches, r.owner};
    if (table.merge(r.key, state, r.conversation, steady - age)) ++merged;
  }
  restored_.fetch_add(merged, std::memory_order_relaxed);
  return merged;
}

void StoredSessions::save(const std::string& route, std::uint64_t key, const State& state,
                          std::uint64_t conversation, std::int64_t ttl_ms,
                          std::size_t max_sessions) {
  const std::int64_t now = unix_ms();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueue || stop_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    limits_[route] = max_sessions;
    queue_.push_back(store::SessionRow{route, key, conversation, state.model, state.replica,
                                       state.turns, state.switches, now, now + ttl_ms,
                                       state.owner});
    ++queued_total_;
  }
}

void StoredSessions::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = queued_total_;
  wake_.notify_all();
  written_.wait(lock, [&] { return done_total_ >= target; });
}

void StoredSessions::run() {
  auto next_prune = std::chrono::steady_clock::now() + kPruneEvery;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, kWriteEvery, [&] { return stop_; });
    std::deque<store::SessionRow> rows;
    rows.swap(queue_);
    const bool stopping = stop_;
    lock.unlock();
    if (!rows.empty()) write(rows);
    if (std::chrono::steady_clock::now() >= next_prune) {
      prune();
      next_prune = std::chrono::steady_clock::now() + kPruneEvery;
    }
    lock.lock();
    done_total_ += rows.size();
    written_.notify_all();
    if (stopping && queue_.empty()) return;
  }
}

void StoredSessions::write(std::deque<store::SessionRow>& rows) {
  // One row per session: a later turn of the same session replaces an earlier one anyway.
  std::vector<store::SessionRow> batch(std::make_move_iterator(rows.begin()),
                                       std::make_move_iterator(rows.end()));
  const std::size_t n = batch.size();
  auto saved = store_->save(batch);
  if (saved) {
    saved_.fetch_add(n, std::memory_order_relaxed);
    if (failing_) spdlog::info("sessions are saved to SQLite again");
    failing_ = false;
    return;
  }
  dropped_.fetch_add(n, std::memory_order_relaxed);
  if (!failing_)
    spdlog::warn("sessions not saved ({} turns dropped; they stay in memory): {}", n,
                 saved.error().message);
  failing_ = true;
}

void StoredSessions::prune() {
  std::map<std::string, std::size_t> limits;
  {
    std::lock_guard lock(mu_);
    limits = limits_;
  }
  if (auto r = store_->prune(unix_ms(), limits); !r)
    spdlog::warn("sessions not pruned: {}", r.error().message);
}

}  // namespace switchboard::pipeline::session
