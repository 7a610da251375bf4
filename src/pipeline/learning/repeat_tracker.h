// Implicit feedback (docs/online.md): remembers, per client, route and prompt, the last answered
// decision for `window_ms`, so that the same client asking the same prompt again within the window
// can count as a negative score for that decision.
//
// Contract: thread-safe (one mutex); bounded — at most `max_entries` (least recently stored out
// first), each forgotten `window_ms` after it was stored. Times are the caller's (steady ms).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard::pipeline::learning {

class RepeatTracker {
 public:
  RepeatTracker(std::int64_t window_ms, std::size_t max_entries);

  // The decision stored under `key` no longer than window_ms before `now_ms`, removed (a third ask
  // then concerns the second answer, not the first again); nullopt when none.
  std::optional<std::string> take(std::uint64_t key, std::int64_t now_ms);
  // Stores `decision_id` as the answer under `key` (replacing any).
  void put(std::uint64_t key, std::string decision_id, std::int64_t now_ms);
  std::size_t size() const;
  std::int64_t window_ms() const { return window_ms_; }

 private:
  struct Entry {
    std::uint64_t key;
    std::string decision_id;
    std::int64_t time_ms;
  };
  const std::int64_t window_ms_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::list<Entry> order_;  // most recent first
  std::unordered_map<std::uint64_t, std::list<Entry>::iterator> by_key_;
};

// The key of a (client, route, prompt): 64-bit FNV-1a over the three, NUL-separated.
std::uint64_t repeat_key(std::string_view client, std::string_view route, std::string_view prompt);

}  // namespace switchboard::pipeline::learning
