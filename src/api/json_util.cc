#include "api/json_util.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
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
                      std::string("the request body is not valid JSON: ") +
                          simdjson::error_message(err));
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
