#include "guard/redact.h"
#include "api/json_util.h"
#include "guard/literal_starts.h"

#include <algorithm>
#include <optional>
#include <span>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace switchboard::guard {

std::string redact_text(std::string_view text, std::uint64_t mask, Redaction& r) {
  const PiiScanner& scanner = PiiScanner::instance();
  const auto matches = scanner.scan(text, mask);
  if (r.counts.size() < scanner.kinds().size()) r.counts.resize(scanner.kinds().size(), 0);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const PiiMatch& m : matches) {
    out.append(text.substr(pos, m.begin - pos));
    const std::string_view value = text.substr(m.begin, m.end - m.begin);
    const std::string& prefix = scanner.placeholder(m.kind);
    std::string key = prefix + '\n';
    key.append(value);
    auto [it, made] = r.made.try_emplace(std::move(key), r.placeholders.size());
    if (made) {
      int& number = r.last_number[prefix];
      std::string placeholder;
      do placeholder = "[" + prefix + "_" + std::to_string(++number) + "]";
      while (r.taken.contains(placeholder));
      r.placeholders.emplace_back(std::move(placeholder), std::string(value));
    }
    ++r.counts[m.kind];
    out += r.placeholders[it->second].first;
    pos = m.end;
  }
  out.append(text.substr(pos));
  return out;
}

namespace {
// The length of the placeholder-shaped span ('[' A-Z+ '_' digits ']') at text[at], or 0.
std::size_t placeholder_at(std::string_view text, std::size_t at) {
  std::size_t k = at + 1;
  while (k < text.size() && text[k] >= 'A' && text[k] <= 'Z') ++k;
  if (k == at + 1 || k >= text.size() || text[k] != '_') return 0;
  const std::size_t digits = ++k;
  while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
  if (k == digits || k >= text.size() || text[k] != ']') return 0;
  return k + 1 - at;
}
}  // namespace

void note_taken_placeholders(std::string_view text, Redaction& r) {
  for (std::size_t at = text.find('['); at != std::string_view::npos; at = text.find('[', at + 1))
    if (const std::size_t n = placeholder_at(text, at)) r.taken.emplace(text.substr(at, n));
}

namespace {
// Values that are no one's words: identifiers, enumerations, names of functions and models, URLs
// and base64 payloads (scanning an image's base64 finds "card numbers"), signatures.
bool structural_key(std::string_view key) {
  static constexpr std::string_view kStructuralKeys[] = {
      "model",     "role",         "type",          "id",        "tool_call_id",
      "call_id",   "tool_use_id",  "name",          "url",       "data",
      "file_data", "file_id",      "media_type",    "mime_type", "detail",
      "format",    "signature",    "encrypted_content", "object", "status",
      "encoding_format", "service_tier", "reasoning_effort", "previous_response_id"};
  for (std::string_view k : kStructuralKeys)
    if (k == key) return true;
  return false;
}

// Calls `f` on every string value of `j` that the guard reads (see scan_body).
template <typename F>
void for_each_text(nlohmann::json& j, const F& f) {
  if (j.is_string()) {
    f(j.get_ref<std::string&>());
  } else if (j.is_array()) {
    for (auto& v : j) for_each_text(v, f);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!it->is_string() || !structural_key(it.key())) for_each_text(*it, f);
  }
}
}  // namespace

BodyScan scan_body(std::string_view body, std::uint64_t mask) {
  const PiiScanner& scanner = PiiScanner::instance();
  BodyScan out;
  out.counts.assign(scanner.kinds().size(), 0);
  auto j = api::parse_json(body);  // nesting bounded: for_each_text recurses
  if (j.is_discarded()) return out;
  for_each_text(j, [&](std::string& text) {
    for (const PiiMatch& m : scanner.scan(text, mask)) {
      ++out.counts[m.kind];
      ++out.matches;
    }
  });
  return out;
}

Result<std::string> redact_chat_body(std::string_view body, std::uint64_t mask, Redaction& r) {
  auto j = api::parse_json(body);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::kBadRequest, "invalid_json", "the request body is not JSON");
  for_each_text(j, [&](std::string& text) { note_taken_placeholders(text, r); });
  for_each_text(j, [&](std::string& text) { text = redact_text(text, mask, r); });
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
// The JSON string escape of `s` without its quotes.
std::string json_escaped(std::string_view s) {
  std::string quoted =
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

std::string restore_plain(std::string_view text,
                          const std::vector<std::pair<std::string, std::string>>& placeholders) {
  // A placeholder ends at the first ']' after its '[': looked up whole, in a table made at the
  // first '[' when there are many (comparing each '[' with each placeholder was quadratic).
  constexpr std::size_t kManyPlaceholders = 16;
  std::unordered_map<std::string_view, std::string_view> table;
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find('[', pos);
    if (open == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const std::size_t n = placeholder_at(text, open);
    const std::string_view candidate = text.substr(open, n);
    std::optional<std::string_view> value;
    if (n != 0 && placeholders.size() > kManyPlaceholders) {
      if (table.empty())
        for (const auto& [p, v] : placeholders) table.emplace(p, v);
      if (auto it = table.find(candidate); it != table.end()) value = it->second;
    } else if (n != 0) {
      for (const auto& [p, v] : placeholders)
        if (p == candidate) {
          value = v;
          break;
        }
    }
    if (value) {
      out += *value;
      pos = open + n;
    } else {
      out += '[';
      pos = open + 1;
    }
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}
}  // namespace

std::string restore_text(std::string_view text,
                         const std::vector<std::pair<std::string, std::string>>& placeholders) {
  return restore_plain(text, placeholders);
}

std::string unrestore_text(std::string_view text,
                           const std::vector<std::pair<std::string, std::string>>& placeholders) {
  // Leftmost first, and the longest value where several start at one place.
  std::vector<std::string_view> values;
  values.reserve(placeholders.size());
  for (const auto& p : placeholders) values.push_back(p.second);
  const auto starts = LiteralStarts(values).find(text);
  if (starts.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const auto& [at, index] : starts) {
    if (at < pos) continue;  // inside the value replaced last
    out.append(text.substr(pos, at - pos));
    out += placeholders[index].first;
    pos = at + placeholders[index].second.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::string restore_json_text(
    std::string_view json, const std::vector<std::pair<std::string, std::string>>& placeholders) {
  std::vector<std::pair<std::string, std::string>> escaped;
  escaped.reserve(placeholders.size());
  for (const auto& [p, v] : placeholders) escaped.emplace_back(p, json_escaped(v));
  return restore_plain(json, escaped);
}

namespace {
// Restores the strings under `keys` in place (JSON text in a string).
void restore_json_strings(nlohmann::json& j, std::span<const std::string_view> keys,
                          const std::vector<std::pair<std::string, std::string>>& placeholders) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string() && std::find(keys.begin(), keys.end(), it.key()) != keys.end())
        *it = restore_json_text(it->get_ref<const std::string&>(), placeholders);
      else
        restore_json_strings(*it, keys, placeholders);
    }
  } else if (j.is_array()) {
    for (auto& v : j) restore_json_strings(v, keys, placeholders);
  }
}
}  // namespace

std::string restore_answer_json(
    std::string_view json, const std::vector<std::pair<std::string, std::string>>& placeholders,
    bool content_is_json) {
  static constexpr std::array<std::string_view, 2> kKeys = {"arguments", "content"};
  const std::span<const std::string_view> keys(kKeys.data(), content_is_json ? 2 : 1);
  bool has_key = false;
  for (std::string_view k : keys)
    has_key |= json.find("\"" + std::string(k) + "\"") != std::string_view::npos;
  if (!has_key) return restore_json_text(json, placeholders);
  auto j = api::parse_json(json);
  if (j.is_discarded()) return restore_json_text(json, placeholders);
  restore_json_strings(j, keys, placeholders);
  return restore_json_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                           placeholders);
}

std::string unrestore_json_text(
    std::string_view text, const std::vector<std::pair<std::string, std::string>>& placeholders) {
  std::vector<std::pair<std::string, std::string>> escaped;
  escaped.reserve(placeholders.size());
  for (const auto& [p, v] : placeholders) escaped.emplace_back(p, json_escaped(v));
  return unrestore_text(unrestore_text(text, escaped), placeholders);
}

std::size_t placeholder_prefix_suffix(std::string_view text) {
  // A placeholder is '[' + A-Z+ + '_' + digits + ']'; at most 24 bytes are held.
  const std::size_t from = text.size() > 24 ? text.size() - 24 : 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    if (text[i] != '[') continue;
    std::size_t k = i + 1;
    while (k < text.size() && text[k] >= 'A' && text[k] <= 'Z') ++k;
    if (k < text.size() && text[k] == '_' && k > i + 1) {
      ++k;
      while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
    }
    if (k == text.size()) return text.size() - i;
  }
  return 0;
}

StreamRestorer::StreamRestorer(std::vector<std::pair<std::string, std::string>> placeholders,
                               bool content_is_json)
    : placeholders_(std::move(placeholders)), content_is_json_(content_is_json) {}

std::string StreamRestorer::restore_field(std::size_t f, std::string_view text) const {
  return json_field(f) ? restore_json_text(text, placeholders_) : restore_plain(text, placeholders_);
}

std::string StreamRestorer::feed(std::string_view in) {
  // Events end with a blank line: a line end ("\n", "\r\n" or a lone "\r") right after a line
  // end. Each byte is looked at once (scan_ and blank_ carry over between pieces): searching every
  // separator from each event to the end of the piece was quadratic.
  pending_.append(in);
  std::string out;
  std::size_t start = 0, i = scan_;
  const std::size_t n = pending_.size();
  while (i < n) {
    const char c = pending_[i];
    if (after_cr_) {  // the last piece ended with a "\r": a "\n" now is its "\r\n"
      after_cr_ = false;
      if (c == '\n') {
        if (start == i) {  // the event ended at the "\r" and went out: so does its "\n"
          out += '\n';
          start = i + 1;
        }
        ++i;
        continue;
      }
    }
    if (c != '\r' && c != '\n') {
      blank_ = false;
      ++i;
      continue;
    }
    std::size_t next = i + 1;
    if (c == '\r' && next < n && pending_[next] == '\n') ++next;
    if (c == '\r' && i + 1 == n) after_cr_ = true;  // its "\n", if any, is in the next piece
    if (blank_) {  // the line that ends here is empty: the event ends with it
      out += process_event(std::string_view(pending_).substr(start, next - start));
      start = next;
    }
    blank_ = true;
    i = next;
  }
  pending_.erase(0, start);
  scan_ = i - start;
  return out;
}

bool StreamRestorer::Held::empty() const {
  for (const auto& t : text)
    if (!t.empty()) return false;
  return arguments.empty();
}

namespace {
// A tool call's arguments piece as a delta's tool_calls entry.
nlohmann::json arguments_delta(std::size_t index, std::string arguments) {
  return {{"index", index}, {"function", {{"arguments", std::move(arguments)}}}};
}
}  // namespace

std::string StreamRestorer::flush_held() {
  std::string out;
  for (std::size_t i = 0; i < held_.size(); ++i) {
    nlohmann::json delta = nlohmann::json::object();
    for (std::size_t f = 0; f < kTextFields.size(); ++f) {
      if (held_[i].text[f].empty()) continue;
      delta[kTextFields[f]] = restore_field(f, held_[i].text[f]);
      held_[i].text[f].clear();
    }
    for (auto& [call, held] : held_[i].arguments)
      delta["tool_calls"].push_back(arguments_delta(call, restore_json_text(held, placeholders_)));
    held_[i].arguments.clear();
    if (delta.empty()) continue;
    nlohmann::json ev = {{"object", "chat.completion.chunk"},
                         {"choices",
                          {{{"index", i}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
    out += "data: " + ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
  }
  return out;
}

std::string StreamRestorer::process_event(std::string_view event) {
  // One "data: " line holding a JSON object, else passed through.
  std::string_view line = event;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (!line.starts_with("data:") || line.find_first_of("\r\n") != std::string_view::npos)
    return std::string(event);
  std::string_view data = line.substr(5);
  if (!data.empty() && data.front() == ' ') data.remove_prefix(1);
  if (data == "[DONE]") return flush_held() + std::string(event);
  bool holding = false;
  for (const auto& h : held_) holding |= !h.empty();
  if (!holding && data.find('[') == std::string_view::npos) return std::string(event);
  auto j = api::parse_json(data);
  if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array())
    return std::string(event);
  for (auto& choice : j["choices"]) {
    if (!choice.is_object()) continue;
    // An index that is not a small unsigned integer (a float past any integer's range is UB to
    // convert) leaves the choice as it is.
    std::size_t index = 0;
    if (auto i = choice.find("index"); i != choice.end()) {
      if (i->is_number_unsigned()) {
        index = i->get<std::size_t>();
      } else if (i->is_number() && i->get<double>() >= 0 && i->get<double>() <= 1024 &&
                 i->get<double>() == static_cast<double>(static_cast<int>(i->get<double>()))) {
        index = static_cast<std::size_t>(i->get<double>());  // 0.0
      } else {
        continue;
      }
    }
    if (index > 1024) continue;
    if (held_.size() <= index) held_.resize(index + 1);
    Held& held = held_[index];
    const bool finished = choice.contains("finish_reason") && !choice["finish_reason"].is_null();
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    auto calls = delta->find("tool_calls");
    const bool has_calls = calls != delta->end() && calls->is_array() && !calls->empty();
    // Held text of one field or call is released with the next piece of another.
    bool carries_text = has_calls;
    for (const char* field : kTextFields) {
      auto it = delta->find(field);
      carries_text |= it != delta->end() && it->is_string();
    }
    // `text` (held before it prepended) restored, keeping back a possible placeholder's start.
    auto restore_piece = [&](std::string text, std::string& keep_back, bool json) {
      if (!finished) {
        const std::size_t keep = placeholder_prefix_suffix(text);
        keep_back = text.substr(text.size() - keep);
        text.resize(text.size() - keep);
      }
      return json ? restore_json_text(text, placeholders_) : restore_plain(text, placeholders_);
    };
    for (std::size_t f = 0; f < kTextFields.size(); ++f) {
      std::string& kept = held.text[f];
      auto value = delta->find(kTextFields[f]);
      if (value == delta->end() || !value->is_string()) {
        if ((finished || carries_text) && !kept.empty()) {
          (*delta)[kTextFields[f]] = restore_field(f, kept);
          kept.clear();
        }
        continue;
      }
      std::string text = std::move(kept) + value->get<std::string>();
      kept.clear();
      *value = restore_piece(std::move(text), kept, json_field(f));
    }
    // Tool calls' arguments, per call index.
    std::vector<std::size_t> pieces;  // calls with a piece in this delta
    if (has_calls)
      for (auto& call : *calls) {
        if (!call.is_object() || !call.contains("index") || !call["index"].is_number_unsigned())
          continue;
        const auto at = call["index"].get<std::size_t>();
        auto fn = call.find("function");
        if (fn == call.end() || !fn->is_object()) continue;
        auto args = fn->find("arguments");
        if (args == fn->end() || !args->is_string()) continue;
        pieces.push_back(at);
        std::string text = args->get<std::string>();
        if (auto h = held.arguments.find(at); h != held.arguments.end()) {
          text = std::move(h->second) + text;
          held.arguments.erase(h);
        }
        std::string kept;
        *args = restore_piece(std::move(text), kept, true);
        if (!kept.empty()) held.arguments[at] = std::move(kept);
      }
    auto out_calls = delta->find("tool_calls");  // held arguments go out in it (not if malformed)
    const bool can_release =
        out_calls == delta->end() || out_calls->is_null() || out_calls->is_array();
    if ((finished || carries_text) && can_release) {
      // Before this delta's own calls: a reader may take a new index as the end of the last one.
      nlohmann::json released = nlohmann::json::array();
      for (auto it = held.arguments.begin(); it != held.arguments.end();) {
        if (std::find(pieces.begin(), pieces.end(), it->first) != pieces.end()) {
          ++it;
          continue;
        }
        released.push_back(arguments_delta(it->first, restore_json_text(it->second, placeholders_)));
        it = held.arguments.erase(it);
      }
      if (!released.empty()) {
        auto& list = (*delta)["tool_calls"];
        if (list.is_array()) released.insert(released.end(), list.begin(), list.end());
        list = std::move(released);
      }
    }
  }
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string StreamRestorer::finish() {
  std::string out = flush_held();
  if (!pending_.empty()) out += process_event(pending_);
  pending_.clear();
  scan_ = 0;
  blank_ = true;
  after_cr_ = false;
  return out;
}

}  // namespace switchboard::guard
