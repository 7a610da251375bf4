// Stored Responses answers (docs/apis.md) that their clients already have but that are not yet in
// the decision store: the record, which carries the stored conversation, is queued just after the
// answer's last bytes are written. A client that follows up at once with `previous_response_id`
// (possibly on another worker thread) may arrive in between; the gateway then waits for the
// record instead of answering 404. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <unordered_set>

namespace switchboard::pipeline {

class AnsweredResponses {
 public:
  void add(const std::string& id) {
    std::lock_guard lock(mu_);
    ids_.insert(id);
  }
  void remove(const std::string& id) {
    std::lock_guard lock(mu_);
    ids_.erase(id);
  }
  bool contains(const std::string& id) const {
    std::lock_guard lock(mu_);
    return ids_.contains(id);
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<std::string> ids_;
};

}  // namespace switchboard::pipeline
