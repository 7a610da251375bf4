#include "cache/memory_store.h"

#include <cstdio>
#include <random>

namespace switchboard::cache {

std::string new_entry_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "ce_%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

MemoryStore::MemoryStore(Limits limits, std::size_t dim) : limits_(limits), index_(dim) {}

bool MemoryStore::lookup(Query q, Done done) {
  done(find(q));
  return true;
}

void MemoryStore::insert(Entry e) {
  put(std::move(e));
}

std::size_t MemoryStore::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

std::size_t MemoryStore::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void MemoryStore::erase(std::uint64_t label) {
  auto it = items_.find(label);
  if (it == items_.end()) return;
  index_.remove(label);
  auto k = by_key_.find(it->second.exact);
  if (k != by_key_.end() && k->second == label) by_key_.erase(k);
  lru_.erase(it->second.lru);
  bytes_ -= it->second.bytes;
  items_.erase(it);
}

std::optional<Hit> MemoryStore::hit(std::uint64_t label, float sim, bool exact) {
  Item& item = items_.at(label);
  lru_.splice(lru_.begin(), lru_, item.lru);
  return Hit{item.id, sim, exact, item.answer};
}

std::optional<Hit> MemoryStore::find(const Query& q, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (auto k = by_key_.find(q.exact); k != by_key_.end()) {
    const std::uint64_t label = k->second;
    if (items_.at(label).expires > now) return hit(label, 1.0f, true);
    erase(label);
  }
  if (q.embedding.empty()) return std::nullopt;
  for (const auto& c : index_.search(q.embedding, q.partition, q.features, q.threshold)) {
    if (items_.at(c.label).expires <= now) {
      erase(c.label);
      continue;
    }
    return hit(c.label, c.similarity, false);
  }
  return std::nullopt;
}

void MemoryStore::put(Entry e, Clock::time_point now) {
  const std::size_t bytes =
      e.answer.bytes() + e.embedding.size() * sizeof(float) * 2 +
      (e.features.numbers.size() + e.features.entities.size() + e.features.polarity.size() +
       e.features.operators.size()) * 8 +
      256;
  if (bytes > limits_.max_bytes || limits_.max_entries == 0) return;
  std::lock_guard lock(mu_);
  if (auto k = by_key_.find(e.exact); k != by_key_.end()) erase(k->second);
  while (!lru_.empty() &&
         (items_.size() + 1 > limits_.max_entries || bytes_ + bytes > limits_.max_bytes))
    erase(lru_.back());
  const std::uint64_t label = next_label_++;
  lru_.push_front(label);
  Item item{new_entry_id(), e.exact, std::move(e.answer), bytes, now + limits_.ttl, lru_.begin()};
  if (!e.embedding.empty()) index_.add(label, e.partition, std::move(e.features), e.embedding);
  by_key_[e.exact] = label;
  bytes_ += bytes;
  items_.emplace(label, std::move(item));
}

}  // namespace switchboard::cache
