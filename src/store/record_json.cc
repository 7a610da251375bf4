// The decision record's JSON (GET /v1/decisions/{id}, POST /v1/route, explain): one place for the
// shape of every field.
#include <cmath>

#include "store/decision_store.h"

namespace switchboard::store {

nlohmann::json candidates_json(const std::vector<Candidate>& candidates) {
  auto prediction = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  auto out = nlohmann::json::array();
  for (const auto& c : candidates) {
    out.push_back({{"model", c.model},
                   {"predicted_quality", prediction(c.predicted_quality)},
                   {"predicted_cost", prediction(c.predicted_cost)},
                   {"utility", c.utility ? nlohmann::json(*c.utility) : nlohmann::json(nullptr)},
                   {"eligible", c.eligible},
                   {"note", c.note}});
    if (c.lambda) out.back()["lambda"] = *c.lambda;  // live dual prices (docs/capacity.md)
    if (c.price) out.back()["price"] = *c.price;
  }
  return out;
}

nlohmann::json attempts_json(const std::vector<AttemptRecord>& attempts) {
  auto out = nlohmann::json::array();
  for (const auto& a : attempts) {
    nlohmann::json j = {{"model", a.model}, {"result", a.result}};
    if (!a.replica.empty()) j["replica"] = a.replica;
    if (a.ms) j["ms"] = *a.ms;
    if (a.hedge) j["hedge"] = true;
    if (a.unavailable) j["unavailable"] = a.unavailable;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json calls_json(const std::vector<CallRecord>& calls) {
  auto out = nlohmann::json::array();
  for (const auto& c : calls)
    out.push_back({{"model", c.model},
                   {"replica", c.replica},
                   {"tier", c.tier},
                   {"result", c.result},
                   {"ms", std::isfinite(c.ms) ? c.ms : 0.0},
                   {"prompt_tokens", c.prompt_tokens},
                   {"completion_tokens", c.completion_tokens},
                   {"cost_usd", c.cost_usd},
                   {"score", c.score && std::isfinite(*c.score) ? nlohmann::json(*c.score)
                                                                : nlohmann::json(nullptr)},
                   {"extracted", c.extracted},
                   {"note", c.note},
                   {"accepted", c.accepted}});
  return out;
}

nlohmann::json cache_json(const std::optional<CacheRecord>& c) {
  if (!c) return nullptr;
  nlohmann::json j = {{"status", c->status}};
  if (!c->entry.empty()) j["entry"] = c->entry;
  if (c->similarity) j["similarity"] = *c->similarity;
  if (!c->match.empty()) j["match"] = c->match;
  if (c->status == "hit") j["saved_usd"] = c->saved_usd;
  if (!c->note.empty()) j["note"] = c->note;
  return j;
}

nlohmann::json session_json(const std::optional<SessionRecord>& s) {
  if (!s) return nullptr;
  return {{"kind", s->kind},     {"id", s->id},       {"turn", s->turn},
          {"action", s->action}, {"model", s->model}, {"reason", s->reason}};
}

nlohmann::json stages_json(const std::vector<StageSpan>& stages) {
  auto out = nlohmann::json::array();
  for (const auto& s : stages) out.push_back({{"name", s.name}, {"us", s.us}, {"outcome", s.outcome}});
  return out;
}

nlohmann::json guard_json(const std::vector<GuardCheck>& checks) {
  auto out = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json j = {{"check", c.check}, {"verdict", c.verdict}, {"us", c.us}};
    if (!c.kinds.empty()) {
      nlohmann::json kinds = nlohmann::json::object();
      for (const auto& [kind, n] : c.kinds) kinds[kind] = n;
      j["kinds"] = std::move(kinds);
    }
    if (c.score) j["score"] = *c.score;
    if (c.threshold) j["threshold"] = *c.threshold;
    if (!c.target.empty()) j["target"] = c.target;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json DecisionRecord::to_json() const {
  return {{"id", id},
          {"time_ms", time_ms},
          {"route", route},
          {"api", api},
          {"key", key_name.empty() ? nlohmann::json(nullptr)
                                   : nlohmann::json{{"name", key_name}, {"team", key_team}}},
          {"policy", policy},
          {"model", model},
          {"replica", replica},
          {"reason", reason},
          {"status", status},
          {"outcome", outcome},
          {"error", error_code.empty()
                        ? nlohmann::json(nullptr)
                        : nlohmann::json{{"code", error_code}, {"message", error_message}}},
          {"stream", stream},
          {"latency_ms", latency_ms},
          {"upstream_ms", upstream_ms},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"source", tokens_source}}},
          {"cost_usd", cost_usd},
          {"candidates", candidates_json(candidates)},
          {"attempts", attempts_json(attempts)},
          {"stages", stages_json(stages)},
          {"guard", guard_json(guard)},
          {"calls", calls_json(calls)},
          {"cache", cache_json(cache)},
          {"session", session_json(session)}};
}

}  // namespace switchboard::store
