// Series slots (metrics::SeriesSlot, pipeline/metric_slots.h): resolved once, the same series as
// Family::with(), created only when first used; and the request metrics through them, including
// an upstream that reports negative usage (it must not decrease a counter).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "config/config.h"
#include "eval/offline_runner.h"
#include "metrics/metrics.h"
#include "pipeline/metric_slots.h"
#include "pipeline/runtime.h"

namespace switchboard {
namespace {

using metrics::Counter;
using metrics::Family;
using metrics::SeriesSlot;

TEST(SeriesSlot, ResolvesToTheFamilysSeriesOnceAndOnlyWhenUsed) {
  Family<Counter> f("c_total", "help", {"a", "b"});
  SeriesSlot<Counter> slot;
  EXPECT_EQ(f.size(), 0u);  // nothing rendered before first use
  Counter& c = slot.get(f, {"x", "y"});
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(&c, &f.with({"x", "y"}));
  c.inc(2);
  // Later calls return the cached series (the labels are not looked at again).
  EXPECT_EQ(&slot.get(f, {"x", "y"}), &c);
  EXPECT_EQ(slot.get(f, {"x", "y"}).value(), 2);
  EXPECT_EQ(f.size(), 1u);
}

TEST(SeriesSlot, AnotherFamilyGetsItsOwnSeriesAndDoesNotTakeTheSlotOver) {
  Family<Counter> first("c_total", "help", {"a"});
  Family<Counter> second("c_total", "help", {"a"});
  SeriesSlot<Counter> slot;
  Counter& a = slot.get(first, {"x"});
  Counter& b = slot.get(second, {"x"});
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&b, &second.with({"x"}));
  EXPECT_EQ(&slot.get(first, {"x"}), &a);
}

// Since session 28: slots come in blocks allocated on first use, from any thread, the same slot
// for an index every time; out of range is null.
TEST(ReplicaSlotTable, BlocksAreMadeOnFirstUseAndShared) {
  pipeline::ReplicaSlotTable table(1000);
  EXPECT_EQ(table.at(1000), nullptr);
  std::vector<pipeline::ReplicaSlots*> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { seen[t] = table.at(517); });
  for (auto& th : threads) th.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(table.at(517), seen[0]);
  EXPECT_NE(table.at(516), seen[0]);
  EXPECT_EQ(table.at(999), table.at(999));
}

// --- the request metrics through the runtime's slots -----------------------------------------

constexpr const char* kConfig = R"(
models:
  - name: big
    price: {input_per_mtok: 10, output_per_mtok: 30}
    replicas: [{url: "http://127.0.0.1:9", name: big-1}]
routes:
  - name: auto
    policy: {type: static, model: big}
)";

// Answers every call with a fixed chat completion whose usage is the given token counts.
class FixedUsage final : public Upstream {
 public:
  std::int64_t prompt = 0, completion = 0;
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(
      const ModelCall&) override {
    nlohmann::json body = {
        {"id", "x"},
        {"object", "chat.completion"},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", "hi"}}},
           {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}}}};
    co_return std::unique_ptr<UpstreamResponse>(std::make_unique<Response>(body.dump()));
  }

 private:
  class Response final : public UpstreamResponse {
   public:
    explicit Response(std::string body) : body_(std::move(body)) {}
    unsigned status() const override { return 200; }
    const std::string& content_type() const override { return type_; }
    boost::asio::awaitable<Result<std::string_view>> read_some(Clock::time_point) override {
      std::string_view out = sent_ ? std::string_view() : std::string_view(body_);
      sent_ = true;
      co_return out;
    }
    boost::asio::awaitable<Result<std::string>> read_all(std::size_t, Clock::time_point) override {
      sent_ = true;
      co_return body_;
    }

   private:
    std::string body_, type_ = "application/json";
    bool sent_ = false;
  };
};

std::string body(const std::string& model) {
  return nlohmann::json{{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}
      .dump();
}

struct Gateway {
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<pipeline::Runtime> runtime;
  Gateway() {
    auto c = config::parse_config(kConfig, "metric_slots_test.yaml");
    EXPECT_TRUE(c) << c.error().message;
    config = *c;
    auto rt = pipeline::build_runtime(config);
    EXPECT_TRUE(rt) << rt.error().message;
    runtime = std::move(*rt);
  }
};

TEST(RequestMetrics, NegativeUsageFromAnUpstreamDoesNotDecreaseACounter) {
  Gateway g;
  FixedUsage upstream;
  eval::OfflineRunner runner(*g.runtime, upstream);
  auto& m = runner.metrics();
  upstream.prompt = 14;
  upstream.completion = 10;
  ASSERT_EQ(runner.run(body("auto")).status, 200u);
  const double cost = m.cost.with({"big"}).value();
  EXPECT_DOUBLE_EQ(m.tokens.with({"big", "prompt"}).value(), 14);
  EXPECT_DOUBLE_EQ(m.tokens.with({"big", "completion"}).value(), 10);
  EXPECT_DOUBLE_EQ(cost, (14 * 10.0 + 10 * 30.0) / 1e6);

  upstream.prompt = -1'000'000;  // a broken upstream
  upstream.completion = -5;
  auto r = runner.run(body("auto"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.record.prompt_tokens, 0);  // clamped (pipeline/executor.h, reported_tokens)
  EXPECT_EQ(r.record.completion_tokens, 0);
  EXPECT_DOUBLE_EQ(m.tokens.with({"big", "prompt"}).value(), 14);
  EXPECT_DOUBLE_EQ(m.tokens.with({"big", "completion"}).value(), 10);
  EXPECT_DOUBLE_EQ(m.cost.with({"big"}).value(), cost);
  // Both requests were counted, on the route's series and the model's direct one.
  EXPECT_EQ(m.requests.with({"auto", "big", "big-1", "200", "chat"}).value(), 2);
  EXPECT_EQ(m.latency.with({"auto", "big", "big-1"}).count(), 2u);
  EXPECT_EQ(m.upstream_latency.with({"big", "big-1"}).count(), 2u);
  ASSERT_EQ(runner.run(body("big")).status, 200u);
  EXPECT_EQ(m.requests.with({"big", "big", "big-1", "200", "chat"}).value(), 1);
  EXPECT_EQ(m.requests.with({"auto", "big", "big-1", "200", "chat"}).value(), 2);
}

TEST(RequestMetrics, TwoRunnersSharingARuntimeEachCountTheirOwnRequests) {
  Gateway g;
  FixedUsage upstream;
  upstream.prompt = 3;
  upstream.completion = 4;
  eval::OfflineRunner a(*g.runtime, upstream), b(*g.runtime, upstream);
  ASSERT_EQ(a.run(body("auto")).status, 200u);
  ASSERT_EQ(b.run(body("auto")).status, 200u);
  ASSERT_EQ(b.run(body("auto")).status, 200u);
  EXPECT_EQ(a.metrics().requests.with({"auto", "big", "big-1", "200", "chat"}).value(), 1);
  EXPECT_EQ(b.metrics().requests.with({"auto", "big", "big-1", "200", "chat"}).value(), 2);
  EXPECT_DOUBLE_EQ(b.metrics().tokens.with({"big", "prompt"}).value(), 6);
}

}  // namespace
}  // namespace switchboard
