#include "replay/replay_embeddings.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

namespace switchboard::replay {

using nlohmann::json;

namespace {
std::uint64_t fnv1a(std::string_view a, std::string_view b) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));
  mix(b);
  return h;
}

std::string base64(const unsigned char* data, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = std::uint32_t(data[i]) << 16;
    if (i + 1 < n) v |= std::uint32_t(data[i + 1]) << 8;
    if (i + 2 < n) v |= data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

Error invalid(const std::string& m) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", m);
}
}  // namespace

std::vector<float> replay_embedding(std::string_view model, std::string_view input,
                                    std::size_t dimensions) {
  std::mt19937_64 rng(fnv1a(model, input));
  std::vector<float> v(dimensions);
  double norm = 0;
  for (auto& x : v) {
    // Uniform in [-1, 1) from the top 53 bits: the same on every platform.
    x = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0);
    norm += double(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

Result<std::string> embeddings_answer(std::string_view body, std::string_view served_model,
                                      std::size_t default_dimensions) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid("the request body must be a JSON object");
  std::vector<std::string> inputs;
  auto in = j.find("input");
  if (in != j.end() && in->is_string()) {
    inputs.push_back(in->get<std::string>());
  } else if (in != j.end() && in->is_array() && !in->empty()) {
    for (const auto& x : *in) {
      if (!x.is_string()) return invalid("input must be a string or an array of strings");
      inputs.push_back(x.get<std::string>());
    }
  } else {
    return invalid("input must be a string or an array of strings");
  }
  std::size_t dims = default_dimensions;
  if (auto d = j.find("dimensions"); d != j.end() && !d->is_null()) {
    if (!d->is_number_unsigned() || d->get<std::size_t>() < 1 || d->get<std::size_t>() > 8192)
      return invalid("dimensions must be an integer in [1, 8192]");
    dims = d->get<std::size_t>();
  }
  const std::string model = j.contains("model") && j["model"].is_string()
                                ? j["model"].get<std::string>()
                                : std::string(served_model);
  const bool b64 = j.value("encoding_format", "float") == "base64";
  json data = json::array();
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto v = replay_embedding(model, inputs[i], dims);
    json e = {{"object", "embedding"}, {"index", i}};
    if (b64) {
      std::vector<unsigned char> bytes(v.size() * 4);
      std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian hosts
      e["embedding"] = base64(bytes.data(), bytes.size());
    } else {
      e["embedding"] = v;
    }
    data.push_back(std::move(e));
    tokens += static_cast<std::int64_t>((inputs[i].size() + 3) / 4);
  }
  json out = {{"object", "list"},
              {"data", std::move(data)},
              {"model", model},
              {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace switchboard::replay
