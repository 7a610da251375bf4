#include "api/sse.h"

#include <simdjson.h>

namespace switchboard::api {

void SseParser::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_line_.append(bytes);
      return;
    }
    if (partial_line_.empty()) {
      line(bytes.substr(0, nl));
    } else {
      partial_line_.append(bytes.substr(0, nl));
      std::string l = std::move(partial_line_);
      partial_line_.clear();
      line(l);
    }
    bytes.remove_prefix(nl + 1);
  }
}

void SseParser::finish() {
  if (!partial_line_.empty()) {
    std::string l = std::move(partial_line_);
    partial_line_.clear();
    line(l);
  }
  line("");
}

void SseParser::line(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.empty()) {  // blank line: dispatch
    if (has_data_) on_data_(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment
  auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  }
}

namespace {

simdjson::ondemand::parser& meter_parser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

std::optional<Usage> usage_of(simdjson::ondemand::value usage) {
  Usage u;
  std::int64_t n = 0;
  if (usage["prompt_tokens"].get_int64().get(n) == simdjson::SUCCESS) u.prompt_tokens = n;
  if (usage["completion_tokens"].get_int64().get(n) == simdjson::SUCCESS) u.completion_tokens = n;
  return u;
}

}  // namespace

std::optional<Usage> parse_usage(std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (meter_parser().iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::value usage;
  if (doc["usage"].get(usage) != simdjson::SUCCESS) return std::nullopt;
  if (usage.is_null()) return std::nullopt;
  return usage_of(usage);
}

void StreamMeter::on_event(std::string_view data) {
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  simdjson::padded_string padded(data);
  simdjson::ondemand::document doc;
  if (meter_parser().iterate(padded).get(doc) != simdjson::SUCCESS) return;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return;
    simdjson::ondemand::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return;
    if (key == "error") {
      error_ = true;
    } else if (key == "usage") {
      if (!value.is_null()) usage_ = usage_of(value);
    } else if (key == "choices") {
      simdjson::ondemand::array choices;
      if (value.get_array().get(choices) != simdjson::SUCCESS) continue;
      for (auto choice : choices) {
        std::string_view content;
        if (choice["delta"]["content"].get_string().get(content) == simdjson::SUCCESS && !content.empty()) {
          ++content_chunks_;
          content_chars_ += content.size();
        }
      }
    }
  }
}

}  // namespace switchboard::api
