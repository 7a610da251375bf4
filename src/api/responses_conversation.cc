#include "api/responses_conversation.h"
#include <algorithm>
#include <set>
#include <nlohmann/json.hpp>

#include "api/json_util.h"
#include "core/query_string.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

bool member_is_string(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string();
}

json parse_object(std::string_view text) {
  json j = parse_json(text);
  return j.is_object() ? j : json();
}

// The request's input as items (a string is one user message).
json input_items(const json& request) {
  auto in = request.find("input");
  if (in == request.end()) return json::array();
  if (in->is_string())
    return json::array({{{"type", "message"}, {"role", "user"}, {"content", *in}}});
  return in->is_array() ? *in : json::array();
}

}  // namespace

json responses_output_as_input(const json& response) {
  json out = json::array();
  auto output = response.find("output");
  if (output == response.end() || !output->is_array()) return out;
  for (const json& item : *output) {
    if (!item.is_object()) continue;
    const std::string type = string_at(item, "type");
    if (type == "message") {
      json parts = json::array();
      if (auto c = item.find("content"); c != item.end() && c->is_array())
        for (const json& p : *c)
          if (p.is_object() && string_at(p, "type") == "output_text" &&
              p.contains("text") && p["text"].is_string())
            parts.push_back({{"type", "output_text"}, {"text", p["text"]}});
      if (!parts.empty())
        out.push_back({{"type", "message"}, {"role", "assistant"}, {"content", std::move(parts)}});
    } else if (type == "function_call") {
      json call = {{"type", "function_call"}};
      bool ok = true;
      for (const char* k : {"call_id", "name", "arguments"}) {
        if (!item.contains(k) || !item[k].is_string())
          ok = false;
        else
          call[k] = item[k];
      }
      if (ok) out.push_back(std::move(call));
    } else if (type == "reasoning" && item.contains("id") && item["id"].is_string() &&
               (member_is_string(item, "encrypted_content") || !item.contains("content") ||
                !item["content"].is_array() || item["content"].empty())) {
      // A reasoning model's reasoning, for a native replica to continue from (left out when the
      // next turn is translated to chat). Not kept: reasoning given as its text without
      // encrypted_content — a chat replica's, translated by the gateway under an id no server
      // knows, or a server's that does not encrypt — which a server looking reasoning items up
      // by id (OpenAI's) would refuse on the next turn, wherever the route sends it.
      json reasoning = {{"type", "reasoning"}, {"id", item["id"]}};
      reasoning["summary"] = item.contains("summary") ? item["summary"] : json::array();
      if (item.contains("encrypted_content") && item["encrypted_content"].is_string())
        reasoning["encrypted_content"] = item["encrypted_content"];
      out.push_back(std::move(reasoning));
    }
  }
  return out;
}

namespace {

class ResponsesCapture final : public ConversationCapture {
 public:
  explicit ResponsesCapture(std::string_view request_body) {
    json request = parse_object(request_body);
    if (request.is_object()) input_ = input_items(request);
  }
  void whole(std::string_view body) override { take(parse_object(body)); }
  void event(std::string_view data) override {
    if (data.find("response.completed") == std::string_view::npos &&
        data.find("response.incomplete") == std::string_view::npos)
      return;  // cheap skip of the deltas
    json e = parse_object(data);
    if (!e.is_object()) return;
    const std::string type = string_at(e, "type");
    if (type != "response.completed" && type != "response.incomplete") return;
    if (auto r = e.find("response"); r != e.end()) take(*r);
  }
  std::optional<Stored> result() const override { return stored_; }

 private:
  void take(const json& response) {
    if (!response.is_object() || !response.contains("id") || !response["id"].is_string()) return;
    const std::string status =
        response.contains("status") ? string_at(response, "status") : std::string("completed");
    if (status != "completed" && status != "incomplete") return;
    json items = input_;
    for (json& item : responses_output_as_input(response)) items.push_back(std::move(item));
    json kept = response;
    kept["store"] = true;
    stored_ = Stored{response["id"].get<std::string>(),
                     items.dump(-1, ' ', false, json::error_handler_t::replace),
                     kept.dump(-1, ' ', false, json::error_handler_t::replace)};
  }
  json input_ = json::array();
  std::optional<Stored> stored_;
};

}  // namespace

Error ambiguous_response_id(const std::string& response_id) {
  return make_error(ErrorKind::kBadRequest, "response_id_ambiguous",
                    "More than one stored response has the id '" + response_id +
                        "': the upstream that answered reuses response ids, so which "
                        "conversation is meant cannot be told. Start a new conversation (with "
                        "its own input), or delete this id.");
}

ConversationRequest responses_conversation(std::string_view body) {
  ConversationRequest c;
  json j = parse_object(body);
  if (!j.is_object()) return c;
  // With a provider's `conversation` too it is no continuation to look up: the request parser
  // refuses the pair (400, as OpenAI; it was 404 for an unknown id, 502 for a known one).
  if (auto p = j.find("previous_response_id"); p != j.end() && p->is_string() &&
                                                 (!j.contains("conversation") || j["conversation"].is_null()))
    c.previous_id = p->get<std::string>();
  // Kept unless the body says store: false (OpenAI's default); a `store` of another type is not
  // (the parse refuses it).
  auto s = j.find("store");
  c.store = s == j.end() || s->is_null() || (s->is_boolean() && s->get<bool>());
  return c;
}

Result<std::string> responses_continue(std::string_view body, std::string_view items) {
  json j = parse_object(body);
  if (!j.is_object())
    return make_error(ErrorKind::kBadRequest, "invalid_request", "the body must be a JSON object");
  json history = parse_json(items);
  // Items are objects; anything else was damaged in the store (and would otherwise be blamed on
  // the client's input).
  if (!history.is_array() ||
      !std::all_of(history.begin(), history.end(), [](const json& i) { return i.is_object(); }))
    return make_error(ErrorKind::kInternal, "stored_response_unreadable",
                      "the stored conversation of previous_response_id is not readable");
  auto in = j.find("input");
  if (in != j.end() && !in->is_null() && !in->is_string() && !in->is_array())
    return make_error(ErrorKind::kBadRequest, "invalid_request",
                      "input must be a string or an array of items");
  for (json& item : input_items(j)) history.push_back(std::move(item));
  j["input"] = std::move(history);
  j.erase("previous_response_id");
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unique_ptr<ConversationCapture> responses_capture(std::string_view request_body) {
  return std::make_unique<ResponsesCapture>(request_body);
}


namespace {

// An input item as OpenAI lists it (see responses_input_items).
json listed_item(json item, std::string_view response_id, std::size_t index,
                 std::set<std::string>& seen) {
  if (!item.is_object()) item = json{{"type", "message"}, {"role", "user"}, {"content", item}};
  // As the request parser reads it: an item without a string type is a message.
  if (!item.contains("type") || !item["type"].is_string()) item["type"] = "message";
  const std::string type = item["type"].get<std::string>();
  // Ids are unique within the list (`after` must name one item): a client's id seen before
  // is replaced like a missing one.
  if (!item.contains("id") || !item["id"].is_string() ||
      !seen.insert(item["id"].get<std::string>()).second) {
    std::string_view stem = response_id;
    if (stem.starts_with("resp_")) stem.remove_prefix(5);
    const char* prefix = type == "message"                ? "msg"
                         : type == "function_call"        ? "fc"
                         : type == "function_call_output" ? "fco"
                                                          : "item";
    std::string id = std::string(prefix) + "_" + std::string(stem) + "_" + std::to_string(index);
    while (!seen.insert(id).second) id += "_";
    item["id"] = std::move(id);
  }
  if (type == "message") {
    if (auto c = item.find("content"); c != item.end() && c->is_string()) {
      const auto role = item.find("role");
      const bool assistant = role != item.end() && *role == "assistant";
      *c = json::array({{{"type", assistant ? "output_text" : "input_text"}, {"text", *c}}});
    }
    if (!item.contains("status")) item["status"] = "completed";
  }
  return item;
}

Error bad_query(const std::string& message) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", message);
}

}  // namespace

Result<InputItemsQuery> parse_input_items_query(std::string_view query) {
  InputItemsQuery q;
  const auto fields = parse_query(query);
  if (auto it = fields.find("order"); it != fields.end()) {
    if (it->second != "asc" && it->second != "desc")
      return bad_query("order must be asc or desc, got '" + it->second + "'");
    q.ascending = it->second == "asc";
  }
  if (auto it = fields.find("limit"); it != fields.end()) {
    const auto n = bounded_integer(it->second, 1, 100);
    if (!n) return bad_query("limit must be an integer from 1 to 100, got '" + it->second + "'");
    q.limit = static_cast<int>(*n);
  }
  if (auto it = fields.find("after"); it != fields.end()) q.after = it->second;
  return q;
}

Result<std::string> responses_input_items(std::string_view response_id, std::string_view items,
                                          std::string_view response, const InputItemsQuery& q) {
  json all = parse_json(items);
  json answer = parse_object(response);
  if (!all.is_array() || !answer.is_object())
    return make_error(ErrorKind::kInternal, "stored_response_unreadable",
                      "the stored response's items are not readable");
  const std::size_t outputs = responses_output_as_input(answer).size();
  const std::size_t inputs = all.size() >= outputs ? all.size() - outputs : 0;
  json listed = json::array();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < inputs; ++i)
    listed.push_back(listed_item(std::move(all[i]), response_id, i, seen));
  if (!q.ascending) std::reverse(listed.begin(), listed.end());
  std::size_t start = 0;
  if (!q.after.empty()) {
    while (start < listed.size() && listed[start]["id"] != q.after) ++start;
    if (start == listed.size())
      return bad_query("after: no input item '" + q.after + "' in response '" +
                       std::string(response_id) + "'");
    ++start;
  }
  json data = json::array();
  for (std::size_t i = start; i < listed.size() && data.size() < static_cast<std::size_t>(q.limit);
       ++i)
    data.push_back(std::move(listed[i]));
  const bool more = start + data.size() < listed.size();
  json out = {{"object", "list"},
              {"data", data},
              {"first_id", data.empty() ? json() : data.front()["id"]},
              {"last_id", data.empty() ? json() : data.back()["id"]},
              {"has_more", more}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace switchboard::api
