#include "pipeline/learning/learner.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/redis_link.h"
#include "core/wall_clock.h"
#include "pipeline/learning/context_codec.h"

namespace switchboard::pipeline::learning {
namespace {

// Decision ids remembered of events applied locally after an unacknowledged XADD (Learner::loop).
constexpr std::size_t kMaxUnacknowledged = 4096;

std::string signature(const RouteRuntime& route) {
  YAML::Emitter out;
  out << route.config->policy;
  return out.c_str();
}

// The models the route's policy routes to (a spec naming none takes every configured model: a
// reload removing one changes them, not the spec).
std::string models_of(const RouteRuntime& route) {
  std::string out;
  for (const auto& m : route.policy->models()) out += (out.empty() ? "" : ",") + m;
  return out;
}

// Stream ids "MS-SEQ" in order.
bool id_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    const auto dash = s.find('-');
    std::uint64_t ms = 0, seq = 0;
    try {
      ms = std::stoull(s.substr(0, dash));
      if (dash != std::string::npos) seq = std::stoull(s.substr(dash + 1));
    } catch (...) {
    }
    return std::pair(ms, seq);
  };
  return split(a) < split(b);
}

// The id just before `id` ("MS-SEQ", is_stream_id), for an exclusive XREAD from it.
std::string id_before(const std::string& id) {
  const auto dash = id.find('-');
  const std::uint64_t ms = std::stoull(id.substr(0, dash));
  const std::uint64_t seq = dash == std::string::npos ? 0 : std::stoull(id.substr(dash + 1));
  if (seq > 0) return std::to_string(ms) + "-" + std::to_string(seq - 1);
  if (ms == 0) return "0";
  return std::to_string(ms - 1) + "-18446744073709551615";
}

struct Reply {
  redisReply* r = nullptr;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r) freeReplyObject(r);
  }
};

}  // namespace

std::string event_json(const LearnEvent& e) {
  const Feedback& f = e.feedback;
  nlohmann::json j;
  j["route"] = e.route;
  j["decision"] = e.decision_id;
  j["model"] = f.model;
  j["cost"] = f.cost;
  j["prompt_tokens"] = f.prompt_tokens;
  j["prompt_text"] = f.prompt_text;
  put_signals(j, f.signals);
  if (f.score) j["score"] = *f.score;
  if (f.lambda) j["lambda"] = *f.lambda;
  if (!f.other.empty()) {
    j["other"] = f.other;
    j["other_cost"] = f.other_cost;
  }
  if (f.outcome) j["outcome"] = *f.outcome;
  if (f.other_signals) {
    nlohmann::json o;
    put_signals(o, *f.other_signals);
    o["prompt_text"] = f.other_prompt_text;
    o["prompt_tokens"] = f.other_prompt_tokens;
    j["other_context"] = std::move(o);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// An event from the shared stream is checked as the API checks feedback: another gateway, or
// anything that can write to Redis, wrote it, and one absurd value (a score of 1e300) would steer
// every gateway's policy and be saved with its state.
bool plausible(const Feedback& f) {
  auto unit = [](const std::optional<double>& v) { return !v || (*v >= 0 && *v <= 1); };
  auto usd = [](double v) { return v >= 0 && v <= 1e9; };
  auto tokens = [](std::int64_t v) { return v >= 0 && v <= 1'000'000'000'000; };
  auto signals = [&](const Signals& s) {
    for (float x : s.embedding)
      if (!std::isfinite(x)) return false;
    return s.task_confidence >= 0 && s.task_confidence <= 1 && tokens(s.prompt_tokens);
  };
  return unit(f.score) && unit(f.outcome) && (!f.lambda || (*f.lambda >= 0 && std::isfinite(*f.lambda))) &&
         usd(f.cost) && usd(f.other_cost) && tokens(f.prompt_tokens) &&
         tokens(f.other_prompt_tokens) && signals(f.signals) &&
         (!f.other_signals || signals(*f.other_signals));
}

}  // namespace

std::optional<LearnEvent> parse_event_json(std::string_view text) {
  try {
    const auto j = nlohmann::json::parse(text);
    LearnEvent e;
    e.route = j.at("route").get<std::string>();
    e.decision_id = j.value("decision", "");
    Feedback& f = e.feedback;
    f.model = j.at("model").get<std::string>();
    f.cost = j.value("cost", 0.0);
    f.prompt_tokens = j.value("prompt_tokens", std::int64_t{0});
    f.prompt_text = j.value("prompt_text", "");
    f.signals = get_signals(j);
    if (j.contains("score")) f.score = j["score"].get<double>();
    if (j.contains("lambda")) f.lambda = j["lambda"].get<double>();
    f.other = j.value("other", "");
    f.other_cost = j.value("other_cost", 0.0);
    if (j.contains("outcome")) f.outcome = j["outcome"].get<double>();
    if (const auto o = j.find("other_context"); o != j.end() && o->is_object()) {
      f.other_signals = get_signals(*o);
      f.other_prompt_text = o->value("prompt_text", "");
      f.other_prompt_tokens = o->value("prompt_tokens", std::int64_t{0});
    }
    if (!plausible(f)) return std::nullopt;
    return e;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Learner::Learner(LearnerOptions options, RuntimeSource runtime, store::FeedbackStore& store,
                 metrics::GatewayMetrics* metrics)
    : options_(std::move(options)),
      runtime_(std::move(runtime)),
      store_(store),
      metrics_(metrics) {}

Learner::~Learner() {
  stop();
}

void Learner::start() {
  {
    std::lock_guard lock(apply_mu_);
    if (auto rt = runtime_()) restore_all(*rt);
  }
  started_ = true;
  thread_ = std::thread([this] { loop(); });
}

void Learner::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  started_ = false;
  redis_.reset();
}

bool Learner::submit(LearnEvent event) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue || stopping_) {
      if (metrics_) metrics_->learned.with({event.route, "dropped"}).inc();
      return false;
    }
    queue_.push_back(std::move(event));
  }
  wake_.notify_one();
  return true;
}

void Learner::apply(const LearnEvent& e) {
  const auto rt = runtime_();
  const RouteRuntime* route = rt ? rt->find_route(e.route) : nullptr;
  auto* policy = route ? dynamic_cast<LearningPolicy*>(route->policy.get()) : nullptr;
  const std::string label = route || (rt && rt->find_model(e.route)) ? e.route : "other";
  if (!policy) {
    if (metrics_) metrics_->learned.with({label, "no_policy"}).inc();
    return;
  }
  if (auto err = policy->observe(e.feedback)) {
    spdlog::debug("feedback on {} not learned by route {}: {}", e.decision_id, e.route,
                  err->message);
    if (metrics_) metrics_->learned.with({label, "rejected"}).inc();
    return;
  }
  applied_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_) metrics_->learned.with({label, "applied"}).inc();
}

void Learner::save_all(Runtime& runtime) {
  for (auto& [name, route] : runtime.routes) {
    auto* policy = dynamic_cast<LearningPolicy*>(route.policy.get());
    if (!policy) continue;
    const auto obs = policy->observations();
    std::string sig = signature(route);
    std::string models = models_of(route);
    if (auto it = saved_.find(name); it != saved_.end() && it->second.observations == obs &&
                                     it->second.signature == sig + '\n' + models)
      continue;
    store::LearningStateRow row;
    row.route = name;
    row.policy = route.config->policy_type;
    row.signature = sig;
    row.models = models;
    row.observations = obs;
    row.stream_id = shared() ? last_id_ : "";
    row.state = policy->save().dump();
    row.time_ms = unix_ms();
    if (auto ok = store_.save_state(row); !ok) {
      spdlog::warn("saving the learning state of route {}: {}", name, ok.error().message);
      continue;
    }
    saved_[name] = Saved{sig + '\n' + models, obs};
  }
}

bool Learner::restore_route(const std::string& name, RouteRuntime& route, bool at_start) {
  auto* policy = dynamic_cast<LearningPolicy*>(route.policy.get());
  if (!policy) return false;
  const std::string sig = signature(route);
  const std::string models = models_of(route);
  auto row = store_.load_state(name, sig, models);
  if (!row) {
    spdlog::info("route {}: no learning state saved for this policy spec and models; starting "
                 "fresh",
                 name);
    return false;
  }
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(row->state);
  } catch (const nlohmann::json::exception& e) {
    spdlog::warn("route {}: the saved learning state is unreadable ({}); starting fresh", name,
                 e.what());
    return false;
  }
  if (auto err = policy->restore(state)) {
    spdlog::warn("route {}: {}; starting fresh", name, err->message);
    return false;
  }
  saved_[name] = Saved{sig + '\n' + models, policy->observations()};
  // The stream position moves only at start: on a reload the other routes have applied the stream
  // up to last_id_ already, and a row saved further on (by another gateway) would skip events.
  if (at_start && shared() && !row->stream_id.empty()) {
    if (!is_stream_id(row->stream_id))
      spdlog::warn("route {}: saved stream position '{}' is not a stream id; ignored", name,
                   row->stream_id);
    else if (id_less(last_id_, row->stream_id))
      last_id_ = row->stream_id;
  }
  spdlog::info("route {}: learning state restored ({} feedback events)", name,
               policy->observations());
  return true;
}

void Learner::restore_all(Runtime& runtime) {
  for (auto& [name, route] : runtime.routes) restore_route(name, route, /*at_start=*/true);
}

void Learner::carry_over(Runtime& old, Runtime& fresh, const std::function<void()>& swap) {
  std::lock_guard lock(apply_mu_);
  // What the old runtime learned and has not saved yet: saved first, so that a route leaving
  // with this reload can come back later with it. A failure to save stops no reload.
  try {
    save_all(old);
  } catch (const std::exception& e) {
    spdlog::warn("saving the learning state before the reload: {}", e.what());
  }
  for (auto& [name, route] : fresh.routes) {
    auto* policy = dynamic_cast<LearningPolicy*>(route.policy.get());
    if (!policy) continue;
    auto it = old.routes.find(name);
    auto* before =
        it != old.routes.end() ? dynamic_cast<LearningPolicy*>(it->second.policy.get()) : nullptr;
    if (before && signature(it->second) == signature(route) &&
        models_of(it->second) == models_of(route)) {
      if (auto err = policy->restore(before->save()))
        spdlog::warn("route {}: learning state not carried over the reload: {}", name,
                     err->message);
    } else {
      restore_route(name, route, /*at_start=*/false);  // new here, or another spec: its saved state
    }
  }
  swap();
}

void Learner::save_now() {
  std::lock_guard lock(apply_mu_);
  if (auto rt = runtime_()) save_all(*rt);
}

redisContext* Learner::connect() {
  if (!redis_) {
    const auto& s = *options_.redis;
    redis_ = std::make_unique<RedisLink>(
        RedisAddress{s.url, s.host, s.port, s.db, std::max(s.timeout, std::chrono::milliseconds(1000))},
        "learning state", "feedback is learned by this gateway only");
  }
  return redis_->get();
}

std::vector<bool> Learner::publish(redisContext* c, const std::deque<LearnEvent>& events) {
  const std::string max = std::to_string(options_.stream_max);
  for (const auto& e : events) {
    const std::string body = event_json(e);
    const char* argv[] = {
        "XADD", options_.stream.c_str(), "MAXLEN", "~", max.c_str(), "*", "e", body.c_str()};
    const std::size_t lens[] = {4, options_.stream.size(), 6, 1, max.size(), 1, 1, body.size()};
    redisAppendCommandArgv(c, 8, argv, lens);
  }
  std::vector<bool> acknowledged(events.size(), false);
  std::string first_id;  // of this batch's entries
  for (std::size_t i = 0; i < events.size(); ++i) {
    void* raw = nullptr;
    if (redis_get_reply(c, &raw) != REDIS_OK || !raw) {
      redis_->down(c->errstr[0] ? c->errstr : "no reply");
      break;  // the rest: unknown, treated as not acknowledged
    }
    Reply r(raw);
    acknowledged[i] = r.r->type == REDIS_REPLY_STRING || r.r->type == REDIS_REPLY_STATUS;
    if (acknowledged[i] && first_id.empty()) first_id = std::string(redis_text(r.r));
  }
  // A position at or past our own new entry (restored from a database copied from elsewhere, a
  // clock that ran ahead) would never read anything again, our own feedback included: read from
  // just before this batch instead.
  if (is_stream_id(first_id)) {
    std::lock_guard lock(apply_mu_);
    if (!id_less(last_id_, first_id)) {
      spdlog::warn("learning state: stream position {} is past the stream's newest entry {}; "
                   "reading on from there",
                   last_id_, first_id);
      last_id_ = id_before(first_id);
    }
  }
  return acknowledged;
}

void Learner::check_position(redisContext* c) {
  // Once per connection: a stream whose newest entry is below the position (Redis restarted empty,
  // or from a snapshot that lost its tail) would give nothing until this gateway publishes
  // (publish() repairs it then). Its entries up to the newest were read before (the position
  // passed them); those after it are new: read on from the newest.
  if (redis_->connections() == checked_connection_) return;
  const char* argv[] = {"XREVRANGE", options_.stream.c_str(), "+", "-", "COUNT", "1"};
  const std::size_t lens[] = {9, options_.stream.size(), 1, 1, 5, 1};
  Reply r(redis_command_argv(c, 6, argv, lens));
  if (!r.r) {
    redis_->down(c->errstr[0] ? c->errstr : "no reply");
    return;
  }
  checked_connection_ = redis_->connections();
  if (r.r->type != REDIS_REPLY_ARRAY) return;
  std::string newest = "0";
  if (r.r->elements == 1 && r.r->element[0]->type == REDIS_REPLY_ARRAY &&
      r.r->element[0]->elements >= 1)
    newest = std::string(redis_text(r.r->element[0]->element[0]));
  if (!is_stream_id(newest)) return;
  std::lock_guard lock(apply_mu_);
  if (id_less(newest, last_id_)) {
    spdlog::warn("learning state: stream position {} is past the stream's newest entry {}; "
                 "reading on from there",
                 last_id_, newest);
    last_id_ = newest;
  }
}

bool Learner::consume(redisContext* c) {
  check_position(c);
  if (!redis_->get()) return false;  // (check_position found it down)
  c = redis_->get();
  // At most this many full reads per poll: a stream that always has more (a flood) must not keep
  // the thread from this gateway's own feedback, saves and stop.
  constexpr int kMaxReads = 20;
  for (int round = 0; round < kMaxReads; ++round) {
    std::string from;
    {
      std::lock_guard lock(apply_mu_);
      from = last_id_;
    }
    const char* argv[] = {"XREAD",     "COUNT", "500", "STREAMS", options_.stream.c_str(),
                          from.c_str()};
    const std::size_t lens[] = {5, 5, 3, 7, options_.stream.size(), from.size()};
    Reply r(redis_command_argv(c, 6, argv, lens));
    if (!r.r) {
      redis_->down(c->errstr[0] ? c->errstr : "no reply");
      return false;
    }
    // (An error reply was logged by the link: RedisLink::error_reply.)
    if (r.r->type != REDIS_REPLY_ARRAY || r.r->elements == 0) return true;  // nil: nothing new
    const redisReply* stream = r.r->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) return true;
    const redisReply* entries = stream->element[1];
    if (entries->type != REDIS_REPLY_ARRAY) return true;
    std::lock_guard lock(apply_mu_);
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
      const std::string_view id = redis_text(entry->element[0]);
      if (!is_stream_id(id) || !id_less(last_id_, std::string(id))) continue;  // not a forward id
      last_id_.assign(id);
      const redisReply* fields = entry->element[1];
      if (fields->type != REDIS_REPLY_ARRAY) continue;
      for (std::size_t k = 0; k + 1 < fields->elements; k += 2) {
        if (redis_text(fields->element[k]) != "e") continue;
        auto e = parse_event_json(redis_text(fields->element[k + 1]));
        if (!e) continue;
        // Already applied here when its XADD looked lost (publish()).
        if (auto u = std::find(unacknowledged_.begin(), unacknowledged_.end(), e->decision_id);
            u != unacknowledged_.end()) {
          unacknowledged_.erase(u);
          continue;
        }
        apply_safely(*e);
      }
    }
    if (entries->elements < 500) return true;
  }
  return true;  // more to read: on the next poll
}

void Learner::apply_safely(const LearnEvent& event) {
  try {
    apply(event);
  } catch (const std::exception& e) {
    spdlog::error("route '{}': feedback on {} not learned: {}", event.route, event.decision_id,
                  e.what());
  }
}

void Learner::loop() {
  auto next_save = std::chrono::steady_clock::now() + options_.save_every;
  const auto poll = shared() ? std::chrono::milliseconds(20) : options_.save_every;
  for (;;) {
    std::deque<LearnEvent> batch;
    bool stop;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, poll, [&] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      stop = stopping_;
    }
    if (shared()) {
      redisContext* c = batch.empty() ? nullptr : connect();
      std::vector<bool> acknowledged(batch.size(), false);
      if (c) acknowledged = publish(c, batch);
      {  // Not acknowledged (Redis down, an error reply): learn locally rather than not at all.
        std::lock_guard lock(apply_mu_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (acknowledged[i]) continue;
          apply_safely(batch[i]);
          unacknowledged_.push_back(batch[i].decision_id);
          if (unacknowledged_.size() > kMaxUnacknowledged) unacknowledged_.pop_front();
        }
      }
      if (redisContext* r = connect()) consume(r);
    } else if (!batch.empty()) {
      std::lock_guard lock(apply_mu_);
      for (const auto& e : batch) apply_safely(e);
    }
    const auto now = std::chrono::steady_clock::now();
    if (stop || now >= next_save) {
      try {
        save_now();
      } catch (const std::exception& e) {
        spdlog::error("learning state not saved: {}", e.what());
      }
      next_save = now + options_.save_every;
    }
    if (stop) return;
  }
}

}  // namespace switchboard::pipeline::learning
