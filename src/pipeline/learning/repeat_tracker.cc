#include "pipeline/learning/repeat_tracker.h"

namespace switchboard::pipeline::learning {

RepeatTracker::RepeatTracker(std::int64_t window_ms, std::size_t max_entries)
    : window_ms_(window_ms), max_(max_entries == 0 ? 1 : max_entries) {}

std::optional<std::string> RepeatTracker::take(std::uint64_t key, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  Entry e = std::move(*it->second);
  order_.erase(it->second);
  by_key_.erase(it);
  if (now_ms - e.time_ms > window_ms_) return std::nullopt;
  return std::move(e.decision_id);
}

void RepeatTracker::put(std::uint64_t key, std::string decision_id, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    order_.erase(it->second);
    by_key_.erase(it);
  }
  // Expired entries at the tail go first, then the least recent while full.
  while (!order_.empty() &&
         (order_.size() >= max_ || now_ms - order_.back().time_ms > window_ms_)) {
    by_key_.erase(order_.back().key);
    order_.pop_back();
  }
  order_.push_front(Entry{key, std::move(decision_id), now_ms});
  by_key_.emplace(key, order_.begin());
}

std::size_t RepeatTracker::size() const {
  std::lock_guard lock(mu_);
  return order_.size();
}

std::uint64_t repeat_key(std::string_view client, std::string_view route, std::string_view prompt) {
  std::uint64_t h = 1469598103934665603ULL;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0;
    h *= 1099511628211ULL;
  };
  add(client);
  add(route);
  add(prompt);
  return h;
}

}  // namespace switchboard::pipeline::learning
