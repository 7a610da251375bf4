#include "replay/replay_core.h"

#include <simdjson.h>

#include <cmath>

namespace switchboard::replay {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", std::move(message));
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// The text of a message's content: a string, or the text parts of an array joined by "\n".
std::string content_text(simdjson::dom::element content) {
  std::string_view text;
  if (content.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  std::string out;
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) return out;
  bool first = true;
  for (auto part : parts) {
    std::string_view type, piece;
    if (part["type"].get_string().get(type) != simdjson::SUCCESS || type != "text") continue;
    if (part["text"].get_string().get(piece) != simdjson::SUCCESS) continue;
    if (!first) out.push_back('\n');
    out.append(piece);
    first = false;
  }
  return out;
}

}  // namespace

Result<ReplayRequest> parse_replay_request(std::string_view body) {
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = thread_parser().parse(padded).get(doc); err) {
    return make_error(
        ErrorKind::kBadRequest, "invalid_json",
        std::string("request body is not valid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS)
    return invalid("request body must be a JSON object");

  ReplayRequest req;
  if (auto model = root["model"]; model.error() == simdjson::SUCCESS && !model.is_null()) {
    std::string_view m;
    if (model.get_string().get(m) != simdjson::SUCCESS) return invalid("'model' must be a string");
    req.model = m;
  }
  if (auto stream = root["stream"]; stream.error() == simdjson::SUCCESS && !stream.is_null()) {
    if (stream.get_bool().get(req.stream) != simdjson::SUCCESS)
      return invalid("'stream' must be a boolean");
  }
  bool include_usage = false;
  if (root["stream_options"]["include_usage"].get_bool().get(include_usage) == simdjson::SUCCESS)
    req.include_usage = include_usage;

  simdjson::dom::array messages;
  if (root["messages"].get_array().get(messages) != simdjson::SUCCESS)
    return invalid("'messages' is required and must be an array");
  if (messages.size() == 0) return invalid("'messages' must not be empty");
  std::size_t index = 0, users = 0;
  for (auto message : messages) {
    std::string where = "messages[" + std::to_string(index++) + "]";
    simdjson::dom::object m;
    if (message.get_object().get(m) != simdjson::SUCCESS)
      return invalid(where + " must be an object");
    std::string_view role;
    if (m["role"].get_string().get(role) != simdjson::SUCCESS)
      return invalid(where + ".role must be a string");
    std::string text;
    if (auto content = m["content"]; content.error() == simdjson::SUCCESS)
      text = content_text(content.value_unsafe());
    req.prompt_chars += utf8_length(text);
    if (role != "user") continue;
    if (users++) req.prompt_key.push_back('\n');
    req.prompt_key += text;
  }
  return req;
}

TokenUsage compute_usage(std::size_t prompt_chars, std::size_t response_chars,
                         std::optional<double> cost, const Prices& prices) {
  TokenUsage u;
  u.prompt_tokens = std::max<std::int64_t>(1, static_cast<std::int64_t>((prompt_chars + 3) / 4));
  std::int64_t fallback =
      std::max<std::int64_t>(1, static_cast<std::int64_t>((response_chars + 3) / 4));
  u.completion_tokens = fallback;
  if (cost && prices.output_per_mtok > 0) {
    double rest = *cost - static_cast<double>(u.prompt_tokens) * prices.input_per_mtok / 1e6;
    double tokens = rest / (prices.output_per_mtok / 1e6);
    if (rest > 0 && std::isfinite(tokens))
      u.completion_tokens = std::max<std::int64_t>(1, std::llround(tokens));
  }
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string prompt_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  auto folded = static_cast<std::uint32_t>(h ^ (h >> 32));
  for (int i = 7; i >= 0; --i, folded >>= 4) out[static_cast<std::size_t>(i)] = kHex[folded & 0xF];
  return out;
}

std::string placeholder_response(std::string_view model, std::string_view prompt_key) {
  return "This is a replayed placeholder from " + std::string(model) +
         ": no answer was recorded for prompt " + prompt_hash(prompt_key) + ".";
}

std::vector<std::string_view> split_pieces(std::string_view text, std::size_t chars) {
  std::vector<std::string_view> out;
  if (chars == 0) chars = 1;
  std::size_t start = 0, count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool lead = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (lead && count == chars) {
      out.push_back(text.substr(start, i - start));
      start = i;
      count = 0;
    }
    count += lead;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

Fault pick_fault(double u, double error_rate, double hang_rate, double drop_rate) {
  if (u < error_rate) return Fault::kError;
  if (u < error_rate + hang_rate) return Fault::kHang;
  if (u < error_rate + hang_rate + drop_rate) return Fault::kDrop;
  return Fault::kNone;
}

ReplayBook ReplayBook::build(const data::Outcomes& outcomes, const std::string& model) {
  ReplayBook book;
  for (const auto& record : outcomes.records) {
    auto it = record.outcomes.find(model);
    if (it == record.outcomes.end()) continue;
    auto [slot, inserted] = book.answers_.try_emplace(record.user_text());
    if (inserted || (!slot->second.response && it->second.response))
      slot->second = RecordedAnswer{it->second.response, it->second.cost};
  }
  return book;
}

const RecordedAnswer* ReplayBook::find(const std::string& prompt_key) const {
  auto it = answers_.find(prompt_key);
  return it == answers_.end() ? nullptr : &it->second;
}

Answer answer_for(const ReplayBook& book, const ReplayRequest& request, const std::string& model,
                  const Prices& prices) {
  Answer a;
  std::optional<double> cost;
  if (const RecordedAnswer* rec = book.find(request.prompt_key)) {
    cost = rec->cost;
    if (rec->response) {
      a.text = *rec->response;
      a.recorded = true;
    }
  }
  if (!a.recorded) a.text = placeholder_response(model, request.prompt_key);
  a.usage = compute_usage(request.prompt_chars, utf8_length(a.text), cost, prices);
  return a;
}

}  // namespace switchboard::replay
