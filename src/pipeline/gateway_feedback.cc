// POST /v1/feedback (pipeline/gateway.h, docs/online.md) and the learner's start.
//
// The handler runs on the lookup thread pool (SQLite blocks; never a worker's event loop); the
// admin listener's POST /admin/feedback runs the same on its own pool (admin/routes/). It parses
// the body (400 in OpenAI's shape), finds each decision (404 when one is unknown) and stores the
// feedback rows in one transaction (409 when a decision already has feedback). The decision's
// context comes from the in-memory ContextCache; the event goes to the learner's queue and the
// answer says whether it was queued ("queued"), or why not
// ("no_context": the context expired or the request was not answered by a learning route;
// "dropped": the learner's queue was full). Feedback is counted in
// switchboard_feedback_total{route,kind,result}.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "access/credentials.h"
#include "access/service.h"
#include "access/settings.h"
#include "api/errors.h"
#include "api/feedback.h"
#include "core/wall_clock.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"
#include "pipeline/learning/context_codec.h"
#include "pipeline/learning/learner.h"
#include "pipeline/learning/shared_repeats.h"
#include "store/record_codec.h"

namespace switchboard::pipeline {
namespace {

http::Response error_reply(unsigned status, const Error& e) {
  return json_response(status, api::error_json(e));
}

// The decision's context: in memory, else (persisted) in the decision store; counted by where it
// was found. Blocking (SQLite).
std::optional<learning::DecisionContext> find_context(learning::ContextCache& contexts,
                                                      store::DecisionStore& store,
                                                      metrics::GatewayMetrics& metrics,
                                                      const std::string& id) {
  if (auto c = contexts.get(id)) {
    metrics.learning_contexts.with({"memory"}).inc();
    return c;
  }
  if (!contexts.limits().persist) return std::nullopt;
  const auto encoded = store.find_learning_context(id);
  auto c = encoded ? learning::decode_context(*encoded) : std::nullopt;
  if (c) metrics.learning_contexts.with({"store"}).inc();
  return c;
}

// The learning event of feedback on the decision `id` with context `c` (moved from); the caller
// sets the score or the pairwise fields.
learning::LearnEvent learn_event(const std::string& id, learning::DecisionContext& c) {
  learning::LearnEvent event;
  event.route = c.route;
  event.decision_id = id;
  Feedback& f = event.feedback;
  f.signals = std::move(c.signals);
  f.prompt_text = std::move(c.prompt_text);
  f.prompt_tokens = c.prompt_tokens;
  f.model = c.model;
  f.cost = c.cost;
  f.lambda = c.lambda;
  return event;
}

}  // namespace

// What the lookup thread found out.
struct Gateway::Stored {
  std::vector<store::DecisionRecord> records;  // in the order of the ids asked
  std::string missing;                         // an id with no decision
  std::optional<Error> error;                  // SQLite failed
  bool duplicate = false;                      // some decision already has feedback
};

void Gateway::start_learning() {
  const auto rt = runtime();
  auto fs = store::FeedbackStore::open(store_->path());
  if (!fs) {
    spdlog::warn("feedback is off: {}", fs.error().message);
    return;
  }
  feedback_ = std::move(*fs);
  // The limits are read once (checked when the runtime was built; a reload does not change them).
  auto limits = learning::parse_context_limits(*rt->config);
  contexts_ =
      std::make_unique<learning::ContextCache>(limits ? *limits : learning::ContextLimits{});
  learning::LearnerOptions options;
  if (auto settings = access::parse_access_settings(*rt->config); settings && settings->redis)
    options.redis = settings->redis;
  if (options.redis)
    repeats_ = std::make_unique<learning::SharedRepeats>(
        *options.redis, [this](std::string decision_id, double score) {
          implicit_feedback(std::move(decision_id), score);
        });
  learner_ = std::make_unique<learning::Learner>(
      options, [this] { return runtime(); }, *feedback_, &metrics_);
  learner_->start();
}

void Gateway::fleet_answered(std::uint64_t key, std::string decision_id,
                             std::chrono::milliseconds window) {
  if (repeats_) repeats_->answered(key, std::move(decision_id), window);
}

void Gateway::fleet_asked(std::uint64_t key, double score) {
  if (repeats_) repeats_->asked(key, score);
}

void Gateway::fleet_forget(std::uint64_t key) {
  if (repeats_) repeats_->forget(key);
}

namespace {
// The API key `ex` presents (Authorization: Bearer, or x-api-key); empty when none.
std::string_view presented_secret_of(http::Exchange& ex) {
  auto header = [&ex](std::string_view name) -> std::optional<std::string_view> {
    auto it = ex.request().find(boost::beast::string_view(name.data(), name.size()));
    if (it == ex.request().end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
  return access::presented_secret(header("authorization"), header("x-api-key"));
}
}  // namespace

Result<Gateway::Caller> Gateway::caller(http::Exchange& ex) {
  const auto rt = runtime();
  auto settings = access::parse_access_settings(*rt->config);
  if (!settings || !settings->configured) return Caller{};
  auto service = access::AccessService::acquire(*settings);
  if (!service) return service.error();
  const std::string_view secret = presented_secret_of(ex);
  auto refuse = [this](const char* why) {
    metrics_.auth_refusals.with({"invalid_api_key"}).inc();
    return make_error(ErrorKind::kUnauthorized, "invalid_api_key", why);
  };
  // Where keys are optional, a caller without one (or with an unknown one, served as anonymous
  // by the auth stage) is the anonymous owner "": it sees only the decisions made without a key.
  if (secret.empty()) {
    if (!settings->required) return Caller{store::Owner{}, nullptr};
    return refuse("missing API key: send `Authorization: Bearer sk-sb-...` or `x-api-key: ...`");
  }
  auto key = (*service)->find(secret);
  if (!key) {
    if (!settings->required) return Caller{store::Owner{}, nullptr};
    return refuse("incorrect API key provided: unknown or revoked key");
  }
  store::Owner owner{key->key.name, key->key.created_ms};
  return Caller{std::move(owner), std::move(key)};
}

Result<std::optional<store::Owner>> Gateway::caller_key(http::Exchange& ex) {
  auto c = caller(ex);
  if (!c) return c.error();
  return std::move(c->owner);
}

std::uint64_t Gateway::presented_key_tag(std::string_view secret) {
  return secret.empty() ? 0 : std::hash<std::string_view>{}(secret) | 1;
}

asio::awaitable<void> Gateway::wait_recorded(const std::string& id,
                                             std::chrono::milliseconds most,
                                             http::Exchange& ex, const store::Owner* owner) {
  auto pending = [this, &id, checked = owner != nullptr, anonymous = owner && owner->key.empty(),
                  tag = owner ? presented_key_tag(presented_secret_of(ex)) : 0] {
    if (!checked) return unrecorded_.contains(id);
    return unrecorded_.contains(id, tag) || (anonymous && unrecorded_.contains(id, 0));
  };
  const auto until = std::chrono::steady_clock::now() + most;
  while (pending() && std::chrono::steady_clock::now() < until) {
    asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
    co_await wait.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> Gateway::feedback(http::Exchange& ex) {
  if (ex.read_error()) {
    http::Response r = error_reply(http_status(ex.read_error()->kind), *ex.read_error());
    co_return (void) co_await ex.respond(std::move(r));
  }
  // With `auth:` a caller rates only the decisions made with its key (or, without one, only the
  // key-less ones); without `auth:`, anyone any.
  auto caller = caller_key(ex);
  if (!caller) {
    http::Response r = error_reply(http_status(caller.error().kind), caller.error());
    co_return (void) co_await ex.respond(std::move(r));
  }
  const store::Owner* owner = *caller ? &**caller : nullptr;
  // Feedback on an answer still streaming, or sent the moment its last byte arrived: its record
  // is not queued yet. Wait for it (the stream's end, at most 10 s) rather than answer 404.
  if (auto asked = api::parse_feedback(ex.request().body())) {
    for (const std::string* id : {&asked->decision_id, &asked->decision_a, &asked->decision_b})
      if (!id->empty()) co_await wait_recorded(*id, std::chrono::seconds(10), ex, owner);
  }
  if (!lookups_) {
    http::Response r = feedback_blocking(ex.request().body(), owner);
    co_return (void) co_await ex.respond(std::move(r));
  }
  // SQLite may block: the whole of it runs on the lookup pool, never on this worker's event loop.
  // The lambda captures only pointers (this frame outlives it; GCC 12 may copy a closure in a
  // co_await expression bitwise).
  const std::string* body = &ex.request().body();
  http::Response reply = co_await asio::co_spawn(
      *lookups_,
      [self = this, body, owner]() -> asio::awaitable<http::Response> {
        co_return self->feedback_blocking(*body, owner);
      },
      asio::use_awaitable);
  co_await ex.respond(std::move(reply));
}

http::Response Gateway::feedback_blocking(std::string_view body, const store::Owner* owner) {
  auto parsed = api::parse_feedback(body);
  if (!parsed) {
    // Counted under the kind it meant to be when its fields say (a score out of range was
    // counted as "unknown").
    const char* meant = body.find("\"decision_a\"") != std::string_view::npos ? "pairwise"
                        : body.find("\"decision_id\"") != std::string_view::npos ? "score"
                                                                                 : "unknown";
    metrics_.feedback.with({"", meant, "bad_request"}).inc();
    return error_reply(400, parsed.error());
  }
  if (!feedback_ || !contexts_ || !learner_)
    return error_reply(503, make_error(ErrorKind::kUnavailable, "feedback_unavailable",
                                       "feedback is not available on this gateway (its table "
                                       "could not be opened)"));
  const api::FeedbackRequest& fb = *parsed;
  std::vector<std::string> ids;
  if (fb.kind == api::FeedbackRequest::Kind::kPairwise)
    ids = {fb.decision_a, fb.decision_b};
  else
    ids = {fb.decision_id};
  Stored out;
  for (const auto& id : ids) {
    // An id of another form than the gateway's ("dec_" + 11 hex digits of its time + ...) is not
    // looked up: it could only be found by reading every stored batch.
    std::optional<store::DecisionRecord> rec;
    if (store::id_time_ms(id) >= 0) rec = store_->find_pending(id);
    if (!rec && store::id_time_ms(id) >= 0) rec = store_->find_stored(id);
    if (rec && owner && !owner->owns(rec->key_name, rec->time_ms))
      rec.reset();  // another key's (or its namesake's, before this key): not yours to see
    if (!rec) {
      out.missing = id;
      return feedback_answer(fb, ids, out);
    }
    out.records.push_back(std::move(*rec));
  }
  // Only an answer can be rated: a decision that ended in an error (refused, failed upstream,
  // over a limit) has none (its feedback was stored with an empty model and learned nothing),
  // nor has a stream that began 200 and then broke or carried an error. A stream the client
  // stopped (client_gone) is rated: stopping a bad answer and rating it down is common.
  for (const auto& rec : out.records)
    if (rec.status >= 400 ||
        (!rec.outcome.empty() && rec.outcome != "ok" && rec.outcome != "client_gone") ||
        (rec.model.empty() && !(rec.cache && rec.cache->status == "hit"))) {
      metrics_.feedback
          .with({"", fb.kind == api::FeedbackRequest::Kind::kPairwise ? "pairwise" : "score",
                 "bad_request"})
          .inc();
      return error_reply(
          400, make_error(ErrorKind::kBadRequest, "invalid_feedback",
                          "decision '" + rec.id + "' has no answer to rate (it ended " +
                              std::to_string(rec.status) + " " + rec.outcome + ")"));
    }
  // A preference compares two answers of one route: across routes, the first's learner got the
  // pair and the second's nothing, while its decision could take no other feedback after.
  if (fb.kind == api::FeedbackRequest::Kind::kPairwise &&
      out.records[0].route != out.records[1].route) {
    metrics_.feedback.with({"", "pairwise", "bad_request"}).inc();
    return error_reply(
        400, make_error(ErrorKind::kBadRequest, "invalid_feedback",
                        "decisions '" + out.records[0].id + "' and '" + out.records[1].id +
                            "' are of different routes ('" + out.records[0].route + "', '" +
                            out.records[1].route + "'): a preference compares two answers of "
                            "one route"));
  }
  std::vector<store::FeedbackRow> rows;
  const std::int64_t t = unix_ms();
  for (std::size_t i = 0; i < out.records.size(); ++i) {
    store::FeedbackRow row;
    row.decision_id = out.records[i].id;
    row.time_ms = t;
    row.route = out.records[i].route;
    row.model = out.records[i].model;
    row.source = "client";
    if (fb.kind == api::FeedbackRequest::Kind::kScore) {
      row.kind = "score";
      row.score = fb.score;
    } else {
      row.kind = "pairwise";
      row.other_id = out.records[1 - i].id;
      row.outcome = i == 0 ? fb.outcome : 1 - fb.outcome;
    }
    rows.push_back(std::move(row));
  }
  auto added = feedback_->add(rows);
  if (!added)
    out.error = added.error();
  else
    out.duplicate = !*added;
  return feedback_answer(fb, ids, out);
}

http::Response Gateway::feedback_answer(const api::FeedbackRequest& fb,
                                        const std::vector<std::string>& ids, Stored& stored) {
  const bool pairwise = fb.kind == api::FeedbackRequest::Kind::kPairwise;
  const char* kind = pairwise ? "pairwise" : "score";
  const auto rt = runtime();
  auto label = [&](const std::string& route) -> std::string {
    return rt->find_route(route) || rt->find_model(route) ? route : "other";
  };
  if (!stored.missing.empty()) {
    metrics_.feedback.with({"", kind, "not_found"}).inc();
    return error_reply(404, make_error(ErrorKind::kNotFound, "decision_not_found",
                                       "no decision with id '" + stored.missing + "'"));
  }
  const std::string route = label(stored.records[0].route);
  if (stored.error) return error_reply(500, *stored.error);
  if (stored.duplicate) {
    metrics_.feedback.with({route, kind, "duplicate"}).inc();
    return error_reply(409,
                       make_error(ErrorKind::kBadRequest, "feedback_exists",
                                  pairwise ? "one of these decisions already has feedback"
                                           : "decision '" + ids[0] + "' already has feedback"));
  }
  metrics_.feedback.with({route, kind, "accepted"}).inc();

  // The learning event, from the decisions' contexts.
  std::string learning = "no_context";
  std::optional<std::string> not_learned;
  auto ctx_a = find_context(*contexts_, *store_, metrics_, ids[0]);
  std::optional<learning::DecisionContext> ctx_b;
  if (pairwise) ctx_b = find_context(*contexts_, *store_, metrics_, ids[1]);
  if (ctx_a && (!pairwise || ctx_b)) {
    learning::LearnEvent event = learn_event(ids[0], *ctx_a);
    Feedback& f = event.feedback;
    if (pairwise) {
      f.other = ctx_b->model;
      f.other_cost = ctx_b->cost;
      f.outcome = fb.outcome;
      f.other_signals = std::move(ctx_b->signals);
      f.other_prompt_text = std::move(ctx_b->prompt_text);
      f.other_prompt_tokens = ctx_b->prompt_tokens;
    } else {
      f.score = fb.score;
    }
    // A policy that could never learn from it says why now (it was queued, then dropped).
    const RouteRuntime* where = rt->find_route(event.route);
    const auto* policy =
        where ? dynamic_cast<const LearningPolicy*>(where->policy.get()) : nullptr;
    if (policy) not_learned = policy->cannot_learn(f);
    if (not_learned) {
      learning = "not_learned";
      metrics_.learned.with({route, "rejected"}).inc();
    } else {
      learning = learner_->submit(std::move(event)) ? "queued" : "dropped";
    }
  } else {
    metrics_.learned.with({route, "no_context"}).inc();
  }
  nlohmann::json body = {
      {"object", "feedback"}, {"route", stored.records[0].route}, {"learning", learning}};
  if (not_learned) body["learning_note"] = *not_learned;
  if (pairwise) {
    body["decision_a"] = ids[0];
    body["decision_b"] = ids[1];
    body["models"] = {stored.records[0].model, stored.records[1].model};
    body["outcome"] = fb.outcome;
  } else {
    body["decision_id"] = ids[0];
    body["model"] = stored.records[0].model;
    body["score"] = fb.score;
  }
  return json_response(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Gateway::implicit_feedback(std::string decision_id, double score) {
  if (!lookups_) return;
  asio::post(*lookups_,
             [this, id = std::move(decision_id), score] { implicit_feedback_blocking(id, score); });
}

std::string Gateway::implicit_feedback_blocking(const std::string& decision_id, double score) {
  if (!feedback_ || !contexts_ || !learner_) return "unavailable";
  std::optional<store::DecisionRecord> rec;
  if (store::id_time_ms(decision_id) >= 0) {
    rec = store_->find_pending(decision_id);
    if (!rec) rec = store_->find_stored(decision_id);
  }
  const auto rt = runtime();
  if (!rec) {
    metrics_.feedback.with({"", "implicit", "not_found"}).inc();
    return "not_found";
  }
  const std::string route =
      rt->find_route(rec->route) || rt->find_model(rec->route) ? rec->route : "other";
  // A route whose policy learns but never from a score (elo: preferences only) gets no implicit
  // score: stored, it took the decision's one feedback, and the client's explicit preference on
  // it (the re-ask is how an A/B pair is made) was refused 409.
  if (const RouteRuntime* where = rt->find_route(rec->route))
    if (const auto* policy = dynamic_cast<const LearningPolicy*>(where->policy.get())) {
      Feedback probe;
      probe.model = rec->model;
      probe.score = score;
      if (policy->cannot_learn(probe)) {
        metrics_.feedback.with({route, "implicit", "not_learned"}).inc();
        return "not_learned";
      }
    }
  store::FeedbackRow row;
  row.decision_id = rec->id;
  row.time_ms = unix_ms();
  row.kind = "implicit";
  row.score = score;
  row.route = rec->route;
  row.model = rec->model;
  row.source = "implicit";
  auto added = feedback_->add({row});
  if (!added) {
    spdlog::warn("implicit feedback on {}: {}", decision_id, added.error().message);
    return "unavailable";
  }
  if (!*added) {  // explicit (or earlier implicit) feedback exists: it wins
    metrics_.feedback.with({route, "implicit", "duplicate"}).inc();
    return "duplicate";
  }
  metrics_.feedback.with({route, "implicit", "accepted"}).inc();
  auto ctx = find_context(*contexts_, *store_, metrics_, decision_id);
  if (!ctx) {
    metrics_.learned.with({route, "no_context"}).inc();
    return "no_context";
  }
  learning::LearnEvent event = learn_event(decision_id, *ctx);
  event.feedback.score = score;
  return learner_->submit(std::move(event)) ? "queued" : "dropped";
}

}  // namespace switchboard::pipeline
