// `session`: keeps a conversation on one model and one replica (docs/sessions.md).
//
// A request of a route with a `session:` section belongs to a session found, in this order, by its
// `x-session-id` header (kind "header"), the body's `user` field (kind "user"), or its
// conversation so far (kind "prefix": history_hash() of the messages before the last user message
// equal to the conversation_hash() of an earlier answered turn — its messages plus its answer);
// otherwise it starts a new session (a header-less one is then found by its next turn's history).
// Before `decide` it looks the session up; right after the policy decided (after_decide) it keeps
// the session's model unless another model's utility beats it by more than `switch_margin`
// (session::stickiness()), and points the balancer at the replica that answered the last turn
// (RouteRequest::session_replica, honoured by the `session_affinity` balancer). Once the request
// was answered (after_answer) it records the turn — also one the cache answered (it runs before
// `cache`; the session keeps its model, or starts on the cached answer's, action "cached"). The decision record gets `session` {kind, id,
// turn, action, model, reason}; switchboard_session_turns_total counts the actions.
//
// Settings, per route: `session: {sticky: true, switch_margin: 0.05, ttl_s: 1800,
// max_sessions: 100000, persist: true}`. Memory: one SessionTable per route with sessions (bounded,
// LRU + TTL), kept across hot reloads that do not change the route's bounds. With `persist` (the
// default) each recorded turn is also saved to the decision store's SQLite file and a new table is
// filled from it (pipeline/session/stored_sessions.h), so sessions survive a restart. With
// `state: {redis: URL}` each recorded turn is also published to the other gateways
// (pipeline/session/shared_sessions.h), which merge it into their tables. /metrics shows
// switchboard_session_sync{event} once a session route served a request.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>

#include "access/settings.h"
#include "cache/answer.h"
#include "guard/redact.h"
#include "metrics/metrics.h"
#include "pipeline/answer_tap.h"
#include "pipeline/request_context.h"
#include "pipeline/session/session_table.h"
#include "pipeline/session/shared_sessions.h"
#include "pipeline/session/stored_sessions.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

constexpr std::size_t kMaxSessionIdBytes = 256;
// Largest answer captured to hash the conversation; a longer one leaves the session findable only
// by its id.
constexpr std::size_t kMaxCaptured = 4u << 20;

struct RouteSessions {
  session::Settings settings;
  std::shared_ptr<session::SessionTable> table;  // shared across reloads (session::shared_table)
  std::shared_ptr<session::StoredSessions> saved;  // null: `persist: false`, or no SQLite
};

// What one request knows of its session, shared by its after_decide and after_answer callbacks
// (RouteRequest::session_model views `state.model`).
struct Turn {
  std::shared_ptr<session::SessionTable> table;
  std::shared_ptr<session::SharedSessions> fleet;  // null: this gateway's sessions only
  std::shared_ptr<session::StoredSessions> saved;  // null: not persisted
  std::string route;                               // published and saved with the turn
  session::Settings settings;
  std::uint64_t key = 0;
  std::string owner;                    // the API key's id ("" without keys): session::scoped()
  std::optional<session::State> state;  // the session before this turn (nullopt: new)
  std::string chosen;                   // the model the session goes on with
  bool switched = false;
};

Result<session::Settings> parse_settings(const YAML::Node& node, const std::string& source,
                                         const std::string& route) {
  const std::string what = "routes." + route + ".session";
  auto where = [&source](const YAML::Node& n) {
    return fmt::format("{}:{}:{}", source, n.Mark().line + 1, n.Mark().column + 1);
  };
  auto bad = [&](const YAML::Node& n, const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_config", where(n) + ": " + what + why);
  };
  session::Settings s;
  if (!node.IsMap()) return bad(node, " must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    try {
      if (key == "sticky") {
        s.sticky = v.as<bool>();
      } else if (key == "switch_margin") {
        s.switch_margin = v.as<double>();
        if (!(s.switch_margin >= 0 && s.switch_margin <= 1e6))
          return bad(v, ".switch_margin must be a number >= 0");
      } else if (key == "ttl_s") {
        const double t = v.as<double>();
        if (!(t > 0 && t <= 365.0 * 86400)) return bad(v, ".ttl_s must be > 0 (seconds)");
        s.ttl_ms = static_cast<std::int64_t>(t * 1000);
      } else if (key == "max_sessions") {
        const auto n = v.as<std::int64_t>();
        if (n < 1 || n > 100'000'000) return bad(v, ".max_sessions must be in [1, 100000000]");
        s.max_sessions = static_cast<std::size_t>(n);
      } else if (key == "persist") {
        s.persist = v.as<bool>();
      } else {
        return bad(kv.first, ": unknown key '" + key +
                                 "' (known: sticky, switch_margin, ttl_s, max_sessions, persist)");
      }
    } catch (const YAML::Exception&) {
      return bad(v, "." + key + " has the wrong type");
    }
  }
  return s;
}

class SessionStage final : public SyncStage {
 public:
  std::string_view name() const override { return "session"; }

  static Result<std::unique_ptr<Stage>> build(const config::Config& config) {
    auto stage = std::make_unique<SessionStage>();
    for (const auto& r : config.routes) {
      auto it = r.sections.find("session");
      if (it == r.sections.end()) continue;
      auto settings = parse_settings(it->second, config.source, r.name);
      if (!settings) return settings.error();
      RouteSessions rs;
      rs.settings = *settings;
      rs.table = session::shared_table(r.name, *settings);
      if (settings->persist) rs.saved = stage->stored(config.store.sqlite_path);
      // A new table (start-up, or a reload that changed its bounds) starts from the saved sessions.
      if (rs.saved && rs.table->claim_restore())
        if (const auto n = rs.saved->restore(r.name, *rs.table))
          spdlog::info("route '{}': {} live sessions restored", r.name, n);
      stage->routes_.emplace(r.name, std::move(rs));
    }
    if (stage->routes_.empty()) return std::unique_ptr<Stage>();
    auto access = access::parse_access_settings(config);
    if (!access) return access.error();
    if (access->redis) stage->fleet_ = session::SharedSessions::acquire(*access->redis);
    return std::unique_ptr<Stage>(std::move(stage));
  }

  StageResult run_now(RequestContext& ctx) const override {
    if (!ctx.route || ctx.kind != RequestKind::kChat) return StageResult::next();
    auto found = routes_.find(ctx.route->config->name);
    if (found == routes_.end()) return StageResult::next();
    const RouteSessions& rs = found->second;
    const std::int64_t now = session::steady_now_ms();

    if (ctx.metrics && (fleet_ || stored_)) watch_sync(*ctx.metrics);
    auto turn = std::make_shared<Turn>();
    turn->table = rs.table;
    turn->fleet = fleet_;
    turn->saved = rs.saved;
    if (fleet_ || rs.saved) turn->route = found->first;
    turn->settings = rs.settings;
    store::SessionRecord rec;
    // Sessions are the API key's own (the auth stage ran first): another key's client naming the
    // same session, user or conversation gets a session of its own.
    const std::string_view owner = ctx.api_key ? std::string_view(ctx.api_key->key.id) : "";
    turn->owner = owner;
    if (auto header = ctx.headers.find("x-session-id"); header && !header->empty()) {
      if (header->size() > kMaxSessionIdBytes)
        return StageResult::fail(
            make_error(ErrorKind::kBadRequest, "invalid_request",
                       fmt::format("x-session-id must be at most {} bytes", kMaxSessionIdBytes)),
            "client_error");
      rec.kind = "header";
      turn->key = session::scoped(session::session_key("header", *header), owner);
    } else if (!ctx.req.user.empty()) {
      rec.kind = "user";
      turn->key = session::scoped(session::session_key("user", ctx.req.user), owner);
    } else if (auto key = find_by_prefix(*rs.table, ctx.req, owner, now)) {
      rec.kind = "prefix";
      turn->key = *key;
    } else {
      rec.kind = "prefix";
      turn->key = session::session_key("prefix", ctx.rec.id);
    }
    turn->state = rs.table->find(turn->key, now);
    rec.id = fmt::format("s_{:016x}", turn->key);
    rec.turn = turn->state ? turn->state->turns + 1 : 1;
    rec.action = "new";
    if (turn->state) rec.model = turn->state->model;
    ctx.rec.session = std::move(rec);

    ctx.after_decide.push_back([turn](RequestContext& c) { amend(c, *turn); });
    if (ctx.explain_only) return StageResult::next();

    std::shared_ptr<AnswerTaps> tap;
    if (ctx.client) tap = AnswerTaps::install(ctx, kMaxCaptured);
    ctx.after_answer.push_back([turn, tap](RequestContext& c) {
      if (tap) tap->remove(c);  // the taps die with this callback
      // A turn the cache answered made no decision: it counts in its session, which keeps its
      // model; a session the cache starts goes on with the model whose stored answer it got.
      bool cached = false;
      if (turn->chosen.empty() && c.rec.cache && c.rec.cache->status == "hit" && c.rec.session &&
          (turn->state ||
           (!c.cache_model.empty() && c.runtime && c.runtime->config->find_model(c.cache_model)))) {
        cached = true;
        turn->chosen = turn->state ? turn->state->model : c.cache_model;
        c.rec.session->action = "cached";
        c.rec.session->model = turn->chosen;
        c.rec.session->reason =
            turn->state ? "answered from the cache; the session stays on " + turn->chosen
                        : "answered from the cache with " + turn->chosen +
                              "'s answer; the session starts on it";
        if (c.metrics) c.metrics->session_turns.with({c.route_label, "cached"}).inc();
      }
      if (c.error || c.rec.status != 200 || c.rec.outcome != "ok" || turn->chosen.empty()) return;
      session::State next = turn->state.value_or(session::State{});
      next.model = turn->chosen;
      next.owner = session::owner_id(turn->owner);
      next.turns += 1;
      if (turn->switched) next.switches += 1;
      // A cached turn called no replica: the one holding the conversation stays the session's.
      if (!cached) next.replica = -1;
      if (c.replica && c.rec.model == turn->chosen)
        next.replica = static_cast<std::int32_t>(c.replica->ordinal);
      std::uint64_t conversation = 0;
      // The request is the guard's redacted one; so is the next turn's history, answer included:
      // the answer the client got back with its originals is hashed with the placeholders again.
      // An answer with tool calls: the next turn sends the calls' results after the same last
      // user message (session::tool_turn_hash).
      if (tap)
        if (auto answer = tap->answer())
          conversation = session::scoped(
              !answer->tool_calls.empty()
                  ? session::tool_turn_hash(c.req)
                  : session::conversation_hash(
                        c.req, c.restore.empty()     ? answer->content
                               : c.req.json_output ? guard::unrestore_json_text(answer->content,
                                                                                c.restore)
                                                   : guard::unrestore_text(answer->content,
                                                                           c.restore)),
              turn->owner);
      turn->table->update(turn->key, next, conversation, session::steady_now_ms());
      if (turn->fleet)
        turn->fleet->publish(turn->route, turn->key, next, conversation, turn->settings.ttl_ms);
      if (turn->saved)
        turn->saved->save(turn->route, turn->key, next, conversation, turn->settings.ttl_ms,
                          turn->settings.max_sessions);
    });
    return StageResult::next();
  }

 private:
  // A header-less turn's session by its conversation so far: an agent's turn carrying tool results
  // (messages after its last user message) by the turn that called the tools, else by the history
  // before its last user message (session/session_table.h).
  static std::optional<std::uint64_t> find_by_prefix(session::SessionTable& table,
                                                     const api::ChatRequest& req,
                                                     std::string_view owner, std::int64_t now) {
    if (!req.messages.empty() && req.messages.back().role != "user")
      if (auto key = table.find_conversation(session::scoped(session::tool_turn_hash(req), owner), now))
        return key;
    return table.find_conversation(session::scoped(session::history_hash(req), owner), now);
  }

  // Why `model` cannot take this request, for a policy that scores no candidates (rules,
  // static): its context window, or the request's max_cost at the model's list price (the
  // prompt's estimated tokens plus max_tokens); "" when it can. A policy with candidates says so
  // itself (Candidate::eligible).
  static std::string unfit(const RequestContext& ctx, std::string_view model) {
    const ModelRuntime* m = ctx.runtime ? ctx.runtime->find_model(model) : nullptr;
    if (!m) return "not a configured model";
    const RouteRequest& r = ctx.route_request;
    const std::int64_t needed = r.prompt_tokens + r.max_output_tokens;
    if (m->config->context_window > 0 && needed > m->config->context_window)
      return fmt::format("needs {} tokens, context window {}", needed, m->config->context_window);
    if (r.max_cost) {
      const double cost = m->config->price.cost(r.prompt_tokens, r.max_output_tokens);
      if (cost > *r.max_cost)
        return fmt::format("list cost ${:.6g} over max_cost ${:.6g}", cost, *r.max_cost);
    }
    return {};
  }

  // After the policy decided: keep the session's model, or record the switch.
  static void amend(RequestContext& ctx, Turn& turn) {
    auto& rec = *ctx.rec.session;
    Decision& d = *ctx.decision;
    if (d.plan.kind != "single") {
      rec.action = "none";
      rec.reason = "a " + d.plan.kind + " plan is not kept on one model";
    } else if (!turn.state) {
      turn.chosen = d.plan.model;
    } else if (d.plan.model == turn.state->model) {
      rec.action = "same";
      turn.chosen = d.plan.model;
    } else if (!turn.settings.sticky) {
      rec.action = "switched";
      rec.reason = "not sticky";
      turn.chosen = d.plan.model;
      turn.switched = true;
    } else {
      auto verdict = session::stickiness(d.candidates, d.plan.model, turn.state->model,
                                         turn.settings.switch_margin,
                                         d.candidates.empty() ? unfit(ctx, turn.state->model) : "");
      rec.reason = verdict.reason;
      if (verdict.stay) {
        rec.action = "stayed";
        // The policy's choice becomes the first fallback; the session's model answers.
        std::vector<std::string> fallbacks{d.plan.model};
        for (auto& f : d.plan.fallbacks)
          if (f != turn.state->model && f != d.plan.model) fallbacks.push_back(std::move(f));
        d.plan.model = turn.state->model;
        d.plan.fallbacks = std::move(fallbacks);
        ctx.rec.reason += "; session: stayed on " + d.plan.model + " (" + verdict.reason + ")";
      } else {
        rec.action = "switched";
        turn.switched = true;
        ctx.rec.reason +=
            "; session: switched from " + turn.state->model + " (" + verdict.reason + ")";
      }
      turn.chosen = d.plan.model;
    }
    if (turn.state && turn.state->replica >= 0 && turn.chosen == turn.state->model) {
      ctx.route_request.session_model = turn.state->model;
      ctx.route_request.session_replica = turn.state->replica;
    }
    if (ctx.metrics && !ctx.explain_only)
      ctx.metrics->session_turns.with({ctx.route_label, rec.action}).inc();
  }

  // The SQLite side of `persist` (one per file; null, logged, when it cannot be opened).
  std::shared_ptr<session::StoredSessions> stored(const std::string& sqlite_path) {
    if (!stored_ && !stored_failed_) {
      auto s = session::StoredSessions::acquire(sqlite_path);
      if (s)
        stored_ = std::move(*s);
      else
        spdlog::warn("sessions are not persisted: {}", s.error().message);
      stored_failed_ = !s;
    }
    return stored_;
  }

  // /metrics shows the session sync — the fleet's and SQLite's — from then on (read at each
  // scrape).
  // Until the stage is replaced (the next one hooks on its first request); the events of a
  // side that is gone (a reload removed Redis or SQLite) leave the exposition.
  void watch_sync(metrics::GatewayMetrics& m) const {
    if (hooked_.load(std::memory_order_acquire) == &m || hooked_.exchange(&m) == &m) return;
    m.add_render_hook([&m, fleet_weak = std::weak_ptr<session::SharedSessions>(fleet_),
                       stored_weak = std::weak_ptr<session::StoredSessions>(stored_),
                       stage = std::weak_ptr<const void>(alive_)] {
      auto set = [&m](const char* event, std::uint64_t v) {
        m.session_sync.with({event}).set(static_cast<std::int64_t>(v));
      };
      // The stage replaced (a turn still running may hold the fleet past it): all its series
      // leave; a newer stage's hook, run later in the same scrape, sets its own again.
      const bool live = !stage.expired();
      auto fleet = live ? fleet_weak.lock() : nullptr;
      auto stored = live ? stored_weak.lock() : nullptr;
      static constexpr std::string_view kFleet[] = {"published", "merged", "dropped"};
      m.session_sync.retain([&](const std::vector<std::string>& l) {
        return std::ranges::find(kFleet, l[0]) != std::end(kFleet) ? fleet != nullptr
                                                                   : stored != nullptr;
      });
      if (!fleet && !stored) return false;
      if (fleet) {
        set("published", fleet->published());
        set("merged", fleet->merged());
        set("dropped", fleet->dropped());
      }
      if (stored) {
        set("saved", stored->saved());
        set("restored", stored->restored());
        set("save_dropped", stored->dropped());
      }
      return true;
    });
  }

  std::map<std::string, RouteSessions, std::less<>> routes_;
  std::shared_ptr<session::SharedSessions> fleet_;
  std::shared_ptr<session::StoredSessions> stored_;
  bool stored_failed_ = false;
  mutable std::atomic<metrics::GatewayMetrics*> hooked_{nullptr};
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);  // the hook's "stage lives"
};

const StageRegistrar kRegister("session",
                               [](const StageContext& c) { return SessionStage::build(c.config); });

}  // namespace
}  // namespace switchboard::pipeline
