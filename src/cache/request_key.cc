#include "cache/request_key.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <vector>

namespace switchboard::cache {
namespace {

// Two independent 64-bit FNV-1a-style streams (different offsets and a final avalanche): a 128-bit
// key whose collision odds are negligible for any cache size.
struct Hasher {
  std::uint64_t a = 14695981039346656037ull, b = 0x84222325cbf29ce4ull;
  void bytes(std::string_view s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 1099511628211ull;
      b = (b ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
    // A separator that cannot be confused with content: the length.
    const std::uint64_t n = s.size();
    a = (a ^ n) * 1099511628211ull;
    b = (b ^ (n * 31)) * 0x100000001b3ull;
  }
  static std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
  }
  Key128 key() const { return {mix(a), mix(b ^ 0x5bd1e995)}; }
};

bool ignored_field(std::string_view key) {
  return key == "model" || key == "messages" || key == "stream" || key == "stream_options" ||
         key == "user" || key == "metadata" || key == "store" || key == "service_tier";
}

// Tool call ids by order of first appearance in the request: keyed as "#0", "#1", ..., not as
// written, so that an agent's next turn after a cached tool call (whose ids the hit made anew)
// matches the turn recorded after the original answer.
struct CallIds {
  std::unordered_map<std::string_view, std::size_t> seen;
  std::string ordinal(std::string_view id) {
    const auto [it, added] = seen.try_emplace(id, seen.size());
    return "#" + std::to_string(it->second);
  }
};

// Appends `piece` length-prefixed ("5:hello"): a sequence of pieces encoded so reads back one way.
void append_piece(std::string& out, std::string_view piece) {
  out += std::to_string(piece.size());
  out += ':';
  out += piece;
}

// Sorted (key, value) pairs, each length-prefixed.
std::string encode_sorted(std::vector<std::pair<std::string_view, std::string>> fields) {
  std::sort(fields.begin(), fields.end());
  std::string out;
  for (const auto& [k, v] : fields) {
    append_piece(out, k);
    append_piece(out, v);
  }
  return out;
}

// A tool call's fields in key order (a relayed call and a cached one list them in different
// orders), its id by ordinal and its function's name and arguments likewise sorted.
std::string canonical_call(const simdjson::dom::object& call, CallIds& ids) {
  std::vector<std::pair<std::string_view, std::string>> fields;
  for (auto f : call) {
    std::string_view id;
    simdjson::dom::object function;
    if (f.key == "id" && f.value.get_string().get(id) == simdjson::SUCCESS) {
      fields.emplace_back(f.key, ids.ordinal(id));
    } else if (f.key == "function" && f.value.get_object().get(function) == simdjson::SUCCESS) {
      std::vector<std::pair<std::string_view, std::string>> inner;
      for (auto g : function) inner.emplace_back(g.key, simdjson::minify(g.value));
      fields.emplace_back(f.key, "{" + encode_sorted(std::move(inner)));
    } else {
      fields.emplace_back(f.key, simdjson::minify(f.value));
    }
  }
  return encode_sorted(std::move(fields));
}

// A message with more than role and text: each field as written (minified), but tool calls
// canonical (canonical_call) and `tool_call_id` by ordinal.
void hash_message(Hasher& h, const simdjson::dom::object& message, CallIds& ids) {
  for (auto f : message) {
    h.bytes(f.key);
    std::string_view id;
    simdjson::dom::array calls;
    if (f.key == "tool_call_id" && f.value.get_string().get(id) == simdjson::SUCCESS) {
      h.bytes(ids.ordinal(id));
    } else if (f.key == "tool_calls" && f.value.get_array().get(calls) == simdjson::SUCCESS) {
      h.bytes("\x1e" "calls " + std::to_string(calls.size()));
      for (auto call : calls) {
        simdjson::dom::object c;
        h.bytes(call.get_object().get(c) == simdjson::SUCCESS ? "o" + canonical_call(c, ids)
                                                             : "v" + simdjson::minify(call));
      }
    } else {
      h.bytes(simdjson::minify(f.value));
    }
  }
}

simdjson::dom::parser& parser() {
  thread_local simdjson::dom::parser p;
  return p;
}

}  // namespace

std::string Key128::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

std::string collapse_whitespace(std::string_view text) {
  // Written through a pointer into a buffer of the input's size (a push_back per byte cost ~30
  // instructions a byte, most of a semantic hit's normalisation).
  std::string out;
  out.resize(text.size());
  char* const begin = out.data();
  char* o = begin;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      space = o != begin;
      continue;
    }
    if (space) *o++ = ' ';
    space = false;
    *o++ = c;
  }
  out.resize(static_cast<std::size_t>(o - begin));
  return out;
}

std::string_view trim_whitespace(std::string_view text) {
  constexpr std::string_view kSpace = " \n\t\r\f\v";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

Result<NormalisedRequest> normalise(std::string_view body, const api::ChatRequest& req,
                                    std::string_view scope) {
  NormalisedRequest out;
  simdjson::dom::element doc;
  if (parser().parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return make_error(ErrorKind::kBadRequest, "invalid_json", "the body is not a JSON object");
  std::vector<std::pair<std::string_view, std::string>> params;
  simdjson::dom::object top;
  if (doc.get_object().get(top) != simdjson::SUCCESS)
    return make_error(ErrorKind::kBadRequest, "invalid_json", "the body is not a JSON object");
  for (auto field : top) {
    const std::string_view key = field.key;
    if (ignored_field(key)) continue;
    const auto value = field.value;
    if (key == "temperature") {
      double t = 0;
      if (value.is_null()) continue;
      if (value.get_double().get(t) != simdjson::SUCCESS || t != 0) {
        out.deterministic = false;
        out.not_deterministic = "temperature";
      } else {
        params.emplace_back(key, "0");  // 0, 0.0 and 0e0 are one setting: one key
        continue;
      }
    } else if (key == "functions") {  // the legacy form: its answers are not cached
      simdjson::dom::array a;
      if (!value.is_null() && (value.get_array().get(a) != simdjson::SUCCESS || a.size() > 0)) {
        out.deterministic = false;
        out.not_deterministic = "functions";
      }
    } else if (key == "logprobs") {  // a cached answer keeps no token logprobs to give back
      bool on = false;
      out.logprobs = value.get_bool().get(on) == simdjson::SUCCESS && on;
    } else if (key == "tools") {
      simdjson::dom::array a;
      out.has_tools =
          !value.is_null() && (value.get_array().get(a) != simdjson::SUCCESS || a.size() > 0);
    } else if (key == "n") {
      std::int64_t n = 1;
      if (value.is_null()) continue;
      if (value.get_int64().get(n) != simdjson::SUCCESS || n != 1) {
        out.deterministic = false;
        out.not_deterministic = "n";
        out.multiple_choices = true;
      } else {
        continue;  // n: 1 is the default
      }
    }
    params.emplace_back(key, simdjson::minify(value));
  }
  std::sort(params.begin(), params.end());
  Hasher h;
  if (!scope.empty()) {
    h.bytes("\x1escope");
    h.bytes(scope);
  }
  for (const auto& [k, v] : params) {
    h.bytes(k);
    h.bytes(v);
  }
  h.bytes("\x1emessages");
  // Messages: role and normalised text. A message with fields beyond role/content (name,
  // tool_calls, tool_call_id), or whose content has parts other than text (an image), adds its
  // minified object, so such histories match only exactly: two questions about different images
  // must not share an answer.
  simdjson::dom::array messages;
  simdjson::dom::element messages_el;
  if (top.at_key("messages").get(messages_el) == simdjson::SUCCESS &&
      messages_el.get_array().get(messages) == simdjson::SUCCESS && messages.size() > 0) {
    std::size_t i = 0;
    const std::size_t last = messages.size() - 1;
    CallIds call_ids;
    for (auto m : messages) {
      simdjson::dom::object obj;
      if (m.get_object().get(obj) != simdjson::SUCCESS) continue;
      bool extra = false;
      for (auto f : obj) {
        if (f.key != "role" && f.key != "content") extra = true;
        simdjson::dom::array parts;
        if (f.key == "content" && f.value.get_array().get(parts) == simdjson::SUCCESS)
          for (auto part : parts) {
            std::string_view type;
            if (part.at_key("type").get_string().get(type) != simdjson::SUCCESS || type != "text")
              extra = true;
          }
      }
      if (extra) hash_message(h, obj, call_ids);
      if (i < req.messages.size()) {
        h.bytes(req.messages[i].role);
        if (i == last && !extra) {
          out.partition = Hasher::mix(h.a ^ (h.b << 1));
          out.last_text = collapse_whitespace(req.text_of(req.messages[i]));
          h.bytes(trim_whitespace(req.text_of(req.messages[i])));
        } else {
          h.bytes(trim_whitespace(req.text_of(req.messages[i])));
        }
      }
      ++i;
    }
    if (out.partition == 0) out.partition = Hasher::mix(h.a ^ (h.b << 1));  // last had extras
  }
  out.exact = h.key();
  return out;
}

}  // namespace switchboard::cache
