// Ids of things a client already knows about but that are not in the decision store yet, so that a
// follow-up arriving in between (possibly on another worker thread) waits for the record instead of
// being answered 404. The gateway keeps two:
// - decision ids from the moment a request gets one until its record is queued: the client has the
//   id from the first byte of the answer (x-switchboard-decision), and `POST /v1/feedback` for it
//   may come during a stream or right after its last byte;
// - stored Responses answers (docs/apis.md) until their record, which carries the conversation, is
//   queued: a `previous_response_id` follow-up sent at once.
// Each id carries a tag its adder chose (the gateway: a fingerprint of the API key the request
// presented), so that a waiter can tell an id that is not its own and not wait for it.
// Thread-safe; sharded by the id's hash, so that the per-request add/remove of the workers rarely
// meet on one mutex.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <cstdint>
#include <unordered_map>

namespace switchboard::pipeline {

class PendingIds {
 public:
  void add(const std::string& id, std::uint64_t tag = 0) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    s.ids.insert_or_assign(id, tag);
  }
  void remove(const std::string& id) {
    Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    s.ids.erase(id);
  }
  bool contains(const std::string& id) const {
    const Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    return s.ids.contains(id);
  }
  // Whether `id` is pending with tag `tag`.
  bool contains(const std::string& id, std::uint64_t tag) const {
    const Shard& s = shard(id);
    std::lock_guard lock(s.mu);
    auto it = s.ids.find(id);
    return it != s.ids.end() && it->second == tag;
  }

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::uint64_t> ids;
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard(const std::string& id) { return shards_[std::hash<std::string>{}(id) % kShards]; }
  const Shard& shard(const std::string& id) const {
    return shards_[std::hash<std::string>{}(id) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

}  // namespace switchboard::pipeline
