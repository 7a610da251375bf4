#include "api/responses_meter.h"
#include "api/json_util.h"

#include <nlohmann/json.hpp>
#include <string>

namespace switchboard::api {

using json = nlohmann::json;

namespace {
std::optional<Usage> usage_of(const json& response) {
  if (!response.is_object()) return std::nullopt;
  auto it = response.find("usage");
  if (it == response.end() || !it->is_object()) return std::nullopt;
  auto tokens = [&](const char* key) -> std::int64_t {
    auto t = it->find(key);
    return t != it->end() && t->is_number_integer() ? t->get<std::int64_t>() : 0;
  };
  if (!it->contains("input_tokens") && !it->contains("output_tokens")) return std::nullopt;
  std::int64_t cached = 0;
  if (auto d = it->find("input_tokens_details"); d != it->end() && d->is_object())
    if (auto c = d->find("cached_tokens"); c != d->end() && c->is_number_integer())
      cached = c->get<std::int64_t>();
  return Usage{tokens("input_tokens"), tokens("output_tokens"), cached};
}
}  // namespace

std::optional<Usage> responses_usage(std::string_view response_json) {
  json j = parse_json(response_json);
  if (j.is_discarded()) return std::nullopt;
  return usage_of(j);
}

void ResponsesStreamMeter::on_event(std::string_view data) {
  if (done_) return;  // the answer ended: what a server sends after it is not read
  json j = parse_json(data);
  if (j.is_discarded() || !j.is_object()) {
    // ([DONE], chat's end, which some servers add to this API's streams too, is not one.)
    if (data.find_first_not_of(" \t\r\n") != std::string_view::npos && data != "[DONE]")
      bad_event_ = true;
    return;
  }
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return;
  const std::string& type = t->get_ref<const std::string&>();
  if (type == "response.output_text.delta" || type == "response.function_call_arguments.delta") {
    ++chunks_;
  } else if (type == "response.completed" || type == "response.incomplete" ||
             type == "response.failed") {
    done_ = true;
    if (type == "response.failed") error_ = true;
    if (auto r = j.find("response"); r != j.end())
      if (auto u = usage_of(*r)) usage_ = u;
  } else if (type == "error") {
    error_ = true;
  }
}

}  // namespace switchboard::api
