#include "pipeline/session/session_table.h"
#include "core/wall_clock.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <map>

namespace switchboard::pipeline::session {
namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

void fnv(std::uint64_t& h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
}

void hash_message(std::uint64_t& h, std::string_view role, std::string_view text) {
  fnv(h, role);
  fnv(h, "\x1f");
  fnv(h, text);
  fnv(h, "\x1e");
}

std::uint64_t nonzero(std::uint64_t h) {
  return h == 0 ? 1 : h;
}

}  // namespace

std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SessionTable::SessionTable(std::size_t max_sessions, std::int64_t ttl_ms)
    : max_(max_sessions == 0 ? 1 : max_sessions), ttl_ms_(ttl_ms) {}

void SessionTable::own(List::iterator it) {
  Owned& o = owners_[it->state.owner];
  if (!o.lru.empty()) by_size_.erase({o.lru.size(), it->state.owner});
  o.lru.push_front(it);
  it->owned = o.lru.begin();
  by_size_.emplace(o.lru.size(), it->state.owner);
}

void SessionTable::disown(List::iterator it) {
  auto o = owners_.find(it->state.owner);
  by_size_.erase({o->second.lru.size(), it->state.owner});
  o->second.lru.erase(it->owned);
  if (o->second.lru.empty())
    owners_.erase(o);
  else
    by_size_.emplace(o->second.lru.size(), it->state.owner);
}

void SessionTable::erase(List::iterator it) {
  if (it->conversation) {
    auto c = by_conversation_.find(it->conversation);
    if (c != by_conversation_.end() && c->second == it->key) by_conversation_.erase(c);
  }
  disown(it);
  by_key_.erase(it->key);
  lru_.erase(it);
}

void SessionTable::touch(List::iterator it) {
  lru_.splice(lru_.begin(), lru_, it);
  auto& owned = owners_[it->state.owner].lru;
  owned.splice(owned.begin(), owned, it->owned);
}

void SessionTable::make_room(std::int64_t now_ms) {
  const auto oldest = std::prev(lru_.end());
  if (now_ms - oldest->last_ms > ttl_ms_) {
    erase(oldest);
    ++expired_;
    return;
  }
  // The biggest owner's least recently used session (by_size_ is never empty here).
  const std::uint64_t owner = std::prev(by_size_.end())->second;
  erase(owners_[owner].lru.back());
  ++evicted_;
}

std::optional<State> SessionTable::find(std::uint64_t key, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  if (now_ms - it->second->last_ms > ttl_ms_) {
    erase(it->second);
    ++expired_;
    return std::nullopt;
  }
  touch(it->second);
  return it->second->state;
}

std::optional<std::uint64_t> SessionTable::find_conversation(std::uint64_t conversation,
                                                             std::int64_t now_ms) {
  if (conversation == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto c = by_conversation_.find(conversation);
  if (c == by_conversation_.end()) return std::nullopt;
  auto it = by_key_.find(c->second);
  if (it == by_key_.end()) return std::nullopt;
  if (now_ms - it->second->last_ms > ttl_ms_) {
    erase(it->second);
    ++expired_;
    return std::nullopt;
  }
  return c->second;
}

void SessionTable::update(std::uint64_t key, const State& state, std::uint64_t conversation,
                          std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  put(key, state, conversation, now_ms);
}

bool SessionTable::merge(std::uint64_t key, const State& state, std::uint64_t conversation,
                         std::int64_t now_ms) {
  // From another gateway (Redis) or a saved file: what no gateway writes is refused (a turn count
  // of 2^63 - 1 overflowed into the records; 500 names of a megabyte each filled memory).
  constexpr std::size_t kMaxModelName = 1024;
  constexpr std::int64_t kMaxTurns = 1'000'000'000;
  if (state.model.empty() || state.model.size() > kMaxModelName || state.turns < 1 ||
      state.turns > kMaxTurns || state.switches < 0 || state.switches > state.turns ||
      state.replica < -1)
    return false;
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(key); it != by_key_.end() &&
                                   it->second->last_ms + ttl_ms_ > now_ms &&
                                   it->second->state.turns >= state.turns)
    return false;
  put(key, state, conversation, now_ms);
  return true;
}

void SessionTable::put(std::uint64_t key, const State& state, std::uint64_t conversation,
                       std::int64_t now_ms) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    while (lru_.size() >= max_) make_room(now_ms);
    lru_.push_front(Entry{key, state, now_ms, 0, {}});
    own(lru_.begin());
    it = by_key_.emplace(key, lru_.begin()).first;
  } else {
    // A session keeps its first owner (its key is scoped by it, so another key cannot name it) —
    // unless it had none on record (restored from a table or a gateway before owners were kept).
    touch(it->second);
    const std::uint64_t owner = it->second->state.owner;
    if (owner == 0 && state.owner != 0) {
      disown(it->second);
      it->second->state = state;
      own(it->second);
    } else {
      it->second->state = state;
      it->second->state.owner = owner;
    }
    it->second->last_ms = now_ms;
  }
  Entry& e = *it->second;
  if (e.conversation && e.conversation != conversation) {
    auto c = by_conversation_.find(e.conversation);
    if (c != by_conversation_.end() && c->second == key) by_conversation_.erase(c);
  }
  e.conversation = conversation;
  if (conversation) by_conversation_[conversation] = key;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}
std::size_t SessionTable::owned_by(std::uint64_t owner) const {
  std::lock_guard lock(mu_);
  auto o = owners_.find(owner);
  return o == owners_.end() ? 0 : o->second.lru.size();
}
std::uint64_t SessionTable::evicted() const {
  std::lock_guard lock(mu_);
  return evicted_;
}
std::uint64_t SessionTable::expired() const {
  std::lock_guard lock(mu_);
  return expired_;
}

namespace {
struct Tables {
  std::mutex mu;
  std::map<std::string, std::weak_ptr<SessionTable>, std::less<>> by_route;
};
Tables& tables_of_runtimes() {
  static Tables t;
  return t;
}
}  // namespace

std::shared_ptr<SessionTable> existing_table(std::string_view route) {
  Tables& all = tables_of_runtimes();
  std::lock_guard lock(all.mu);
  auto it = all.by_route.find(route);
  return it == all.by_route.end() ? nullptr : it->second.lock();
}

std::shared_ptr<SessionTable> shared_table(const std::string& route, const Settings& settings) {
  Tables& all = tables_of_runtimes();
  std::lock_guard lock(all.mu);
  auto& tables = all.by_route;
  for (auto it = tables.begin(); it != tables.end();)  // forget tables no runtime holds
    it = it->second.expired() ? tables.erase(it) : std::next(it);
  auto& slot = tables[route];
  if (auto t = slot.lock(); t &&
                            t->max_sessions() == std::max<std::size_t>(settings.max_sessions, 1) &&
                            t->ttl_ms() == settings.ttl_ms)
    return t;
  auto t = std::make_shared<SessionTable>(settings.max_sessions, settings.ttl_ms);
  slot = t;
  return t;
}

std::uint64_t session_key(std::string_view kind, std::string_view id) {
  std::uint64_t h = kFnvOffset;
  fnv(h, kind);
  fnv(h, std::string_view("\0", 1));
  fnv(h, id);
  return nonzero(h);
}

std::uint64_t owner_id(std::string_view key_id) {
  return key_id.empty() ? 0 : session_key("owner", key_id);
}

std::uint64_t scoped(std::uint64_t hash, std::string_view owner) {
  if (owner.empty() || hash == 0) return hash;
  std::uint64_t h = kFnvOffset;
  fnv(h, owner);
  fnv(h, std::string_view("\0", 1));
  fnv(h, std::string_view(reinterpret_cast<const char*>(&hash), sizeof hash));
  return nonzero(h);
}

namespace {
// The index of the last `user` message; messages.size() when there is none.
std::size_t last_user_index(const api::ChatRequest& request) {
  for (std::size_t i = request.messages.size(); i-- > 0;)
    if (request.messages[i].role == "user") return i;
  return request.messages.size();
}
}  // namespace

std::uint64_t history_hash(const api::ChatRequest& request) {
  const std::size_t last_user = last_user_index(request);
  if (last_user == request.messages.size() || last_user == 0) return 0;
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = 0; i < last_user; ++i)
    hash_message(h, request.messages[i].role, request.text_of(request.messages[i]));
  return nonzero(h);
}

std::uint64_t tool_turn_hash(const api::ChatRequest& request) {
  const std::size_t last_user = last_user_index(request);
  if (last_user == request.messages.size()) return 0;
  std::uint64_t h = kFnvOffset;
  hash_message(h, "\x1dtool-turn", "");  // never equal to a history or conversation hash
  for (std::size_t i = 0; i <= last_user; ++i)
    hash_message(h, request.messages[i].role, request.text_of(request.messages[i]));
  return nonzero(h);
}

std::uint64_t conversation_hash(const api::ChatRequest& request, std::string_view answer) {
  std::uint64_t h = kFnvOffset;
  for (const auto& m : request.messages) hash_message(h, m.role, request.text_of(m));
  hash_message(h, "assistant", answer);
  return nonzero(h);
}

Verdict stickiness(const std::vector<Candidate>& candidates, std::string_view chosen,
                   std::string_view session_model, double margin, std::string_view unfit) {
  const Candidate* mine = nullptr;
  const Candidate* theirs = nullptr;
  for (const auto& c : candidates) {
    if (c.model == session_model) mine = &c;
    if (c.model == chosen) theirs = &c;
  }
  if (candidates.empty()) {
    if (!unfit.empty()) return {false, fmt::format("{} is not eligible: {}", session_model, unfit)};
    return {true, "the policy lists no candidates (rules, static): the session keeps its model"};
  }
  if (!mine) return {false, fmt::format("{} is not a candidate", session_model)};
  if (!mine->eligible)
    return {false, fmt::format("{} is not eligible{}{}", session_model,
                               mine->note.empty() ? "" : ": ", mine->note)};
  if (mine->utility && std::isnan(*mine->utility))  // ranks last (policies/objective.cc)
    return {false, fmt::format("{} has no usable utility (NaN)", session_model)};
  if (theirs && mine->utility && theirs->utility) {
    const double gain = *theirs->utility - *mine->utility;
    if (gain > margin)
      return {false, fmt::format("{} gains {:.4f} utility over {} (> margin {})", chosen, gain,
                                 session_model, margin)};
    return {true, fmt::format("{} would gain {:.4f} utility (<= margin {})", chosen, gain, margin)};
  }
  return {true, "the policy gives no utilities; the session's model is eligible"};
}

}  // namespace switchboard::pipeline::session
