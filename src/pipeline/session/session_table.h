// Sessions (docs/sessions.md): what the gateway remembers of each conversation of a route — the
// model chosen for it, the replica that answered its last turn — and how a later request finds its
// conversation. Pure in-memory state, off the policies' code: the session stage
// (pipeline/stages/session_stage.cc) reads it before the decision and writes it once answered.
//
// Contract: thread-safe (one mutex per table, held for a hash-map lookup and a list splice);
// bounded — at most `max_sessions` sessions, each forgotten `ttl_ms` after its last turn; every
// session keeps one conversation hash (of its last turn), so the prefix index is bounded by the
// same number. A full table makes room fairly among API keys (State::owner): the least recently
// used session goes when it has expired, else the least recently used session of the owner that
// holds the most — so one key opening many sessions pushes out its own, not another key's (with
// one owner, or none, it is plain LRU). Times are the caller's (steady-clock ms), so tests can
// drive expiry.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/chat_request.h"
#include "switchboard/policy.h"

namespace switchboard::pipeline::session {

// A route's `session:` settings.
struct Settings {
  bool sticky = true;           // keep the session's model unless another gains > switch_margin
  double switch_margin = 0.05;  // in the objective's utility (quality points)
  std::int64_t ttl_ms = 1'800'000;
  std::size_t max_sessions = 100'000;
  bool persist = true;  // saved to the decision store's SQLite file, restored at start-up
};

// What is remembered of one session.
struct State {
  std::string model;  // the model chosen for the session (its first turn, or the last switch)
  std::int32_t replica = -1;  // Replica::ordinal of the replica of `model` that answered last
  std::int64_t turns = 0;     // answered turns
  std::int64_t switches = 0;  // model switches so far
  // Who owns the session: owner_id() of the API key's id (0 = no key). The table's bound is
  // shared fairly among owners.
  std::uint64_t owner = 0;
};

class SessionTable {
 public:
  SessionTable(std::size_t max_sessions, std::int64_t ttl_ms);

  // The session's state (and it becomes the most recently used), or nullopt when unknown or
  // expired at `now_ms` (an expired session is removed).
  std::optional<State> find(std::uint64_t key, std::int64_t now_ms);
  // The session whose last answered turn ended with the conversation of hash `conversation`
  // (conversation_hash()), if it is still live.
  std::optional<std::uint64_t> find_conversation(std::uint64_t conversation, std::int64_t now_ms);
  // Records an answered turn: the session's new state and the hash of its conversation including
  // the answer (0 = unknown: the session can then be found only by its id). Evicts the least
  // recently used session when full.
  void update(std::uint64_t key, const State& state, std::uint64_t conversation,
              std::int64_t now_ms);
  // A turn another gateway answered (pipeline/session/shared_sessions.h): recorded as update()
  // does, unless this table knows the session at that turn or a later one, or the state is one no
  // gateway writes (no model or a name over 1 KiB, turns outside [1, 10^9], switches outside
  // [0, turns], a replica below -1). True when recorded.
  bool merge(std::uint64_t key, const State& state, std::uint64_t conversation,
             std::int64_t now_ms);

  std::size_t size() const;
  std::size_t owned_by(std::uint64_t owner) const;  // live or not yet expired
  std::size_t max_sessions() const { return max_; }
  std::int64_t ttl_ms() const { return ttl_ms_; }
  std::uint64_t evicted() const;  // by the bound
  std::uint64_t expired() const;  // by the TTL
  // True for the first caller only: whoever fills a new table from saved sessions
  // (pipeline/session/stored_sessions.h) does it once, not at every reload that keeps the table.
  bool claim_restore() { return !restore_claimed_.exchange(true); }

 private:
  struct Entry;
  using List = std::list<Entry>;
  // One owner's sessions, most recent first, and its place in by_size_.
  struct Owned {
    std::list<List::iterator> lru;
  };
  struct Entry {
    std::uint64_t key = 0;
    State state;
    std::int64_t last_ms = 0;
    std::uint64_t conversation = 0;
    std::list<List::iterator>::iterator owned;  // in owners_[state.owner].lru
  };
  void erase(List::iterator it);  // mu_ held
  void touch(List::iterator it);  // mu_ held: most recent, in both lists
  void make_room(std::int64_t now_ms);  // mu_ held: one session out
  void own(List::iterator it);          // mu_ held: into its owner's list
  void disown(List::iterator it);       // mu_ held: out of it
  void put(std::uint64_t key, const State& state, std::uint64_t conversation,
           std::int64_t now_ms);  // mu_ held

  const std::size_t max_;
  const std::int64_t ttl_ms_;
  mutable std::mutex mu_;
  List lru_;  // most recent first
  std::unordered_map<std::uint64_t, List::iterator> by_key_;
  std::unordered_map<std::uint64_t, Owned> owners_;
  std::set<std::pair<std::size_t, std::uint64_t>> by_size_;  // {sessions, owner} of each owner
  std::unordered_map<std::uint64_t, std::uint64_t> by_conversation_;  // hash → session key
  std::uint64_t evicted_ = 0, expired_ = 0;
  std::atomic<bool> restore_claimed_{false};
};

// The session tables' clock: steady milliseconds. What outlives the process or crosses machines
// (Redis entries, SQLite rows) uses wall-clock milliseconds (core/wall_clock.h).
std::int64_t steady_now_ms();

// The table of route `route`, shared by every runtime alive that asks for it with the same bounds:
// a hot reload that keeps a route's max_sessions and ttl_s keeps its sessions (other bounds: a new
// table). Thread-safe; the table lives as long as a runtime holds it.
std::shared_ptr<SessionTable> shared_table(const std::string& route, const Settings& settings);
// The table of `route` a runtime holds now, or null (no runtime has sessions on that route).
std::shared_ptr<SessionTable> existing_table(std::string_view route);

// 64-bit FNV-1a of `kind`, a NUL byte and `id`: the key of a session named by the client
// (kind "header" or "user"), or of a new header-less one (kind "prefix", id = its decision id).
std::uint64_t session_key(std::string_view kind, std::string_view id);

// The State::owner of sessions of the API key of id `key_id`: 0 for "" (no key).
std::uint64_t owner_id(std::string_view key_id);

// `hash` (a session key or a conversation hash) within the space of one API key, `owner` (its id):
// two keys' clients that send the same x-session-id, `user` or conversation never share a session.
// Unchanged for owner "" (no key) and for 0 ("none").
std::uint64_t scoped(std::uint64_t hash, std::string_view owner);

// Conversation hashes. A message is hashed as its role, a 0x1F byte, its text (ChatRequest's
// text_of(): a string content, or the text parts of an array joined by '\n'; tool calls, images
// and names are not hashed) and a 0x1E byte, in order, with 64-bit FNV-1a; 0 is never returned
// for a non-empty list (it means "none").
// history_hash: the messages before the last `user` message (0 when there are none: a first turn).
std::uint64_t history_hash(const api::ChatRequest& request);
// conversation_hash: every message of the request, then {"assistant", answer}. The next turn of
// the same conversation — the same messages, the answer as an assistant message, a new user
// message — has history_hash() equal to it.
std::uint64_t conversation_hash(const api::ChatRequest& request, std::string_view answer);
// tool_turn_hash: the messages up to and including the last `user` message, marked apart from
// the other two (0 when there is none). A turn answered with tool calls is indexed by it: the
// agent's next turn sends the calls and their results after that same user message, and is
// looked up by it when messages follow its last user message.
std::uint64_t tool_turn_hash(const api::ChatRequest& request);

// The stickiness rule, pure (the stage and the offline replay use it). `chosen` is the policy's
// choice, `session_model` the session's model, `candidates` the policy's scored candidates.
struct Verdict {
  bool stay = false;   // keep session_model
  std::string reason;  // for the record
};
// Rule: when the session's model is not a candidate, or not eligible, it switches. When both have
// a utility, it stays unless utility(chosen) − utility(session_model) > margin. When the policy
// gives no utilities, it stays on the eligible session model; when it lists no candidates at all
// (rules, static), it stays unless `unfit` says why the session's model cannot take this request
// (its context window, the request's max_cost: what the caller checked, "" = nothing).
Verdict stickiness(const std::vector<Candidate>& candidates, std::string_view chosen,
                   std::string_view session_model, double margin, std::string_view unfit = {});

}  // namespace switchboard::pipeline::session
