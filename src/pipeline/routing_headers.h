// Per-request routing preferences sent as HTTP headers, so one deployment serves several tiers:
//
//   x-switchboard-objective: quality | balanced | cost   a named trade-off, mapped to λ by the policy
//   x-switchboard-lambda: <number >= 0>                   explicit λ (quality points per US dollar)
//   x-switchboard-max-cost: <US dollars >= 0>             ceiling on the predicted cost of this call
//
// Contract: apply_routing_headers() sets the matching RouteRequest fields (views into `request`,
// which must outlive `route_request`) and returns an Error (kBadRequest, code "invalid_header",
// naming the header and the accepted values) for a malformed value, or for a header the request
// repeats with different values (RequestHeaders::conflicting). Absent headers change nothing.
#pragma once

#include <optional>
#include <string_view>

#include "pipeline/request_headers.h"
#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {

std::optional<Error> apply_routing_headers(const RequestHeaders& headers, RouteRequest& route_request);

// The header names apply_routing_headers() reads (the front end copies these).
inline constexpr std::string_view kRoutingHeaders[] = {"x-switchboard-objective", "x-switchboard-lambda",
                                                       "x-switchboard-max-cost"};

}  // namespace switchboard::pipeline
