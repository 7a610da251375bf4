#include "access/service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "access/key_store.h"
#include "core/wall_clock.h"

namespace switchboard::access {
namespace {

std::mutex g_mu;
std::map<std::string, std::weak_ptr<AccessService>>& services() {
  static std::map<std::string, std::weak_ptr<AccessService>> s;
  return s;
}

std::string identity(const AccessSettings& s) {
  return s.keys_db + "|" + (s.redis ? s.redis->url + "|" + s.redis->prefix : std::string());
}

}  // namespace

Result<std::shared_ptr<AccessService>> AccessService::acquire(const AccessSettings& settings) {
  std::lock_guard lock(g_mu);
  auto& slot = services()[identity(settings)];
  if (auto running = slot.lock()) return running;
  std::shared_ptr<AccessService> s(new AccessService(settings));
  if (auto e = s->reload_keys()) return *e;
  if (settings.meter) {
    MeterOptions options;
    options.retention = std::chrono::hours(24 * settings.usage_retention_days);
    auto m = Meter::open(settings.keys_db, options);
    if (!m) return m.error();
    s->meter_ = std::move(*m);
  }
  if (settings.redis) s->sync_ = std::make_unique<RedisSync>(*settings.redis, s->counters_);
  else if (s->meter_) s->restore_budgets();
  s->housekeeping();
  s->registry_ = std::thread([p = s.get()] { p->registry_loop(); });
  slot = s;
  return s;
}

void AccessService::reload_all() {
  std::vector<std::shared_ptr<AccessService>> live;
  {
    std::lock_guard lock(g_mu);
    for (auto& [id, w] : services())
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->reload_keys();
}

AccessService::AccessService(AccessSettings settings)
    : settings_(std::move(settings)), index_(std::make_shared<Index>()) {}

AccessService::~AccessService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (registry_.joinable()) registry_.join();
  sync_.reset();   // a last sync
  meter_.reset();  // writes what is left
}

std::shared_ptr<const LiveKey> AccessService::find(std::string_view secret) const {
  if (!secret.starts_with(kSecretPrefix)) return nullptr;
  const std::string hash = hash_secret(secret);
  std::shared_ptr<const Index> index;
  {
    std::lock_guard lock(index_mu_);
    index = index_;
  }
  auto it = index->find(hash);
  return it == index->end() ? nullptr : it->second;
}

std::size_t AccessService::key_count() const {
  std::lock_guard lock(index_mu_);
  return index_->size();
}

std::optional<Error> AccessService::reload_keys() {
  std::lock_guard reload(reload_mu_);
  auto store = KeyStore::open(settings_.keys_db);
  if (!store) return store.error();
  auto version = (*store)->version();
  if (!version) return version.error();
  if (*version == version_) return std::nullopt;
  auto keys = (*store)->list(false);
  if (!keys) return keys.error();
  auto index = std::make_shared<Index>();
  std::size_t n = 0;
  for (auto& k : *keys) {
    if (!k.refused.empty()) {  // a stored row that cannot be read: never served (Key::refused)
      spdlog::warn("keys: key {} ({}) is refused: {}", k.name, k.id, k.refused);
      continue;
    }
    auto live = std::make_shared<LiveKey>();
    const bool labelled = n++ < kMaxKeyLabels;
    live->label = labelled ? k.name : "other";
    live->team_label = labelled ? k.team : "other";
    const std::string hash = k.hash;
    live->key = std::move(k);
    index->emplace(hash, std::move(live));
  }
  if (version_ >= 0)
    spdlog::info("keys: {} active key(s) loaded from {}", index->size(), settings_.keys_db);
  {
    std::lock_guard lock(index_mu_);
    index_ = std::move(index);
  }
  version_ = *version;
  return std::nullopt;
}

void AccessService::housekeeping() {
  const std::int64_t now = unix_ms();
  if (!sync_) counters_.expire(now);  // with Redis, the sync thread drops expired counters
  std::shared_ptr<const Index> index;
  {
    std::lock_guard lock(index_mu_);
    index = index_;
  }
  // Budget counters are fetched from Redis before a key's first request on this gateway.
  if (sync_)
    for (const auto& [hash, live] : *index)
      if (live->key.limits.usd_per_day > 0 || live->key.limits.usd_per_month > 0)
        limiter_.watch(live->key, now);
}

void AccessService::restore_budgets() {
  const std::int64_t now = unix_ms();
  const std::int64_t day_start = Limiter::day_of(now) * 86'400'000;
  const std::int64_t month_start = Limiter::month_start_ms(Limiter::month_of(now));
  std::shared_ptr<const Index> index;
  {
    std::lock_guard lock(index_mu_);
    index = index_;
  }
  std::vector<Key> budgeted;
  for (const auto& [hash, live] : *index)
    if (live->key.limits.usd_per_day > 0 || live->key.limits.usd_per_month > 0)
      budgeted.push_back(live->key);
  if (budgeted.empty()) return;
  auto spend = query_key_spend(settings_.keys_db, budgeted, day_start, month_start);
  if (!spend) {
    spdlog::warn("keys: cannot read earlier spend from {} ({}): budgets start from zero",
                 settings_.keys_db, spend.error().message);
    return;
  }
  std::size_t restored = 0;
  for (const Key& k : budgeted) {
    auto it = spend->find(k.id);
    if (it == spend->end() || (it->second.today_usd <= 0 && it->second.month_usd <= 0)) continue;
    limiter_.restore_spend(k, now, it->second.today_usd, it->second.month_usd);
    ++restored;
  }
  if (restored > 0)
    spdlog::info("keys: earlier spend of {} key(s) with budgets restored from {}", restored,
                 settings_.keys_db);
}

void AccessService::registry_loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, settings_.reload, [&] { return stopping_; })) return;
    }
    if (auto e = reload_keys())
      spdlog::warn("keys: reloading from {} failed: {} (the loaded keys stay)", settings_.keys_db,
                   e->message);
    housekeeping();
  }
}

}  // namespace switchboard::access
