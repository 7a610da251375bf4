#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace switchboard::metrics;
using ::testing::HasSubstr;

TEST(Metrics, RendersPrometheusTextWithCumulativeBuckets) {
  GatewayMetrics m;
  m.requests.with({"auto", "m1", "r1", "200"}).inc();
  m.requests.with({"auto", "m1", "r1", "200"}).inc();
  m.latency.with({"auto", "m1", "r1"}).observe(0.0003);
  m.latency.with({"auto", "m1", "r1"}).observe(0.02);
  m.cost.with({"m1"}).inc(0.000123);
  m.errors.with({"a\"b", "m", "x"}).inc();
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE switchboard_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("switchboard_requests_total{route=\"auto\",model=\"m1\",replica=\"r1\",status=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model=\"m1\",replica=\"r1\",le=\"0.00025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model=\"m1\",replica=\"r1\",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model=\"m1\",replica=\"r1\",le=\"0.025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model=\"m1\",replica=\"r1\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_count{route=\"auto\",model=\"m1\",replica=\"r1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_cost_usd_total{model=\"m1\"} 0.000123\n"));
  EXPECT_THAT(text, HasSubstr("route=\"a\\\"b\""));  // label values are escaped
}
