#include "api/responses_references.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/json_util.h"
#include "api/responses_conversation.h"

namespace switchboard::api {

using json = nlohmann::json;

namespace {

constexpr std::size_t kStemDigits = 32;  // random_hex_id()'s

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool is_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_reference(const json& item) {
  return item.is_object() && string_at(item, "type") == "item_reference" &&
         member(item, "id").is_string();
}

class ResponsesItemReferences final : public ItemReferences {
 public:
  explicit ResponsesItemReferences(std::string_view body) {
    if (body.find("item_reference") == std::string_view::npos) return;  // cheap skip
    body_ = parse_json(body);
    if (!body_.is_object()) return;
    const json& in = member(body_, "input");
    if (!in.is_array()) return;
    for (const json& item : in) {
      if (!is_reference(item)) continue;
      const std::string id = item["id"].get<std::string>();
      auto response = minted_item_response(id);
      if (!response) continue;
      wanted_[id];  // unresolved so far
      if (seen_.insert(*response).second) responses_.push_back(std::move(*response));
    }
  }

  Result<std::vector<std::string>> responses() const override {
    if (responses_.size() > kMaxReferencedResponses)
      return invalid_request("input: item_reference items name items of " +
                             std::to_string(responses_.size()) +
                             " stored responses; at most " +
                             std::to_string(kMaxReferencedResponses) +
                             " may be named in one request (send the items themselves, or "
                             "continue with previous_response_id)");
    return responses_;
  }

  void take(std::string_view response) override {
    const json r = parse_json(response);
    const json& output = member(r, "output");
    if (!output.is_array()) return;
    for (const json& item : output) {
      if (!item.is_object() || !member(item, "id").is_string()) continue;
      auto w = wanted_.find(item["id"].get<std::string>());
      if (w == wanted_.end() || w->second) continue;
      if (string_at(item, "type") == "reasoning") {
        w->second = json();  // resolved to nothing
        continue;
      }
      json as_input = responses_output_as_input(json{{"output", json::array({item})}});
      if (as_input.size() == 1) w->second = std::move(as_input[0]);  // else: a kind not kept
    }
  }

  std::optional<std::string> body() const override {
    if (std::none_of(wanted_.begin(), wanted_.end(), [](const auto& w) { return w.second.has_value(); }))
      return std::nullopt;
    json j = body_;
    json input = json::array();
    for (json& item : j["input"]) {
      if (is_reference(item)) {
        auto w = wanted_.find(item["id"].get<std::string>());
        if (w != wanted_.end() && w->second) {
          if (!w->second->is_null()) input.push_back(*w->second);
          continue;
        }
      }
      input.push_back(std::move(item));
    }
    j["input"] = std::move(input);
    return dump_json(j);
  }

 private:
  json body_;
  std::vector<std::string> responses_;
  std::set<std::string> seen_;
  // Item id → what it resolved to (null json: nothing, a reasoning item); nullopt: not yet.
  std::map<std::string, std::optional<json>> wanted_;
};

}  // namespace

std::optional<std::string> minted_item_response(std::string_view id) {
  std::string_view rest;
  for (std::string_view prefix : {"msg_", "fc_", "rs_"})
    if (id.starts_with(prefix)) rest = id.substr(prefix.size());
  if (rest.size() < kStemDigits) return std::nullopt;
  const std::string_view stem = rest.substr(0, kStemDigits);
  const std::string_view tail = rest.substr(kStemDigits);
  if (!is_hex(stem)) return std::nullopt;
  if (!tail.empty() && (tail[0] != '_' || !is_digits(tail.substr(1)))) return std::nullopt;
  return "resp_" + std::string(stem);
}

std::unique_ptr<ItemReferences> responses_item_references(std::string_view body) {
  return std::make_unique<ResponsesItemReferences>(body);
}

}  // namespace switchboard::api
