#include "api/chat_request.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace switchboard::api {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", std::move(message));
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

void append_content(simdjson::dom::element content, std::string& out) {
  std::string_view text;
  if (content.get_string().get(text) == simdjson::SUCCESS) {
    out.append(text);
    return;
  }
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) return;
  bool first = true;
  for (auto part : parts) {
    std::string_view type, piece;
    if (part["type"].get_string().get(type) != simdjson::SUCCESS || type != "text") continue;
    if (part["text"].get_string().get(piece) != simdjson::SUCCESS) continue;
    if (!first) out.push_back('\n');
    out.append(piece);
    first = false;
  }
}

}  // namespace

std::string ChatRequest::user_text() const {
  std::string out;
  bool first = true;
  for (const auto& m : messages) {
    if (m.role != "user") continue;
    if (!first) out.push_back('\n');
    out.append(text_of(m));
    first = false;
  }
  return out;
}

std::int64_t estimate_tokens(std::size_t chars) {
  return chars == 0 ? 0 : static_cast<std::int64_t>((chars + 3) / 4);
}

Result<ChatRequest> parse_chat_request(std::string_view body) {
  simdjson::dom::element doc;
  simdjson::padded_string padded(body);
  if (auto err = thread_parser().parse(padded).get(doc); err) {
    return make_error(ErrorKind::kBadRequest, "invalid_json",
                      std::string("request body is not valid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return invalid("request body must be a JSON object");

  ChatRequest req;
  std::string_view model;
  if (root["model"].get_string().get(model) != simdjson::SUCCESS || model.empty())
    return invalid("'model' is required and must be a non-empty string");
  req.model = model;

  if (auto stream = root["stream"]; stream.error() == simdjson::SUCCESS && !stream.is_null()) {
    bool b = false;
    if (stream.get_bool().get(b) != simdjson::SUCCESS) return invalid("'stream' must be a boolean");
    req.stream = b;
  }
  bool include_usage = false;
  if (root["stream_options"]["include_usage"].get_bool().get(include_usage) == simdjson::SUCCESS)
    req.include_usage = include_usage;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    std::int64_t n = 0;
    if (root[key].get_int64().get(n) == simdjson::SUCCESS) req.max_tokens = n;
  }

  simdjson::dom::array messages;
  if (root["messages"].get_array().get(messages) != simdjson::SUCCESS)
    return invalid("'messages' is required and must be an array");
  for (auto message : messages) {
    simdjson::dom::object m;
    if (message.get_object().get(m) != simdjson::SUCCESS)
      return invalid("messages[" + std::to_string(req.message_count) + "] must be an object");
    std::string_view role;
    if (m["role"].get_string().get(role) != simdjson::SUCCESS)
      return invalid("messages[" + std::to_string(req.message_count) + "].role must be a string");
    if (req.message_count > 0) req.prompt_text.push_back('\n');
    MessageSpan span{std::string(role), req.prompt_text.size(), 0};
    if (auto content = m["content"]; content.error() == simdjson::SUCCESS)
      append_content(content.value_unsafe(), req.prompt_text);
    span.length = req.prompt_text.size() - span.offset;
    req.messages.push_back(std::move(span));
    ++req.message_count;
  }
  if (req.message_count == 0) return invalid("'messages' must not be empty");
  req.estimated_prompt_tokens = estimate_tokens(req.prompt_text.size());
  return req;
}

std::string rewrite_model(std::string_view body, std::string_view model) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  auto doc = parser.iterate(padded);
  std::string_view raw;
  if (doc["model"].raw_json_token().get(raw) != simdjson::SUCCESS) return std::string(body);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
    raw.remove_suffix(1);
  auto offset = static_cast<std::size_t>(raw.data() - padded.data());
  std::string out;
  out.reserve(body.size() + model.size());
  out.append(body.substr(0, offset));
  out.append(nlohmann::json(std::string(model)).dump());
  out.append(body.substr(offset + raw.size()));
  return out;
}

}  // namespace switchboard::api
