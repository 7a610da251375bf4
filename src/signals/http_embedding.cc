#include "signals/http_embedding.h"

#include "config/secret_env.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace switchboard::signals {

namespace {

Error bad_response(std::string message) {
  return make_error(ErrorKind::kUpstreamError, "embedding_bad_response", "embedding endpoint: " + std::move(message));
}

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::string embedding_input(std::string_view text) {
  if (text.size() <= kEmbeddingHeadBytes + kEmbeddingTailBytes) return std::string(text);
  std::size_t head = kEmbeddingHeadBytes;
  while (head > 0 && continuation(static_cast<unsigned char>(text[head]))) --head;
  std::size_t tail = text.size() - kEmbeddingTailBytes;
  while (tail < text.size() && continuation(static_cast<unsigned char>(text[tail]))) ++tail;
  std::string out(text.substr(0, head));
  out += '\n';
  out += text.substr(tail);
  return out;
}

std::string embeddings_request_body(std::string_view model, std::span<const std::string> inputs) {
  nlohmann::json j;
  j["model"] = model;
  if (inputs.size() == 1) {
    j["input"] = inputs[0];
  } else {
    j["input"] = nlohmann::json::array();
    for (const auto& t : inputs) j["input"].push_back(t);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<std::vector<float>>> parse_embeddings_response(std::string_view body, std::size_t expected) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return bad_response("the answer is not JSON");
  simdjson::dom::array data;
  if (doc["data"].get_array().get(data) != simdjson::SUCCESS) return bad_response("the answer has no `data` array");
  if (data.size() != expected)
    return bad_response("expected " + std::to_string(expected) + " embedding(s), got " + std::to_string(data.size()));
  std::vector<std::vector<float>> out(expected);
  std::size_t position = 0;
  for (simdjson::dom::element item : data) {
    std::size_t slot = position++;
    std::int64_t index = 0;
    if (item["index"].get_int64().get(index) == simdjson::SUCCESS) {
      if (index < 0 || static_cast<std::size_t>(index) >= expected) return bad_response("data[].index out of range");
      slot = static_cast<std::size_t>(index);
    }
    if (!out[slot].empty()) return bad_response("data[].index " + std::to_string(slot) + " appears twice");
    simdjson::dom::array values;
    if (item["embedding"].get_array().get(values) != simdjson::SUCCESS)
      return bad_response("data[" + std::to_string(slot) + "].embedding is not an array (ask for encoding_format float)");
    std::vector<float>& v = out[slot];
    // Read as doubles, then scaled by the largest magnitude before the norm is taken: a value past
    // float's range (1e39) or whose square overflows (1e300) still gives a unit vector, never an
    // inf or a NaN (a NaN predicted quality won every comparison and stuck in a bandit's arm).
    std::vector<double> raw;
    raw.reserve(values.size());
    double largest = 0;
    for (simdjson::dom::element x : values) {
      double d = 0;
      if (x.get_double().get(d) != simdjson::SUCCESS) {
        std::int64_t i = 0;
        if (x.get_int64().get(i) != simdjson::SUCCESS)
          return bad_response("data[" + std::to_string(slot) + "].embedding holds a non-number");
        d = static_cast<double>(i);
      }
      if (!std::isfinite(d)) return bad_response("data[" + std::to_string(slot) + "].embedding holds a non-finite number");
      largest = std::max(largest, std::abs(d));
      raw.push_back(d);
    }
    if (raw.empty()) return bad_response("data[" + std::to_string(slot) + "].embedding is empty");
    if (!(largest > 0)) return bad_response("data[" + std::to_string(slot) + "].embedding is all zeros");
    double norm2 = 0;
    for (double d : raw) norm2 += (d / largest) * (d / largest);  // each term at most 1
    const double norm = std::sqrt(norm2);  // of the scaled vector: in [1, sqrt(n)]
    v.reserve(raw.size());
    for (double d : raw) v.push_back(static_cast<float>((d / largest) / norm));
    if (v.size() != out[0].size() && !out[0].empty())
      return bad_response("the embeddings have different lengths");
  }
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].size() != out[0].size()) return bad_response("the embeddings have different lengths");
  return out;
}

Result<HttpEmbeddingEndpoint> make_http_endpoint(const ExtractorOptions& o) {
  auto bad = [](std::string m) { return make_error(ErrorKind::kBadRequest, "bad_config", std::move(m)); };
  if (!o.http_embedding()) return bad("signals.embedding.provider is not http");
  if (o.embedding_url.empty() || o.embedding_model.empty())
    return bad("signals.embedding with provider http needs url and model");
  auto url = config::parse_url(o.embedding_url);
  if (!url) return bad("signals.embedding.url: " + url.error().message);
  HttpEmbeddingEndpoint ep;
  ep.url = std::move(*url);
  const std::string& base = ep.url.base_path;
  ep.target = base.ends_with("/v1") ? base + "/embeddings" : base + "/v1/embeddings";
  ep.model = o.embedding_model;
  ep.timeout = o.embedding_timeout;
  if (!o.embedding_api_key_env.empty()) {
    auto key = config::secret_from_env(o.embedding_api_key_env, "signals.embedding.api_key_env");
    if (!key) return key.error();
    if (key->empty())
      return bad("signals.embedding.api_key_env: environment variable " + o.embedding_api_key_env + " is not set");
    ep.authorization = "Bearer " + *key;
  }
  return ep;
}

}  // namespace switchboard::signals
