#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard::metrics;
using ::testing::HasSubstr;

TEST(Metrics, RendersPrometheusTextWithCumulativeBuckets) {
  GatewayMetrics m;
  m.requests.with({"auto", "m1", "r1", "200", "chat"}).inc();
  m.requests.with({"auto", "m1", "r1", "200", "chat"}).inc();
  m.latency.with({"auto", "m1", "r1"}).observe(0.0003);
  m.latency.with({"auto", "m1", "r1"}).observe(0.02);
  m.cost.with({"m1"}).inc(0.000123);
  m.errors.with({"a\"b", "m", "x", "chat"}).inc();
  auto text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE switchboard_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("switchboard_requests_total{route=\"auto\",model=\"m1\",replica="
                              "\"r1\",status=\"200\",api=\"chat\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model="
                              "\"m1\",replica=\"r1\",le=\"0.00025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model="
                              "\"m1\",replica=\"r1\",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model="
                              "\"m1\",replica=\"r1\",le=\"0.025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_bucket{route=\"auto\",model="
                              "\"m1\",replica=\"r1\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_request_duration_seconds_count{route=\"auto\",model="
                              "\"m1\",replica=\"r1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_cost_usd_total{model=\"m1\"} 0.000123\n"));
  EXPECT_THAT(text, HasSubstr("route=\"a\\\"b\""));  // label values are escaped
}

TEST(Counter, HoldsLargeValuesWithoutWrapping) {
  Counter c;
  c.inc(1e10);
  c.inc(1e10);  // fixed point at 1e9 units wrapped past 1.8e10
  EXPECT_DOUBLE_EQ(c.value(), 2e10);
  for (int i = 0; i < 1000; ++i) c.inc(1e15);
  EXPECT_DOUBLE_EQ(c.value(), 2e10 + 1e18);
  Counter cents;
  for (int i = 0; i < 10; ++i) cents.inc(0.1);
  EXPECT_NEAR(cents.value(), 1.0, 1e-12);
  Counter tiny;
  tiny.inc(1e-12);  // below the old 1e-9 resolution
  EXPECT_GT(tiny.value(), 0);
}

TEST(Counter, IgnoresNegativeNanAndInfiniteIncrements) {
  Counter c;
  c.inc(5);
  c.inc(-3);
  c.inc(-std::numeric_limits<double>::infinity());
  c.inc(std::numeric_limits<double>::quiet_NaN());
  c.inc(std::numeric_limits<double>::infinity());
  c.inc(0);
  EXPECT_EQ(c.value(), 5);
}

TEST(Counter, ConcurrentIncrementsAllCount) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000);
}

TEST(Histogram, ClampsBadObservationsAndKeepsCountEqualToInfBucket) {
  Histogram h;
  h.observe(-1);  // recorded as 0
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.sum(), 0);
  h.observe(0.0001);  // le is inclusive
  EXPECT_EQ(h.bucket(0), 3u);
  h.observe(121);
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.bucket(Histogram::kBounds.size()), 2u);  // the +Inf bucket
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 121.0001);
  h.observe(3e10);  // a sum in fixed-point nanoseconds wrapped past 1.8e10 s
  h.observe(3e10);
  EXPECT_DOUBLE_EQ(h.sum(), 6e10 + 121.0001);
}

TEST(Histogram, RenderedCountMatchesInfBucketUnderConcurrentObservations) {
  GatewayMetrics m;
  Histogram& h = m.latency.with({"r", "m", "x"});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (std::uint64_t i = 0; !stop.load(); ++i) h.observe(static_cast<double>(i % 200));
  });
  auto value_of = [](const std::string& text, const std::string& prefix) {
    auto at = text.find(prefix);
    EXPECT_NE(at, std::string::npos) << prefix;
    return std::stoull(text.substr(at + prefix.size()));
  };
  for (int i = 0; i < 200; ++i) {
    auto text = m.render();
    auto inf = value_of(text, "le=\"+Inf\"} ");
    auto count = value_of(
        text, "switchboard_request_duration_seconds_count{route=\"r\",model=\"m\",replica=\"x\"} ");
    auto le120 = value_of(text, "le=\"120\"} ");
    EXPECT_EQ(inf, count);
    EXPECT_LE(le120, inf);
  }
  stop = true;
  writer.join();
}

TEST(Family, WithReturnsAStableReferencePerLabelSet) {
  Family<Counter> f("x_total", "help", {"a", "b"});
  Counter& c = f.with({"one", "two"});
  std::string a = "one", b = "two";
  EXPECT_EQ(&f.with({a, b}), &c);  // string_view lookup, same series
  EXPECT_EQ(&f.with(std::vector<std::string>{"one", "two"}), &c);
  for (int i = 0; i < 5000; ++i) f.with({"k" + std::to_string(i), "v"}).inc();
  EXPECT_EQ(&f.with({"one", "two"}), &c);  // unchanged after thousands of insertions
  EXPECT_EQ(f.size(), 5001u);
  EXPECT_NE(&f.with({"one", "two2"}), &c);
  EXPECT_NE(&f.with({"one"}), &c);  // a prefix is another tuple
  EXPECT_NE(&f.with({"one", "two", ""}), &c);
  c.inc(3);
  std::string text;
  f.render(text);
  EXPECT_THAT(text, HasSubstr("x_total{a=\"one\",b=\"two\"} 3\n"));
}

TEST(Family, ConcurrentWithAndIncOnCachedReferences) {
  Family<Counter> f("y_total", "help", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Counter& mine = f.with({"shared"});
      for (int i = 0; i < 20000; ++i) {
        mine.inc();
        if (i % 100 == 0) f.with({"t" + std::to_string(t) + "-" + std::to_string(i)}).inc();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.with({"shared"}).value(), 80000);
  EXPECT_EQ(f.size(), 1u + 4u * 200u);
}

TEST(Metrics, RendersLargeCountsAsPlainNumbers) {
  GatewayMetrics m;
  m.tokens.with({"m1", "prompt"}).inc(123456789);
  m.in_flight.set(-2);  // a gauge may go negative
  auto text = m.render();
  EXPECT_THAT(text,
              HasSubstr("switchboard_tokens_total{model=\"m1\",kind=\"prompt\"} 123456789\n"));
  EXPECT_THAT(text, HasSubstr("switchboard_requests_in_flight -2\n"));
}
