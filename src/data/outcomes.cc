#include "data/outcomes.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

namespace switchboard::data {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& what) {
  return make_error(ErrorKind::kBadRequest, "bad_outcomes", where + ": " + what);
}

// Reads an optional non-negative finite number; false when present but ill-typed.
bool read_number(const json& obj, const char* key, std::optional<double>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_number()) return false;
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return false;
  out = v;
  return true;
}

std::optional<Error> parse_outcome(const json& j, const std::string& field,
                                   const std::string& where, ModelOutcome& out) {
  if (!j.is_object()) return bad(where, field + " must be an object");
  std::optional<double> score, cost, latency;
  if (!read_number(j, "score", score) || !score || *score > 1)
    return bad(where, field + ".score must be a number in [0, 1]");
  // Bounded so that sums over millions of records stay finite (1e308 three times was inf).
  constexpr double kMaxCostUsd = 1e9, kMaxLatencyMs = 1e12;
  if (!read_number(j, "cost", cost) || !cost || *cost > kMaxCostUsd)
    return bad(where, field + ".cost must be a number of USD in [0, 1e9]");
  if (!read_number(j, "latency_ms", latency) || (latency && *latency > kMaxLatencyMs))
    return bad(where, field + ".latency_ms must be a number in [0, 1e12]");
  out.score = *score;
  out.cost = *cost;
  out.latency_ms = latency;
  if (auto it = j.find("response"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad(where, field + ".response must be a string");
    out.response = it->get<std::string>();
  }
  return std::nullopt;
}

std::optional<Error> parse_messages(const json& root, const std::string& where,
                                    std::vector<Message>& out) {
  if (auto it = root.find("messages"); it != root.end()) {
    if (!it->is_array() || it->empty()) return bad(where, "messages must be a non-empty array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& m = (*it)[i];
      std::string field = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) return bad(where, field + " must be an object");
      auto role = m.find("role");
      auto content = m.find("content");
      // The roles a served request may have (api/chat_request.cc): a record the gateway would
      // refuse is refused here, at its line, not by a training run halfway through.
      static constexpr std::string_view kRoles[] = {"system",    "developer", "user",
                                                    "assistant", "tool",      "function"};
      if (role == m.end() || !role->is_string() ||
          std::find(std::begin(kRoles), std::end(kRoles), role->get_ref<const std::string&>()) ==
              std::end(kRoles))
        return bad(where, field +
                              ".role must be one of system, developer, user, assistant, tool, "
                              "function");
      if (content == m.end() || !content->is_string())
        return bad(where, field + ".content must be a string");
      out.push_back({role->get<std::string>(), content->get<std::string>()});
    }
    return std::nullopt;
  }
  auto prompt = root.find("prompt");
  if (prompt == root.end()) return bad(where, "one of prompt or messages is required");
  if (!prompt->is_string()) return bad(where, "prompt must be a string");
  out.push_back({"user", prompt->get<std::string>()});
  return std::nullopt;
}

}  // namespace

std::string PromptRecord::user_text() const {
  std::string out;
  bool first = true;
  for (const auto& m : messages) {
    if (m.role != "user") continue;
    if (!first) out.push_back('\n');
    out += m.content;
    first = false;
  }
  return out;
}

void append_conversation_part(std::string& key, std::string_view role, std::string_view text) {
  key += role;
  key.push_back('\x1f');
  key += text;
  key.push_back('\x1e');
}

std::string PromptRecord::conversation_key() const {
  std::string out;
  for (const auto& m : messages) append_conversation_part(out, m.role, m.content);
  return out;
}

std::vector<std::string> Outcomes::models() const {
  std::set<std::string> names;
  for (const auto& r : records)
    for (const auto& [model, _] : r.outcomes) names.insert(model);
  return {names.begin(), names.end()};
}

Result<PromptRecord> parse_outcome_line(std::string_view line, const std::string& where) {
  json root = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return bad(where, "not valid JSON");
  if (!root.is_object()) return bad(where, "a line must be a JSON object");

  PromptRecord rec;
  auto id = root.find("id");
  if (id == root.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    return bad(where, "id must be a non-empty string");
  rec.id = id->get<std::string>();
  if (auto err = parse_messages(root, where, rec.messages)) return *err;
  if (auto task = root.find("task"); task != root.end() && !task->is_null()) {
    if (!task->is_string()) return bad(where, "task must be a string");
    rec.task = task->get<std::string>();
  }
  auto outcomes = root.find("outcomes");
  if (outcomes == root.end() || !outcomes->is_object())
    return bad(where, "outcomes must be an object keyed by model name");
  for (const auto& [model, value] : outcomes->items()) {
    ModelOutcome o;
    if (auto err = parse_outcome(value, "outcomes." + model, where, o)) return *err;
    rec.outcomes.emplace(model, std::move(o));
  }
  return rec;
}

Result<Outcomes> read_outcomes_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot open outcomes file");
  Outcomes out;
  std::unordered_set<std::string> ids;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(number);
    auto rec = parse_outcome_line(line, where);
    if (!rec) return rec.error();
    if (!ids.insert(rec->id).second)
      return bad(where, "id '" + rec->id + "' repeats an earlier line");
    out.records.push_back(std::move(rec).value());
  }
  if (in.bad()) return bad(path, "read error");
  return out;
}

std::string to_jsonl_line(const PromptRecord& record) {
  json j = json::object();
  j["id"] = record.id;
  if (record.messages.size() == 1 && record.messages[0].role == "user") {
    j["prompt"] = record.messages[0].content;
  } else {
    json messages = json::array();
    for (const auto& m : record.messages)
      messages.push_back({{"role", m.role}, {"content", m.content}});
    j["messages"] = std::move(messages);
  }
  if (!record.task.empty()) j["task"] = record.task;
  json outcomes = json::object();
  for (const auto& [model, o] : record.outcomes) {
    json v = {{"score", o.score}, {"cost", o.cost}};
    if (o.latency_ms) v["latency_ms"] = *o.latency_ms;
    if (o.response) v["response"] = *o.response;
    outcomes[model] = std::move(v);
  }
  j["outcomes"] = std::move(outcomes);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::size_t> write_outcomes_jsonl(const Outcomes& outcomes, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return make_error(ErrorKind::kInternal, "write_failed", "cannot open " + path + " for writing");
  for (const auto& r : outcomes.records) out << to_jsonl_line(r) << '\n';
  out.flush();
  if (!out) return make_error(ErrorKind::kInternal, "write_failed", "write to " + path + " failed");
  return outcomes.records.size();
}

}  // namespace switchboard::data
