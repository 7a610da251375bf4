#include "access/counters.h"

namespace switchboard::access {

std::int64_t CounterTable::get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return 0;
  return it->second.base + it->second.inflight + it->second.pending;
}

std::int64_t CounterTable::watch(const std::string& name, std::int64_t expires_ms) {
  auto& e = entries_[name];
  if (expires_ms > e.expires_ms) e.expires_ms = expires_ms;
  return e.base + e.inflight + e.pending;
}

void CounterTable::expire(std::int64_t now_ms) {
  auto l = lock();
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
}

void CounterTable::add(const std::string& name, std::int64_t delta, std::int64_t expires_ms) {
  auto& e = entries_[name];
  e.pending += delta;
  if (expires_ms > e.expires_ms) e.expires_ms = expires_ms;
}

std::vector<CounterTable::Delta> CounterTable::take(std::int64_t now_ms, bool all) {
  std::vector<Delta> out;
  auto l = lock();
  out.reserve(entries_.size());
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.expires_ms <= now_ms && e.pending == 0 && e.inflight == 0) {
      it = entries_.erase(it);
      continue;
    }
    if (!all && e.pending == 0) {
      ++it;
      continue;
    }
    e.inflight += e.pending;
    out.push_back({it->first, e.pending, e.expires_ms});
    e.pending = 0;
    ++it;
  }
  return out;
}

void CounterTable::settle(const std::vector<Delta>& taken,
                          const std::vector<std::optional<std::int64_t>>& totals) {
  auto l = lock();
  for (std::size_t i = 0; i < taken.size(); ++i) {
    auto it = entries_.find(taken[i].name);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    e.inflight -= taken[i].delta;
    if (i < totals.size() && totals[i]) {
      e.base = *totals[i];  // includes what was just sent
    } else {
      e.base += taken[i].delta;
    }
  }
}

void CounterTable::restore(const std::vector<Delta>& taken) {
  auto l = lock();
  for (const auto& d : taken) {
    auto it = entries_.find(d.name);
    if (it == entries_.end()) continue;
    it->second.inflight -= d.delta;
    it->second.pending += d.delta;
  }
}

}  // namespace switchboard::access
