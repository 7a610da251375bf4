#include "api/chat_request.h"

#include "api/json_util.h"

#include "api/padded_scratch.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace switchboard::api {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", std::move(message));
}

// A repeated top-level key: named in the message, cut to 64 bytes (at a UTF-8 boundary).
Error duplicate_key(std::string_view key) {
  constexpr std::size_t kShown = 64;
  std::string shown(key.substr(0, kShown));
  if (key.size() > kShown) {
    while (!shown.empty() && (static_cast<unsigned char>(key[shown.size()]) & 0xC0) == 0x80)
      shown.pop_back();
    shown += "...";
  }
  return invalid("duplicate key '" + shown + "' in the request body: each field may appear once");
}

// Appends `text` as a JSON string. Model names are almost always plain printable ASCII, written
// between quotes as they are; anything else (quotes, backslashes, control bytes, non-ASCII) goes
// through nlohmann's serializer, which escapes it and replaces invalid UTF-8.
void append_json_string(std::string& out, std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7F && c != '"' && c != '\\';
  });
  if (!plain) {
    out += nlohmann::json(std::string(text)).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

// The top-level fields the parser reads, found in one pass.
struct Fields {
  std::optional<simdjson::dom::element> model, stream, stream_options, max_tokens,
      max_completion_tokens, messages, user, tools, functions, choices, response_format,
      temperature, top_p;
  void take(std::string_view key, simdjson::dom::element value) {
    if (key == "model") {
      model = value;
    } else if (key == "messages") {
      messages = value;
    } else if (key == "stream") {
      stream = value;
    } else if (key == "stream_options") {
      stream_options = value;
    } else if (key == "max_tokens") {
      max_tokens = value;
    } else if (key == "max_completion_tokens") {
      max_completion_tokens = value;
    } else if (key == "user") {
      user = value;
    } else if (key == "tools") {
      tools = value;
    } else if (key == "functions") {
      functions = value;
    } else if (key == "n") {
      choices = value;
    } else if (key == "response_format") {
      response_format = value;
    } else if (key == "temperature") {
      temperature = value;
    } else if (key == "top_p") {
      top_p = value;
    }
  }
};

// About the length of `e` as minified JSON (strings without their escapes, numbers as 6 bytes),
// without writing it.
std::size_t json_length(simdjson::dom::element e) {
  simdjson::dom::array array;
  simdjson::dom::object object;
  std::string_view text;
  std::size_t n = 2;  // brackets, braces or quotes
  std::size_t items = 0;
  if (e.get_array().get(array) == simdjson::SUCCESS) {
    for (auto v : array) n += json_length(v), ++items;
  } else if (e.get_object().get(object) == simdjson::SUCCESS) {
    for (auto field : object) n += field.key.size() + 3 + json_length(field.value), ++items;
  } else if (e.get_string().get(text) == simdjson::SUCCESS) {
    n += text.size();
  } else {
    n = 6;  // a number, true, false or null
  }
  return items ? n + items - 1 : n;  // commas
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Appends a message's text to `out`; `files` is set when it has a file part; `images` adds its
// image parts' tokens (kImageTokens, or kLowDetailImageTokens for detail "low").
// Appends a message's text to `out`: its string content, or the `text` of its parts joined by
// newlines — of every part that has one, whatever its type (a type the upstream knows and this
// does not, "input_text" say, still reaches the guard, the cache key and the signals). Notes
// files and counts images. An error message (naming messages[i].content) when the content is
// not a string, an array of parts or null, a part is not an object with a string type, or a
// text is not a string: such content was read as "" and forwarded — past the guard, and sharing
// a cache entry with an empty message.
std::optional<std::string> append_content(simdjson::dom::element content, std::size_t message,
                                          std::string& out, bool& files, std::int64_t& images) {
  std::string_view text;
  if (content.get_string().get(text) == simdjson::SUCCESS) {
    out.append(text);
    return std::nullopt;
  }
  // Built on the error path only (a request has many parts).
  const auto where = [message] { return "messages[" + std::to_string(message) + "].content"; };
  simdjson::dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) {
    if (content.is_null()) return std::nullopt;
    return where() + " must be a string, an array of content parts or null";
  }
  bool first = true;
  std::size_t index = 0;
  for (auto part : parts) {
    const auto at = [&where, i = index++] { return where() + "[" + std::to_string(i) + "]"; };
    std::string_view type, piece;
    if (!part.is_object() || part["type"].get_string().get(type) != simdjson::SUCCESS)
      return at() + " must be an object with a string 'type'";
    if (type == "file") files = true;
    if (type == "image_url") {
      std::string_view detail;
      const bool low = part["image_url"]["detail"].get_string().get(detail) == simdjson::SUCCESS &&
                       detail == "low";
      images += low ? kLowDetailImageTokens : kImageTokens;
    }
    auto text_field = part["text"];
    if (text_field.error() == simdjson::NO_SUCH_FIELD) {
      if (type == "text") return at() + ".text is required for a part of type 'text'";
      continue;
    }
    if (text_field.get_string().get(piece) != simdjson::SUCCESS)
      return at() + ".text must be a string";
    if (!first) out.push_back('\n');
    out.append(piece);
    first = false;
  }
  return std::nullopt;
}

// The roles a chat message may have (OpenAI's; "function" is the deprecated tool result).
bool known_role(std::string_view role) {
  for (std::string_view r : {"system", "developer", "user", "assistant", "tool", "function"})
    if (role == r) return true;
  return false;
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

std::int64_t ChatRequest::tokens_needed() const {
  return saturating_add(estimated_prompt_tokens, max_tokens.value_or(0));
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

std::int64_t estimate_tokens(std::size_t chars) {
  // chars / 4 rounded up, without the overflow of (chars + 3) / 4 near SIZE_MAX.
  const std::size_t tokens = chars / 4 + (chars % 4 != 0);
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(tokens, kMax));
}

Result<ChatRequest> parse_chat_request(std::string_view body) {
  simdjson::dom::element doc;
  thread_local PaddedScratch scratch;
  const simdjson::padded_string_view padded = scratch.view(body);
  if (auto err = thread_parser().parse(padded).get(doc); err) {
    return make_error(
        ErrorKind::kBadRequest, "invalid_json",
        "request body is not valid JSON: " + json_error_message(body, err));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS)
    return invalid("request body must be a JSON object");

  // One pass over the top-level fields: finds a repeated key (compared unescaped) and the fields
  // read below. The DOM is already built and validated, so this walks only the top-level keys
  // (a nested value is skipped in O(1)), which is cheaper than a second on-demand pass over the
  // whole body. Up to kInlineKeys keys are compared pairwise in a stack array; larger objects
  // (rare: OpenAI defines about 30 fields) are sorted once.
  constexpr std::size_t kInlineKeys = 16;
  std::array<std::string_view, kInlineKeys> keys;
  std::size_t key_count = 0;
  std::vector<std::string_view> many_keys;
  const bool many = root.size() > kInlineKeys;
  if (many) many_keys.reserve(root.size());
  Fields f;
  for (auto [key, value] : root) {
    if (many) {
      many_keys.push_back(key);
    } else {
      for (std::size_t i = 0; i < key_count; ++i)
        if (keys[i] == key) return duplicate_key(key);
      keys[key_count++] = key;
    }
    f.take(key, value);
  }
  if (many) {
    std::sort(many_keys.begin(), many_keys.end());
    if (auto it = std::adjacent_find(many_keys.begin(), many_keys.end()); it != many_keys.end())
      return duplicate_key(*it);
  }
  const std::size_t values = json_values(doc);
  if (auto nested = nested_duplicate_key(doc))
    return invalid("duplicate key '" + nested->substr(0, 64) +
                   "' in an object of the request body (a message, a content part, a tool call): "
                   "each field may appear once");

  ChatRequest req;
  req.json_values = values;
  std::string_view model;
  if (!f.model || f.model->get_string().get(model) != simdjson::SUCCESS || model.empty())
    return invalid("'model' is required and must be a non-empty string");
  if (model.size() > kMaxModelBytes)
    return invalid("'model' must be at most " + std::to_string(kMaxModelBytes) + " bytes long");
  req.model = model;

  if (f.stream && !f.stream->is_null()) {
    bool b = false;
    if (f.stream->get_bool().get(b) != simdjson::SUCCESS)
      return invalid("'stream' must be a boolean");
    req.stream = b;
  }
  bool include_usage = false;
  if (f.stream_options &&
      (*f.stream_options)["include_usage"].get_bool().get(include_usage) == simdjson::SUCCESS)
    req.include_usage = include_usage;
  std::string_view format;
  if (f.response_format &&
      (*f.response_format)["type"].get_string().get(format) == simdjson::SUCCESS)
    req.json_output = format == "json_object" || format == "json_schema";
  // max_tokens wins over max_completion_tokens when both are given; both must be valid.
  for (auto [name, element] : {std::pair{"max_completion_tokens", f.max_completion_tokens},
                               std::pair{"max_tokens", f.max_tokens}}) {
    if (!element || element->is_null()) continue;
    std::int64_t n = 0;
    if (element->get_int64().get(n) != simdjson::SUCCESS || n < 0 || n > kMaxOutputTokens)
      return invalid(std::string("'") + name + "' must be an integer between 0 and " +
                     std::to_string(kMaxOutputTokens));
    req.max_tokens = n;
  }

  // Sampling settings the cache and the decision read: a number in OpenAI's range, or null.
  for (auto [name, element, most] : {std::tuple{"temperature", f.temperature, 2.0},
                                     std::tuple{"top_p", f.top_p, 1.0}}) {
    if (!element || element->is_null()) continue;
    double v = 0;
    if (element->get_double().get(v) != simdjson::SUCCESS || !(v >= 0 && v <= most))
      return invalid(std::string("'") + name + "' must be a number between 0 and " +
                     (most == 2.0 ? "2" : "1"));
  }

  if (f.choices && !f.choices->is_null()) {
    std::int64_t n = 0;
    if (f.choices->get_int64().get(n) != simdjson::SUCCESS || n < 1 || n > kMaxChoices)
      return invalid("'n' must be an integer between 1 and " + std::to_string(kMaxChoices));
    req.choices = n;
  }

  // `user`: kept when it is a string (sessions, docs/sessions.md); anything else passes through.
  if (std::string_view user; f.user && f.user->get_string().get(user) == simdjson::SUCCESS)
    req.user = user;

  simdjson::dom::array messages;
  if (!f.messages || f.messages->get_array().get(messages) != simdjson::SUCCESS)
    return invalid("'messages' is required and must be an array");
  // Read by the model beside the messages' text (estimated_prompt_tokens).
  std::size_t beside_text = 0;
  std::int64_t images = 0;
  for (const auto& defs : {f.tools, f.functions})
    if (defs && !defs->is_null()) beside_text += json_length(*defs);
  for (auto message : messages) {
    simdjson::dom::object m;
    if (message.get_object().get(m) != simdjson::SUCCESS)
      return invalid("messages[" + std::to_string(req.message_count) + "] must be an object");
    std::string_view role;
    if (m["role"].get_string().get(role) != simdjson::SUCCESS || !known_role(role))
      return invalid("messages[" + std::to_string(req.message_count) +
                     "].role must be one of system, developer, user, assistant, tool, function");
    if (req.message_count > 0) req.prompt_text.push_back('\n');
    MessageSpan span{std::string(role), req.prompt_text.size(), 0};
    if (auto content = m["content"]; content.error() == simdjson::SUCCESS)
      if (auto bad = append_content(content.value_unsafe(), req.message_count, req.prompt_text,
                                    req.has_files, images))
        return invalid(*bad);
    simdjson::dom::array calls;
    if (m["tool_calls"].get_array().get(calls) == simdjson::SUCCESS)
      for (auto call : calls) {
        std::string_view name, arguments;
        if (call["function"]["name"].get_string().get(name) == simdjson::SUCCESS)
          beside_text += name.size();
        if (call["function"]["arguments"].get_string().get(arguments) == simdjson::SUCCESS)
          beside_text += arguments.size();
      }
    span.length = req.prompt_text.size() - span.offset;
    req.messages.push_back(std::move(span));
    ++req.message_count;
  }
  if (req.message_count == 0) return invalid("'messages' must not be empty");
  req.estimated_prompt_tokens = estimate_tokens(req.prompt_text.size() + beside_text) + images;
  return req;
}

std::string rewrite_model(std::string_view body, std::string_view model) {
  // The key is matched unescaped ("mod\u0065l" is "model"), as parse_chat_request read it.
  thread_local simdjson::ondemand::parser parser;
  thread_local PaddedScratch scratch;
  const simdjson::padded_string_view padded = scratch.view(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS)
    return std::string(body);
  std::string_view raw;
  bool found = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return std::string(body);
    if (key != "model") continue;
    if (field.value().raw_json_token().get(raw) != simdjson::SUCCESS) return std::string(body);
    found = true;
    break;
  }
  if (!found) return std::string(body);
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
    raw.remove_suffix(1);
  auto offset = static_cast<std::size_t>(raw.data() - padded.data());
  std::string out;
  out.reserve(body.size() + model.size());
  out.append(body.substr(0, offset));
  append_json_string(out, model);
  out.append(body.substr(offset + raw.size()));
  return out;
}

namespace {

// The top-level members of the JSON object `body`: {offset of the key's opening quote, whether the
// key (unescaped) is "reasoning_effort"}; nullopt when it is not a readable object.
std::optional<std::vector<std::pair<std::size_t, bool>>> top_level_keys(std::string_view body) {
  thread_local simdjson::ondemand::parser parser;
  thread_local PaddedScratch scratch;
  const simdjson::padded_string_view padded = scratch.view(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS)
    return std::nullopt;
  std::vector<std::pair<std::size_t, bool>> keys;
  for (auto field : root) {
    simdjson::ondemand::field f;
    if (std::move(field).get(f) != simdjson::SUCCESS) return std::nullopt;
    const auto at = static_cast<std::size_t>(f.key().raw() - padded.data()) - 1;
    std::string_view key;
    if (f.unescaped_key().get(key) != simdjson::SUCCESS) return std::nullopt;
    keys.emplace_back(at, key == "reasoning_effort");
  }
  return keys;
}

bool any_effort(const std::vector<std::pair<std::size_t, bool>>& keys) {
  return std::any_of(keys.begin(), keys.end(), [](const auto& k) { return k.second; });
}

// Cheap first: false when `body` has neither "effort" nor an escape that could spell it.
bool may_have_effort(std::string_view body) {
  return body.find("effort") != std::string_view::npos ||
         body.find("\\u") != std::string_view::npos;
}

}  // namespace

bool has_reasoning_effort(std::string_view body) {
  if (!may_have_effort(body)) return false;
  const auto keys = top_level_keys(body);
  return keys && any_effort(*keys);
}

std::string with_reasoning_effort(std::string_view body, std::string_view effort) {
  const auto open = body.find_first_not_of(" \t\r\n");
  if (open == std::string_view::npos || body[open] != '{' || has_reasoning_effort(body))
    return std::string(body);
  const auto next = body.find_first_not_of(" \t\r\n", open + 1);
  std::string out;
  out.reserve(body.size() + effort.size() + 24);
  out.append(body.substr(0, open + 1)).append("\"reasoning_effort\":");
  append_json_string(out, effort);
  if (next != std::string_view::npos && body[next] != '}') out.push_back(',');
  out.append(body.substr(open + 1));
  return out;
}

std::string without_reasoning_effort(std::string_view body) {
  if (!may_have_effort(body)) return std::string(body);
  // The other members are kept byte for byte (a re-serialisation would change what a parser that
  // reads the first of duplicate keys sees): each runs from its key's opening quote to the comma
  // before the next key, or to the closing brace; they are joined again with commas.
  const auto keys = top_level_keys(body);
  const auto close = body.find_last_of('}');
  if (!keys || !any_effort(*keys) || close == std::string_view::npos) return std::string(body);
  std::string out(body.substr(0, keys->front().first));
  out.reserve(body.size());
  bool first = true;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    if ((*keys)[i].second) continue;
    const std::size_t end =
        i + 1 < keys->size() ? body.find_last_of(',', (*keys)[i + 1].first) : close;
    if (!first) out.push_back(',');
    out.append(body.substr((*keys)[i].first, end - (*keys)[i].first));
    first = false;
  }
  out.append(body.substr(close));
  return out;
}

}  // namespace switchboard::api
