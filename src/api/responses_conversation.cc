#include "api/responses_conversation.h"

#include <nlohmann/json.hpp>

namespace switchboard::api {

using json = nlohmann::json;

namespace {

json parse_object(std::string_view text) {
  json j = json::parse(text, nullptr, false);
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

// A response's output items as input items for a later request.
json output_items(const json& response) {
  json out = json::array();
  auto output = response.find("output");
  if (output == response.end() || !output->is_array()) return out;
  for (const json& item : *output) {
    if (!item.is_object()) continue;
    const std::string type = item.value("type", std::string());
    if (type == "message") {
      json parts = json::array();
      if (auto c = item.find("content"); c != item.end() && c->is_array())
        for (const json& p : *c)
          if (p.is_object() && p.value("type", std::string()) == "output_text" &&
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
    }
  }
  return out;
}

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
    const std::string type = e.value("type", std::string());
    if (type != "response.completed" && type != "response.incomplete") return;
    if (auto r = e.find("response"); r != e.end()) take(*r);
  }
  std::optional<Stored> result() const override { return stored_; }

 private:
  void take(const json& response) {
    if (!response.is_object() || !response.contains("id") || !response["id"].is_string()) return;
    const std::string status = response.value("status", std::string("completed"));
    if (status != "completed" && status != "incomplete") return;
    json items = input_;
    for (json& item : output_items(response)) items.push_back(std::move(item));
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

ConversationRequest responses_conversation(std::string_view body) {
  ConversationRequest c;
  json j = parse_object(body);
  if (!j.is_object()) return c;
  if (auto p = j.find("previous_response_id"); p != j.end() && p->is_string())
    c.previous_id = p->get<std::string>();
  if (auto s = j.find("store"); s != j.end() && s->is_boolean()) c.store = s->get<bool>();
  return c;
}

Result<std::string> responses_continue(std::string_view body, std::string_view items) {
  json j = parse_object(body);
  if (!j.is_object())
    return make_error(ErrorKind::kBadRequest, "invalid_request", "the body must be a JSON object");
  json history = json::parse(items, nullptr, false);
  if (!history.is_array())
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

}  // namespace switchboard::api
