// The stage runner: order, a stage ending the request, a stage switched off, timings and outcomes
// recorded, failures answered in the front end's shape, exceptions contained, explain-only runs.
#include "pipeline/stage_runner.h"

#include "config/config.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace switchboard::pipeline {
namespace {

namespace asio = boost::asio;

// A stage that logs its name and then does what it was told.
class FakeStage final : public Stage {
 public:
  enum class Does { kNext, kEnd, kFail, kThrow, kThrowInt, kSleep };
  FakeStage(std::string name, std::vector<std::string>& log, Does does = Does::kNext,
            bool required = false)
      : name_(std::move(name)), log_(log), does_(does), required_(required) {}
  std::string_view name() const override { return name_; }
  bool required() const override { return required_; }
  asio::awaitable<StageResult> run(RequestContext& ctx) const override {
    log_.push_back(name_);
    switch (does_) {
      case Does::kNext:
        break;
      case Does::kEnd:
        ctx.reply = RequestContext::Reply{200, "application/json", R"({"cached":true})"};
        co_return StageResult::end();
      case Does::kFail:
        co_return StageResult::fail(make_error(ErrorKind::kBadRequest, "prompt_rejected", "no"),
                                    "client_error");
      case Does::kThrow:
        throw std::runtime_error("boom");
      case Does::kThrowInt:
        throw 42;
      case Does::kSleep: {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
        co_await t.async_wait(asio::use_awaitable);
        break;
      }
    }
    co_return StageResult::next();
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  Does does_;
  bool required_;
};

class FakeClient final : public ResponseWriter {
 public:
  asio::awaitable<bool> respond(unsigned status, std::string_view, Headers headers,
                                std::string body) override {
    if (throws) throw std::runtime_error("writer broke");
    this->status = status;
    this->body = std::move(body);
    for (const auto& [n, v] : headers) this->headers.emplace_back(n, v);
    co_return true;
  }
  asio::awaitable<bool> error(const Error& e, Headers) override {
    status = static_cast<unsigned>(http_status(e.kind));
    error_code = e.code;
    co_return true;
  }
  asio::awaitable<bool> start_stream(Headers) override { co_return true; }
  asio::awaitable<bool> write_chunk(std::string_view) override { co_return true; }
  asio::awaitable<bool> stream_error(const Error&) override { co_return true; }
  asio::awaitable<bool> finish_stream() override { co_return true; }
  bool throws = false;
  unsigned status = 0;
  std::string body, error_code;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Sink final : public RecordSink {
 public:
  void write(store::DecisionRecord&& r) override { records.push_back(std::move(r)); }
  std::vector<store::DecisionRecord> records;
};

struct Fixture {
  std::vector<std::string> log;
  FakeClient client;
  Sink sink;
  RequestContext ctx;
  Fixture() {
    ctx.client = &client;
    ctx.sink = &sink;
    ctx.rec.id = "dec_test";
  }
  std::unique_ptr<StageRunner> runner(std::vector<std::pair<std::string, FakeStage::Does>> stages) {
    std::vector<std::unique_ptr<Stage>> list;
    for (auto& [name, does] : stages)
      list.push_back(std::make_unique<FakeStage>(name, log, does, name == "decide"));
    return std::make_unique<StageRunner>(std::move(list));
  }
  void run(const StageRunner& r) {
    asio::io_context io;
    asio::co_spawn(io, r.run(ctx), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
  }
  std::vector<std::string> spans(const store::DecisionRecord& rec) const {
    std::vector<std::string> out;
    for (const auto& s : rec.stages) out.push_back(s.name + ":" + s.outcome);
    return out;
  }
};

using Does = FakeStage::Does;

TEST(StageRunner, RunsStagesInOrderAndRecordsEachSpan) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"signals", Does::kSleep},
                     {"decide", Does::kNext},
                     {"execute", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "signals", "decide", "execute", "record"}));
  ASSERT_EQ(f.sink.records.size(), 1u);
  const auto& rec = f.sink.records[0];
  EXPECT_EQ(f.spans(rec), (std::vector<std::string>{"parse:next", "signals:next", "decide:next",
                                                    "execute:next", "record:next"}));
  // The runner times each stage: the sleeping one took at least its 5 ms.
  EXPECT_GE(rec.stages[1].us, 5000.0);
  for (const auto& s : rec.stages) EXPECT_GE(s.us, 0.0);
}

TEST(StageRunner, AStageEndingTheRequestSkipsToRecordAndTheReplyIsSent) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"cache", Does::kEnd},
                     {"decide", Does::kNext},
                     {"execute", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "cache", "record"}));
  EXPECT_EQ(f.client.status, 200u);
  EXPECT_EQ(f.client.body, R"({"cached":true})");
  ASSERT_FALSE(f.client.headers.empty());
  EXPECT_EQ(f.client.headers[0],
            (std::pair<std::string, std::string>{"x-switchboard-decision", "dec_test"}));
  const auto& rec = f.sink.records.at(0);
  EXPECT_EQ(f.spans(rec), (std::vector<std::string>{"parse:next", "cache:end", "record:next"}));
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(rec.outcome, "ok");
}

TEST(StageRunner, AFailingStageIsAnsweredAsAnErrorAndRecorded) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"guard", Does::kFail},
                     {"decide", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "guard", "record"}));
  EXPECT_EQ(f.client.status, 400u);
  EXPECT_EQ(f.client.error_code, "prompt_rejected");
  const auto& rec = f.sink.records.at(0);
  EXPECT_EQ(rec.status, 400);
  EXPECT_EQ(rec.outcome, "client_error");
  EXPECT_EQ(rec.error_code, "prompt_rejected");
  EXPECT_EQ(f.spans(rec), (std::vector<std::string>{"parse:next", "guard:error", "record:next"}));
}

TEST(StageRunner, AStageSwitchedOffIsSkippedAndShownAsOff) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"guard", Does::kFail},
                     {"decide", Does::kNext},
                     {"record", Does::kNext}});
  auto bit = r->disable_bit("guard");
  ASSERT_TRUE(bit);
  f.ctx.disabled_stages = *bit;
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "decide", "record"}));
  EXPECT_EQ(f.spans(f.sink.records.at(0)),
            (std::vector<std::string>{"parse:next", "guard:off", "decide:next", "record:next"}));
  EXPECT_EQ(f.client.status, 0u);  // nothing failed, nothing answered by these stages
}

TEST(StageRunner, RequiredStagesCannotBeSwitchedOffAndUnknownOnesAreNamed) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext}, {"decide", Does::kNext}, {"record", Does::kNext}});
  auto decide = r->disable_bit("decide");
  ASSERT_FALSE(decide);
  EXPECT_NE(decide.error().message.find("cannot be switched off"), std::string::npos);
  auto unknown = r->disable_bit("cahce");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("no stage 'cahce' (stages: parse, decide, record)"),
            std::string::npos);
  EXPECT_TRUE(r->disable_bit("record"));
  // auth and limits run only with an `auth:` section, and cannot be switched off either way
  // (since session 30: without the section a route's `auth: off` passed, and adding the section
  // later failed the whole config).
  for (const char* absent : {"auth", "limits"}) {
    auto off = r->disable_bit(absent);
    ASSERT_FALSE(off) << absent;
    EXPECT_NE(off.error().message.find("cannot be switched off"), std::string::npos);
  }
  EXPECT_EQ(r->disable_bit("cache").value(), 0u) << "a slot left out has nothing to switch off";
}

TEST(StageRunner, ASwitchedOffRecordStageKeepsNoRecord) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext}, {"decide", Does::kNext}, {"record", Does::kNext}});
  f.ctx.disabled_stages = *r->disable_bit("record");
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "decide"}));
  EXPECT_TRUE(f.sink.records.empty());
}

TEST(StageRunner, AnExceptionBecomesAnInternalErrorAndIsStillRecorded) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"signals", Does::kThrow},
                     {"decide", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "signals", "record"}));
  EXPECT_EQ(f.client.status, 500u);
  EXPECT_EQ(f.client.error_code, "internal_error");
  const auto& rec = f.sink.records.at(0);
  EXPECT_EQ(rec.outcome, "internal_error");
  EXPECT_NE(rec.error_message.find("stage signals failed: boom"), std::string::npos);
}

TEST(StageRunner, AnExceptionOfAnyTypeIsContainedAndRecorded) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"signals", Does::kThrowInt},
                     {"decide", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);  // rethrows anything that escaped the runner
  EXPECT_EQ(f.client.status, 500u);
  EXPECT_EQ(f.client.error_code, "internal_error");
  ASSERT_EQ(f.sink.records.size(), 1u);
  EXPECT_EQ(f.sink.records[0].outcome, "internal_error");
  EXPECT_TRUE(f.ctx.recorded);
}

TEST(StageRunner, AnExceptionFromTheClientWriterIsRecordedAsAnInternalError) {
  Fixture f;
  f.client.throws = true;
  auto r = f.runner({{"parse", Does::kNext},
                     {"cache", Does::kEnd},
                     {"decide", Does::kNext},
                     {"record", Does::kNext}});
  f.run(*r);
  ASSERT_EQ(f.sink.records.size(), 1u);
  EXPECT_EQ(f.sink.records[0].outcome, "internal_error");
  EXPECT_NE(f.sink.records[0].error_message.find("writer broke"), std::string::npos);
}

TEST(StageRunner, AnExceptionInTheRecordStageStillHandsTheRecordToTheSink) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext}, {"decide", Does::kNext}, {"record", Does::kThrowInt}});
  f.run(*r);
  ASSERT_EQ(f.sink.records.size(), 1u);
  EXPECT_EQ(f.spans(f.sink.records[0]).back(), "record:error");
}

TEST(StageRunner, ExplainOnlyStopsAfterDecideAndRecordsNothing) {
  Fixture f;
  auto r = f.runner({{"parse", Does::kNext},
                     {"decide", Does::kNext},
                     {"execute", Does::kNext},
                     {"record", Does::kNext}});
  f.ctx.explain_only = true;
  f.run(*r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse", "decide"}));
  EXPECT_TRUE(f.sink.records.empty());
  EXPECT_EQ(f.spans(f.ctx.rec), (std::vector<std::string>{"parse:next", "decide:next"}));
}

// A stage that never waits (SyncStage): the runner calls run_now(), not run().
class FakeSyncStage final : public SyncStage {
 public:
  FakeSyncStage(std::string name, std::vector<std::string>& log, Does does)
      : name_(std::move(name)), log_(log), does_(does) {}
  std::string_view name() const override { return name_; }
  StageResult run_now(RequestContext& ctx) const override {
    log_.push_back(name_ + " (sync)");
    switch (does_) {
      case Does::kEnd:
        ctx.reply = RequestContext::Reply{200, "application/json", R"({"sync":true})"};
        return StageResult::end();
      case Does::kFail:
        return StageResult::fail(make_error(ErrorKind::kBadRequest, "prompt_rejected", "no"),
                                 "client_error");
      case Does::kThrow:
        throw std::runtime_error("boom");
      default:
        return StageResult::next();
    }
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  Does does_;
};

TEST(StageRunner, SynchronousStagesMixWithAwaitingOnesAndEndTheRequestTheSameWay) {
  Fixture f;
  std::vector<std::unique_ptr<Stage>> list;
  list.push_back(std::make_unique<FakeSyncStage>("parse", f.log, Does::kNext));
  list.push_back(std::make_unique<FakeStage>("signals", f.log, Does::kSleep));
  list.push_back(std::make_unique<FakeSyncStage>("decide", f.log, Does::kEnd));
  list.push_back(std::make_unique<FakeStage>("execute", f.log, Does::kNext));
  list.push_back(std::make_unique<FakeSyncStage>("record", f.log, Does::kNext));
  StageRunner r(std::move(list));
  f.run(r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse (sync)", "signals", "decide (sync)",
                                             "record (sync)"}));
  EXPECT_EQ(f.client.status, 200u);
  EXPECT_EQ(f.client.body, R"({"sync":true})");
  const auto& rec = f.sink.records.at(0);
  EXPECT_EQ(f.spans(rec), (std::vector<std::string>{"parse:next", "signals:next", "decide:end",
                                                    "record:next"}));
  EXPECT_GE(rec.stages[1].us, 5000.0);
}

TEST(StageRunner, AnExceptionFromASynchronousStageIsContainedAndRecorded) {
  Fixture f;
  std::vector<std::unique_ptr<Stage>> list;
  list.push_back(std::make_unique<FakeSyncStage>("parse", f.log, Does::kThrow));
  list.push_back(std::make_unique<FakeSyncStage>("decide", f.log, Does::kNext));
  list.push_back(std::make_unique<FakeSyncStage>("record", f.log, Does::kNext));
  StageRunner r(std::move(list));
  f.run(r);
  EXPECT_EQ(f.log, (std::vector<std::string>{"parse (sync)", "record (sync)"}));
  EXPECT_EQ(f.client.status, 500u);
  EXPECT_EQ(f.client.error_code, "internal_error");
  const auto& rec = f.sink.records.at(0);
  EXPECT_EQ(rec.outcome, "internal_error");
  EXPECT_NE(rec.error_message.find("stage parse failed: boom"), std::string::npos);
}

TEST(StageRunner, TheStandardRunnerHasTheGatewaysOrder) {
  auto config = config::parse_config(R"(
listen: 127.0.0.1:0
models:
  - name: m
    replicas: [{url: "http://127.0.0.1:1"}]
guard: {pii: redact}
routes:
  - name: cached
    policy: {type: static, model: m}
    cache: {semantic: false}
    stages: {cache: off}
)",
                                     "order.yaml");
  ASSERT_TRUE(config) << config.error().message;
  auto r = StageRunner::standard(**config);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)->names(), (std::vector<std::string>{"parse", "guard", "cache", "signals", "decide",
                                                     "execute", "record"}));
  EXPECT_NE(*(*r)->disable_bit("cache"), 0u);
}

// A guard or cache that no route uses is left out: no span and no cost per request; a route may
// still name it in `stages:` (there is nothing to switch off).
TEST(StageRunner, UnusedGuardAndCacheSlotsAreLeftOut) {
  config::Config config;
  auto r = StageRunner::standard(config);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->names(),
            (std::vector<std::string>{"parse", "signals", "decide", "execute", "record"}));
  auto bit = (*r)->disable_bit("cache");
  ASSERT_TRUE(bit);
  EXPECT_EQ(*bit, 0u);
  EXPECT_FALSE((*r)->disable_bit("no_such_stage"));
}

}  // namespace
}  // namespace switchboard::pipeline
