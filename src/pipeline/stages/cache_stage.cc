// `cache`: answers a repeated or near-duplicate request of a cached route from the response cache
// (src/cache/, docs/cache.md) without calling a model, and stores the answers of misses.
//
// Lookup (this stage, after guard, before signals): a route with a `cache:` section has its
// request normalised (cache/request_key.h); a request that is not deterministic (temperature ≠ 0,
// legacy functions, n > 1; unless the route says deterministic_only: false — n > 1 never)
// bypasses, as does one with tools on a route with `tools: false` and one only a native replica
// can answer (RequestContext::native_only). A request with tools is matched exactly only; a hit's
// tool calls get new ids (cache::Answer::renew_tool_call_ids; toolu_… for a Messages client). The
// exact key is looked up, then, for semantic routes, the GloVe embedding of the prompt (the same vector
// the signals stage would compute: it is left in ctx.signals so that stage does not compute it
// again) against the cache's hnswlib index, with the guards of cache/features.h on the last
// message; features and embedding come from one pass over that message (cache/prompt_analysis.h),
// and the GloVe table is the process's one copy (signals/glove_shared.h). A hit answers here — a
// chat.completion, or SSE chunks ending with `data: [DONE]` for a streamed request — and ends the
// request; the record gets the entry's id, the similarity and the cost saved (also metered:
// switchboard_cache_saved_usd_total). An asynchronous store (Redis) is awaited on an Asio timer;
// its error, timeout or full queue means bypass, never a failed request.
//
// The "after execute" hook, for a miss: the stage wraps ctx.client in a tap (a ResponseWriter that
// forwards every call and keeps a copy of a 200 answer's body or of the relayed stream's bytes) and
// pushes a callback onto RequestContext::after_answer, which the stage runner runs once the request
// was answered, before `record`. The callback stores the answer only when the request succeeded
// (status 200, outcome ok, no error) and the captured bytes form one complete answer
// (cache/answer.h: a single choice with content or tool calls and a finish_reason; a stream
// ending with [DONE]),
// with the record's cost as the entry's cost. Executor, plan runners and deliver() are unchanged.
//
// Every response of a cached route carries `x-switchboard-cache: hit|miss|bypass`.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/chat_request.h"
#include "api/json_util.h"
#include "cache/cache_config.h"
#include "cache/features.h"
#include "cache/memory_store.h"
#include "cache/prompt_analysis.h"
#include "cache/redis_store.h"
#include "cache/request_key.h"
#include "core/wall_clock.h"
#include "guard/redact.h"
#include "pipeline/answer_tap.h"
#include "pipeline/request_context.h"
#include "pipeline/routing_headers.h"
#include "signals/extractor.h"
#include "signals/glove.h"
#include "signals/glove_shared.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

// Largest answer captured for the cache (bytes of body or stream); larger answers are not stored.
constexpr std::size_t kMaxCaptured = 8u << 20;

struct CachedRoute {
  cache::RouteCache settings;
  cache::CacheStore* store = nullptr;
  std::chrono::milliseconds wait{0};  // asynchronous store: the longest a lookup is awaited
};

class CacheStage final : public Stage {
 public:
  std::string_view name() const override { return "cache"; }

  static Result<std::unique_ptr<Stage>> build(const config::Config& config) {
    auto settings = cache::parse_cache_settings(config);
    if (!settings) return settings.error();
    // No route caches: the slot is left out (no span, no cost per request).
    if (settings->routes.empty()) return std::unique_ptr<Stage>();
    auto stage = std::make_unique<CacheStage>();
    std::size_t dim = 100;
    if (settings->any_semantic()) {
      const std::string dir = config.signals.weights_dir.empty() ? signals::default_weights_dir()
                                                                 : config.signals.weights_dir;
      // One table for the process: the signals stage and the guard embed with the same one.
      auto glove = signals::shared_glove(config.signals.weights_dir);
      if (!glove) {
        Error e = glove.error();
        e.message = config.source + ": a route's cache is semantic (the default), which needs " +
                    dir + "/" + signals::kGloveFileName + " (" + e.message +
                    "); install it with `make weights` or set `semantic: false`";
        return e;
      }
      dim = (*glove)->dim();
      stage->glove_ = std::move(*glove);
      // The signals stage reuses the vector only when it would compute the same one.
      stage->share_embedding_ = config.signals.embedding.provider == "glove";
    }
    for (const auto& [name, def] : settings->caches) {
      if (def.store == "memory") {
        stage->stores_.emplace(name, std::make_unique<cache::MemoryStore>(def.limits, dim));
      } else {
        stage->stores_.emplace(name, std::make_unique<cache::RedisStore>(
                                         settings->stores.at(def.store), name, def.limits, dim));
      }
    }
    for (const auto& [route, rc] : settings->routes) {
      CachedRoute cr;
      cr.settings = rc;
      cr.store = stage->stores_.at(rc.cache).get();
      const auto& def = settings->caches.at(rc.cache);
      if (def.store != "memory") cr.wait = 2 * settings->stores.at(def.store).timeout;
      stage->routes_.emplace(route, cr);
    }
    return std::unique_ptr<Stage>(std::move(stage));
  }

  asio::awaitable<StageResult> run(RequestContext& ctx) const override {
    // Only chat answers are cached (an embeddings answer must never answer a chat request).
    if (!ctx.route || ctx.explain_only || ctx.kind != RequestKind::kChat)
      co_return StageResult::next();
    auto it = routes_.find(ctx.route->config->name);
    if (it == routes_.end()) co_return StageResult::next();
    const CachedRoute& route = it->second;
    auto& rec = ctx.rec;
    ctx.route_label = ctx.req.model;
    rec.cache.emplace();
    auto bypass = [&](std::string why) {
      ctx.cache_status = "bypass";
      rec.cache->status = "bypass";
      rec.cache->note = std::move(why);
      if (ctx.metrics) ctx.metrics->cache_lookups.with({ctx.route_label, "bypass"}).inc();
      return StageResult::next();
    };
    // Its key would miss what the translation left out (a document by URL, a built-in tool).
    if (!ctx.native_only.empty())
      co_return bypass("only a native replica can answer it (" + std::string(ctx.native_only) + ")");
    // A Messages or Responses client's reasoning setting is not in the chat body but changes the
    // answer of a model that takes it: keyed as a chat client's reasoning_effort is.
    std::string with_effort;
    if (!ctx.reasoning_effort.empty())
      with_effort = api::with_reasoning_effort(ctx.body, ctx.reasoning_effort);
    // A Messages client's top_k is not in the chat body (chat completions have none) but reaches
    // an Anthropic replica and changes its answer: keyed too, under a name no chat field has.
    if (ctx.native_api == "anthropic" && !ctx.native_body.empty())
      if (auto top_k = api::top_level_value(ctx.native_body, "top_k"))
        with_effort = api::with_first_member(
            with_effort.empty() ? ctx.body : std::string_view(with_effort), "\\u0001top_k", *top_k);
    auto norm = cache::normalise(with_effort.empty() ? ctx.body : std::string_view(with_effort),
                                 ctx.req, scope_of(ctx, route.settings.scope));
    if (!norm) co_return bypass("unreadable request (" + norm.error().message + ")");
    if (norm->multiple_choices) co_return bypass("n > 1");
    if (norm->logprobs) co_return bypass("logprobs asked for (a cached answer keeps none)");
    if (route.settings.deterministic_only && !norm->deterministic)
      co_return bypass("not deterministic (" + norm->not_deterministic + ")");
    if (norm->has_tools && !route.settings.tools) co_return bypass("tools (cache.tools: false)");

    cache::Query q;
    q.exact = norm->exact;
    q.partition = norm->partition;
    q.threshold = route.settings.threshold;
    // With tools, exact repeats only: a near-duplicate question may need other arguments.
    const bool semantic =
        route.settings.semantic && glove_ && !norm->last_text.empty() && !norm->has_tools;
    std::optional<Result<std::optional<cache::Hit>>> found;
    // An exact hit needs neither the guard features nor the embedding (most of a semantic lookup's
    // CPU): an in-process store is asked for the exact key first. (A remote store gets one
    // round trip with everything.)
    if (semantic && !route.store->asynchronous() && !ctx.repeat) {
      cache::Query exact_only;
      exact_only.exact = q.exact;
      exact_only.partition = q.partition;
      exact_only.threshold = q.threshold;
      route.store->lookup(std::move(exact_only),
                          [&found](Result<std::optional<cache::Hit>> r) { found = std::move(r); });
      if (!(found && *found && **found)) found.reset();
    }
    if (semantic && !found) {
      // Guard features and embedding from one pass over the last message (cache/prompt_analysis.h).
      const bool have_embedding = share_embedding_ && !ctx.signals.embedding.empty();
      cache::analyse_prompt(ctx.req, *glove_, q.features, have_embedding ? nullptr : &q.embedding);
      if (have_embedding) {
        q.embedding = ctx.signals.embedding;
      } else if (share_embedding_) {
        ctx.signals.embedding = q.embedding;
      }
    }
    // What a miss stores, kept before the query is handed to the store.
    cache::Entry entry{q.exact, q.partition, q.features, q.embedding, {}};

    if (ctx.repeat)  // the client asked again: the answer it got did not do
      co_return tap_answer(ctx, route, std::move(entry), "bypass",
                           "a repeat within feedback.implicit.window_s: answered afresh");
    if (found) {
      // Answered by the exact key above.
    } else if (!route.store->asynchronous()) {
      route.store->lookup(std::move(q),
                          [&found](Result<std::optional<cache::Hit>> r) { found = std::move(r); });
    } else {
      // (The awaitable is built first: no temporaries inside the co_await, GCC 12.)
      auto op = await_lookup(*route.store, std::move(q), route.wait);
      found = co_await std::move(op);
    }
    if (!found) co_return bypass("cache store busy or too slow");
    if (!*found) co_return bypass("cache store unavailable: " + found->error().message);

    // An answer stored for a chat client that the client's API cannot carry (a tool call whose
    // arguments are no JSON object, for a Messages client): asked of the replicas instead.
    if (const auto& hit = **found; hit && ctx.client && !hit->answer.tool_calls.empty()) {
      const std::string problem =
          ctx.client->answer_problem(cache::completion_body(hit->answer, "chatcmpl-" + rec.id, 0));
      if (!problem.empty())
        co_return bypass("the cached answer cannot be given in this API: it has " + problem);
    }
    if (const auto& hit = **found) {
      ctx.cache_status = "hit";
      ctx.cache_model = hit->answer.routed_model;
      rec.cache->status = "hit";
      rec.cache->entry = hit->id;
      rec.cache->similarity = hit->similarity;
      rec.cache->match = hit->exact ? "exact" : "semantic";
      rec.cache->saved_usd = hit->answer.cost_usd;
      rec.policy = "cache";
      rec.reason = std::string("answered from the cache (") + rec.cache->match + " match, entry " +
                   hit->id + ", similarity " + std::to_string(hit->similarity) + ", answer of " +
                   hit->answer.model + ")";
      rec.tokens_source = "none";
      if (ctx.metrics) {
        ctx.metrics->cache_lookups.with({ctx.route_label, "hit"}).inc();
        ctx.metrics->cache_saved.with({ctx.route_label}).inc(hit->answer.cost_usd);
      }
      // Kept with the guard's placeholders (below): this request's own values go back in.
      // A thinking signature is bound to the model that made it: given back only when the route
      // can call no other (the next turn, with the signed block, goes to that model); otherwise
      // the block goes unsigned, which the Messages front leaves out of later turns for Anthropic.
      const auto& models = ctx.route->models;
      const bool signed_ok = models.size() == 1 && models[0]->name == hit->answer.routed_model;
      std::optional<cache::Answer> copy;
      if (!ctx.restore.empty() || !hit->answer.tool_calls.empty() ||
          (!hit->answer.reasoning_signature.empty() && !signed_ok)) {
        copy = hit->answer;
        // In the client API's form: a Messages client's tool_use ids are Anthropic's toolu_….
        copy->renew_tool_call_ids(rec.id, rec.api == "messages" ? "toolu_" : "call_");
        if (!signed_ok) copy->reasoning_signature.clear();
        if (!ctx.restore.empty()) {
          // JSON mode: the content is JSON text, restored as the arguments are.
          copy->content = ctx.req.json_output
                              ? guard::restore_json_text(copy->content, ctx.restore)
                              : guard::restore_text(copy->content, ctx.restore);
          copy->reasoning = guard::restore_text(copy->reasoning, ctx.restore);
          // Arguments are JSON text: the values go back JSON-escaped.
          for (auto& t : copy->tool_calls)
            t.arguments = guard::restore_json_text(t.arguments, ctx.restore);
        }
      }
      const cache::Answer& answer = copy ? *copy : hit->answer;
      const std::string response_id = "chatcmpl-" + rec.id;
      const auto created = unix_seconds();
      if (!ctx.req.stream) {
        ctx.reply.emplace();
        ctx.reply->body = cache::completion_body(answer, response_id, created);
        co_return StageResult::end();
      }
      rec.status = 200;
      rec.outcome = "ok";
      if (!ctx.client) co_return StageResult::end();
      const std::string sse =
          cache::completion_sse(answer, response_id, created, ctx.req.include_usage);
      const auto headers = ctx.response_headers();
      bool ok = co_await ctx.client->start_stream(headers);
      if (ok) ok = co_await ctx.client->write_chunk(sse);
      if (ok) ok = co_await ctx.client->finish_stream();
      if (!ok) rec.outcome = "client_gone";
      co_return StageResult::end();
    }

    co_return tap_answer(ctx, route, std::move(entry), "miss", "");
  }

 private:
  // What partitions the cache besides the request (cache::normalise's `scope`): the API key or
  // team that may share the answer (cache.scope), the client headers passed to replicas, and the
  // routing headers, which change the model the route would choose (an answer chosen for `x-switchboard-objective: cost` must not answer a
  // request that asked for quality).
  static std::string scope_of(const RequestContext& ctx, cache::CacheScope scope) {
    std::string out;
    if (ctx.api_key) {
      const access::Key& key = ctx.api_key->key;
      // A key without a team shares with no one: "no team" is not a team.
      if (scope == cache::CacheScope::kKey || (scope == cache::CacheScope::kTeam && key.team.empty()))
        out = "key:" + key.id;
      else if (scope == cache::CacheScope::kTeam)
        out = "team:" + key.team;
    }
    for (std::string_view name : kRoutingHeaders)
      if (auto v = ctx.headers.find(name)) {
        out += '\x1f';
        out += name;
        out += '=';
        out += *v;
      }
    // Client headers a replica of the route may be given (anthropic-beta, with `pass_headers`): a
    // beta can change the answer, so an answer asked with one is not another request's (since
    // session 30). A route none of whose replicas takes them shares answers across them.
    bool passed = !ctx.passed_headers.empty() && (!ctx.route || ctx.route->models.empty());
    if (!ctx.passed_headers.empty() && !passed)
      for (const config::ModelConfig* m : ctx.route->models)
        for (const auto& replica : m->replicas) passed = passed || replica.pass_anthropic_beta;
    if (passed)
      for (const auto& [name, value] : ctx.passed_headers) {
        out += '\x1f';
        out += name;
        out += '=';
        out += value;
      }
    return out;
  }

  // A miss (or a repeat): tap the answer, store it once the request was answered.
  static StageResult tap_answer(RequestContext& ctx, const CachedRoute& route, cache::Entry entry,
                                std::string_view status, std::string note) {
    auto& rec = ctx.rec;
    ctx.cache_status = status;
    rec.cache->status = std::string(status);
    rec.cache->note = std::move(note);
    if (ctx.metrics) ctx.metrics->cache_lookups.with({ctx.route_label, status}).inc();
    if (!ctx.client) return StageResult::next();
    auto tap = AnswerTaps::install(ctx, kMaxCaptured);
    ctx.after_answer.push_back(
        [tap, store = route.store, entry = std::move(entry)](RequestContext& c) mutable {
          tap->remove(c);  // the taps die with this callback; nothing writes after the answer
          if (c.error || c.rec.status != 200 || c.rec.outcome != "ok") return;
          // The cache holds the route's answers: one that a session kept on its own model against
          // the policy's choice (pipeline/stages/session_stage.cc) is not the route's answer.
          if (c.rec.session && c.rec.session->action == "stayed") {
            if (c.rec.cache) c.rec.cache->note = "not stored: the session's model answered";
            return;
          }
          auto answer = tap->answer();
          if (!answer) return;
          // A provider's content filter says something of this moment's policy, not of the
          // question: asking again may be answered (an answer the token limit cut is kept: the
          // same request, max_tokens included, gets the same cut).
          if (answer->finish_reason == "content_filter") {
            if (c.rec.cache) c.rec.cache->note = "not stored: the provider's content filter";
            return;
          }
          answer->cost_usd = c.rec.cost_usd;
          // A stream that carried no usage (a whole answer re-chunked for a client that did not
          // ask for include_usage, say) while the replica reported it: the record's counts, so
          // a hit reports the tokens the answer took rather than 0/0.
          if (answer->prompt_tokens == 0 && answer->completion_tokens == 0 &&
              c.rec.tokens_source == "upstream" && c.rec.calls.empty()) {
            answer->prompt_tokens = c.rec.prompt_tokens;
            answer->completion_tokens = c.rec.completion_tokens;
          }
          // A single call's model (the plan's, or the fallback that answered); a cascade's or an
          // ensemble's answer is no one model's.
          if (c.rec.calls.empty()) answer->routed_model = c.rec.model;
          // The client got the guard's originals back (pii restore); the cache keeps the
          // placeholders, as the key does: another user whose request redacts to the same body
          // must get their own values, never these.
          if (!c.restore.empty()) {
            answer->content = c.req.json_output
                                  ? guard::unrestore_json_text(answer->content, c.restore)
                                  : guard::unrestore_text(answer->content, c.restore);
            answer->reasoning = guard::unrestore_text(answer->reasoning, c.restore);
            for (auto& t : answer->tool_calls)
              t.arguments = guard::unrestore_json_text(t.arguments, c.restore);
          }
          entry.answer = std::move(*answer);
          store->insert(std::move(entry));
          if (c.rec.cache)
            c.rec.cache->note = c.rec.cache->note.empty() ? "stored" : c.rec.cache->note + "; stored";
        });
    return StageResult::next();
  }

  // Hands `q` to an asynchronous store and waits for its answer at most `wait`; nullopt when the
  // store refused the job (queue full) or did not answer in time.
  static asio::awaitable<std::optional<Result<std::optional<cache::Hit>>>> await_lookup(
      cache::CacheStore& store, cache::Query q, std::chrono::milliseconds wait) {
    struct Waiter {
      explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
      asio::steady_timer timer;
      std::optional<Result<std::optional<cache::Hit>>> result;
    };
    auto ex = co_await asio::this_coro::executor;
    auto w = std::make_shared<Waiter>(ex);
    w->timer.expires_after(wait);
    const bool queued = store.lookup(std::move(q), [w, ex](Result<std::optional<cache::Hit>> r) {
      asio::post(ex, [w, r = std::move(r)]() mutable {
        w->result = std::move(r);
        w->timer.cancel();
      });
    });
    if (!queued) co_return std::nullopt;
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return std::move(w->result);
  }

  std::shared_ptr<const signals::GloveTable> glove_;  // null when no cached route is semantic
  bool share_embedding_ = false;
  std::map<std::string, std::unique_ptr<cache::CacheStore>, std::less<>> stores_;
  std::map<std::string, CachedRoute, std::less<>> routes_;
};

const StageRegistrar kRegister("cache",
                               [](const StageContext& c) { return CacheStage::build(c.config); });

}  // namespace
}  // namespace switchboard::pipeline
