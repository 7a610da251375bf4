#include "pipeline/routing_headers.h"

#include <charconv>
#include <cmath>
#include <string>

namespace switchboard::pipeline {
namespace {

Error invalid(std::string_view header, std::string_view value, std::string_view expected) {
  return make_error(ErrorKind::kBadRequest, "invalid_header",
                    std::string(header) + ": '" + std::string(value) + "' is not valid; expected " +
                        std::string(expected));
}

// A finite number >= 0, written as plain decimal (no sign, no spaces).
std::optional<double> parse_non_negative(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Error> apply_routing_headers(const RequestHeaders& headers, RouteRequest& rr) {
  if (!headers.conflicting.empty())
    return make_error(ErrorKind::kBadRequest, "invalid_header",
                      std::string(headers.conflicting) +
                          " appears more than once with different values; send it once");
  if (auto it = headers.find("x-switchboard-objective")) {
    std::string_view v = *it;
    if (v != "quality" && v != "balanced" && v != "cost")
      return invalid("x-switchboard-objective", v, "one of quality, balanced, cost");
    rr.objective = v;
  }
  if (auto it = headers.find("x-switchboard-lambda")) {
    auto v = parse_non_negative(*it);
    if (!v) return invalid("x-switchboard-lambda", *it, "a number >= 0 (quality points per US dollar)");
    rr.lambda = *v;
  }
  if (auto it = headers.find("x-switchboard-max-cost")) {
    auto v = parse_non_negative(*it);
    if (!v) return invalid("x-switchboard-max-cost", *it, "a number of US dollars >= 0");
    rr.max_cost = *v;
  }
  return std::nullopt;
}

}  // namespace switchboard::pipeline
