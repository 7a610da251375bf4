#include "pipeline/routing_headers.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace switchboard::pipeline {
namespace {

// As the front end copies them: names lower-cased (HTTP header names are case-insensitive).
struct Headers : RequestHeaders {
  std::vector<std::string> names;
};
Headers with(std::initializer_list<std::pair<const char*, const char*>> headers) {
  Headers h;
  h.names.reserve(headers.size());
  for (auto [k, v] : headers) {
    std::string n = k;
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h.names.push_back(std::move(n));
    h.add(h.names.back(), v);
  }
  return h;
}

TEST(RoutingHeaders, AbsentHeadersChangeNothing) {
  auto req = with({});
  RouteRequest rr;
  EXPECT_FALSE(apply_routing_headers(req, rr));
  EXPECT_TRUE(rr.objective.empty());
  EXPECT_FALSE(rr.lambda);
  EXPECT_FALSE(rr.max_cost);
}

TEST(RoutingHeaders, ReadsObjectiveLambdaAndMaxCost) {
  auto req = with({{"x-switchboard-objective", "cost"}, {"X-Switchboard-Lambda", "250.5"},
                   {"x-switchboard-max-cost", "0.002"}});
  RouteRequest rr;
  EXPECT_FALSE(apply_routing_headers(req, rr));
  EXPECT_EQ(rr.objective, "cost");
  ASSERT_TRUE(rr.lambda);
  EXPECT_DOUBLE_EQ(*rr.lambda, 250.5);
  ASSERT_TRUE(rr.max_cost);
  EXPECT_DOUBLE_EQ(*rr.max_cost, 0.002);
}

// Since session 28: a header repeated with different values is refused (the first one won: a
// proxy's appended max-cost lost to the client's); repeated with the same value it is one.
TEST(RoutingHeaders, RejectsAHeaderRepeatedWithDifferentValues) {
  auto same = with({{"x-switchboard-max-cost", "0.01"}, {"X-Switchboard-Max-Cost", "0.01"}});
  RouteRequest rr;
  EXPECT_FALSE(apply_routing_headers(same, rr));
  auto differ = with({{"x-switchboard-max-cost", "5"}, {"x-switchboard-lambda", "1"},
                      {"x-switchboard-max-cost", "0.01"}});
  auto err = apply_routing_headers(differ, rr);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, "invalid_header");
  EXPECT_NE(err->message.find("x-switchboard-max-cost appears more than once"), std::string::npos);
  auto keys = with({{"authorization", "Bearer a"}, {"authorization", "Bearer b"}});
  ASSERT_TRUE(apply_routing_headers(keys, rr));
}

TEST(RoutingHeaders, RejectsUnknownObjective) {
  auto req = with({{"x-switchboard-objective", "cheapest"}});
  RouteRequest rr;
  auto err = apply_routing_headers(req, rr);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, ErrorKind::kBadRequest);
  EXPECT_EQ(err->code, "invalid_header");
  EXPECT_NE(err->message.find("quality, balanced, cost"), std::string::npos);
}

TEST(RoutingHeaders, RejectsNegativeOrMalformedNumbers) {
  for (const char* bad : {"-1", "abc", "1.5x", "", "inf", "nan", "1e400"}) {
    auto req = with({{"x-switchboard-max-cost", bad}});
    RouteRequest rr;
    auto err = apply_routing_headers(req, rr);
    ASSERT_TRUE(err) << bad;
    EXPECT_NE(err->message.find("x-switchboard-max-cost"), std::string::npos);
    EXPECT_FALSE(rr.max_cost);
  }
  auto req = with({{"x-switchboard-lambda", "-3"}});
  RouteRequest rr;
  EXPECT_TRUE(apply_routing_headers(req, rr));
}

}  // namespace
}  // namespace switchboard::pipeline
