#include "api/json_util.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "api/padded_scratch.h"

namespace switchboard::api {

const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string string_at(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> int_at(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = member(j, key);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<std::int64_t>();
}

bool json_nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  const char* const data = text.data();
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const char c = data[i++];
    if (c == '"') {
      // Skip the string with memchr (most of an answer's bytes are in strings): its end is the
      // next quote preceded by an even run of backslashes.
      for (;;) {
        const void* quote = std::memchr(data + i, '"', n - i);
        if (!quote) return true;  // unterminated: nothing nests further
        const std::size_t q = static_cast<std::size_t>(static_cast<const char*>(quote) - data);
        std::size_t backslashes = 0;
        while (q - backslashes > i && data[q - backslashes - 1] == '\\') ++backslashes;
        i = q + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

namespace {
std::optional<std::string> duplicate_in(const simdjson::dom::element& e, bool top) {
  if (e.is_array()) {
    for (auto v : simdjson::dom::array(e))
      if (v.is_array() || v.is_object())
        if (auto d = duplicate_in(v, false)) return d;
    return std::nullopt;
  }
  if (!e.is_object()) return std::nullopt;
  const simdjson::dom::object o(e);
  if (!top) {
    constexpr std::size_t kInline = 16;
    std::array<std::string_view, kInline> small;
    std::vector<std::string_view> many;
    std::size_t n = 0;
    const bool large = o.size() > kInline;
    for (auto field : o) {
      if (large) {
        many.push_back(field.key);
        continue;
      }
      for (std::size_t i = 0; i < n; ++i)
        if (small[i] == field.key) return std::string(field.key);
      small[n++] = field.key;
    }
    if (large) {
      std::sort(many.begin(), many.end());
      if (auto twin = std::adjacent_find(many.begin(), many.end()); twin != many.end())
        return std::string(*twin);
    }
  }
  for (auto field : o)
    if (field.value.is_array() || field.value.is_object())
      if (auto d = duplicate_in(field.value, false)) return d;
  return std::nullopt;
}
}  // namespace

namespace {

// Whether `token` is a JSON number (RFC 8259's grammar) that simdjson holds: an integer within
// 64 bits (signed, or unsigned when not negative), else a finite double.
bool number_held(std::string_view token) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') ++i;
    return i > from;
  };
  if (i < token.size() && token[i] == '-') ++i;
  if (i < token.size() && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  bool integer = true;
  if (i < token.size() && token[i] == '.') {
    ++i;
    integer = false;
    if (!digits()) return false;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    integer = false;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  if (i != token.size()) return false;
  const std::string text(token);
  errno = 0;
  if (integer) {
    if (text.front() == '-') {
      (void)std::strtoll(text.c_str(), nullptr, 10);
    } else {
      (void)std::strtoull(text.c_str(), nullptr, 10);
    }
    return errno != ERANGE;
  }
  const double value = std::strtod(text.c_str(), nullptr);
  return std::isfinite(value);
}

// "the number N of 'key'" for the first number in `body` that is not held, or "".
std::string unheld_number(std::string_view body) {
  std::string_view key;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"') {  // a string: a key when a ':' follows it
      const std::size_t start = ++i;
      while (i < body.size() && body[i] != '"') i += body[i] == '\\' ? 2 : 1;
      if (i >= body.size()) return {};
      std::size_t j = i + 1;
      while (j < body.size() && std::strchr(" \t\n\r", body[j]) && body[j] != '\0') ++j;
      if (j < body.size() && body[j] == ':') key = body.substr(start, i - start);
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    std::size_t j = i;
    while (j < body.size() && std::strchr("+-0123456789.eE", body[j]) && body[j] != '\0') ++j;
    const std::string_view token = body.substr(i, j - i);
    if (!number_held(token)) {
      const auto cut = [](std::string_view s) {
        return s.size() > 64 ? std::string(s.substr(0, 64)) + "..." : std::string(s);
      };
      return "the number " + cut(token) + (key.empty() ? "" : " of '" + cut(key) + "'") +
             " is malformed or out of range";
    }
    i = j - 1;
  }
  return {};
}

}  // namespace

std::size_t json_values(const simdjson::dom::element& doc) {
  std::size_t n = 0;
  if (doc.is_array()) {
    const simdjson::dom::array a(doc);
    for (auto v : a) n += 1 + ((v.is_array() || v.is_object()) ? json_values(v) : 0);
  } else if (doc.is_object()) {
    for (auto field : simdjson::dom::object(doc))
      n += 1 + ((field.value.is_array() || field.value.is_object()) ? json_values(field.value) : 0);
  }
  return n;
}

std::size_t json_values(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  thread_local PaddedScratch scratch;
  simdjson::dom::element doc;
  if (parser.parse(scratch.view(text)).get(doc) != simdjson::SUCCESS) return 0;
  return json_values(doc);
}

std::optional<std::string> top_level_value(std::string_view body, std::string_view key) {
  thread_local simdjson::dom::parser parser;
  thread_local PaddedScratch scratch;
  simdjson::dom::element doc, value;
  if (parser.parse(scratch.view(body)).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return std::nullopt;
  if (root.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return simdjson::minify(value);
}

std::string with_first_member(std::string_view body, std::string_view key, std::string_view raw) {
  const auto open = body.find_first_not_of(" \t\r\n");
  if (open == std::string_view::npos || body[open] != '{') return std::string(body);
  const auto next = body.find_first_not_of(" \t\r\n", open + 1);
  std::string out;
  out.reserve(body.size() + key.size() + raw.size() + 8);
  out.append(body.substr(0, open + 1)).append("\"").append(key).append("\":").append(raw);
  if (next != std::string_view::npos && body[next] != '}') out.push_back(',');
  out.append(body.substr(open + 1));
  return out;
}

std::string json_error_message(std::string_view body, simdjson::error_code error) {
  std::string message = simdjson::error_message(error);
  if (error == simdjson::NUMBER_ERROR) {
    if (std::string where = unheld_number(body); !where.empty()) message += ": " + where;
  }
  return message;
}

std::optional<std::string> nested_duplicate_key(const simdjson::dom::element& doc) {
  return duplicate_in(doc, true);
}

Result<nlohmann::json> parse_request_object(std::string_view body) {
  // simdjson validates first, in linear time and with a nesting limit (1024 levels), and finds a
  // repeated top-level key. nlohmann's parser with a callback (how keys used to be checked)
  // rescans a container at every object that closes in it — quadratic in an array of objects,
  // seconds for a few hundred KB — and a value nested 100,000 deep overflowed the stack when the
  // translators copied it.
  thread_local simdjson::dom::parser parser;
  thread_local PaddedScratch scratch;
  simdjson::dom::element doc;
  if (auto err = parser.parse(scratch.view(body)).get(doc); err)
    return make_error(ErrorKind::kBadRequest, "invalid_json",
                      "the request body is not valid JSON: " + json_error_message(body, err));
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS)
    return invalid_request("the request body must be a JSON object");
  std::vector<std::string_view> keys;  // unescaped, valid while the parser's document lives
  keys.reserve(root.size());
  for (auto field : root) keys.push_back(field.key);
  std::sort(keys.begin(), keys.end());
  if (auto twin = std::adjacent_find(keys.begin(), keys.end()); twin != keys.end()) {
    std::string repeated(*twin);
    if (repeated.size() > 64) repeated = repeated.substr(0, 64) + "...";
    return invalid_request("duplicate key '" + repeated + "' in the request body: each field may appear once");
  }
  if (auto nested = nested_duplicate_key(doc)) {
    if (nested->size() > 64) *nested = nested->substr(0, 64) + "...";
    return invalid_request("duplicate key '" + *nested +
                           "' in an object of the request body: each field may appear once");
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())  // not expected after simdjson accepted it
    return make_error(ErrorKind::kBadRequest, "invalid_json", "the request body is not valid JSON");
  return j;
}

}  // namespace switchboard::api
