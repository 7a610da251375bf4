// The gateway in-process (a real http::Server and Gateway, no upstream needed): decision lookups in
// SQLite never block a worker's event loop, and an exception of any type on the chat path still
// answers 500, writes a decision record and releases the in-flight counts.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "config/config.h"
#include "http_test_util.h"
#include "pipeline/gateway.h"
#include "pipeline/stage_runner.h"
#include "store/decision_store.h"

namespace switchboard::pipeline {
namespace {

using testing::Client;
using testing::eventually;
using testing::RunningServer;
namespace bhttp = boost::beast::http;

const char* kConfig = R"(models:
  - name: m
    replicas: [{url: "http://127.0.0.1:1"}]
routes:
  - name: auto
    policy: {type: static, model: m}
)";

std::string temp_db(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("sb_gw_") + name + "_" + std::to_string(::getpid()) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

// An SQLite VFS over the default one whose next read, once armed, stalls for a second: a slow disk
// or a lock wait, as seen by whoever runs the query.
namespace slow_vfs {
std::atomic<bool> armed{false};
sqlite3_vfs* real = nullptr;
sqlite3_vfs vfs;
// The unix VFS has several io_methods tables (the database and its WAL differ): one wrapped copy
// each.
struct Slot {
  const sqlite3_io_methods* original = nullptr;
  sqlite3_io_methods wrapped;
};
Slot slots[4];

template <int N>
int read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (armed.exchange(false)) std::this_thread::sleep_for(std::chrono::seconds(1));
  return slots[N].original->xRead(f, buf, amount, offset);
}
constexpr decltype(&read<0>) kReads[] = {read<0>, read<1>, read<2>, read<3>};

int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  int rc = real->xOpen(real, name, file, flags, out_flags);
  if (rc != SQLITE_OK || !file->pMethods) return rc;
  for (int i = 0; i < 4; ++i) {
    if (!slots[i].original) {  // opens happen under SQLite's own locks in these tests: no race
      slots[i].original = file->pMethods;
      slots[i].wrapped = *file->pMethods;
      slots[i].wrapped.xRead = kReads[i];
    }
    if (slots[i].original == file->pMethods) {
      file->pMethods = &slots[i].wrapped;
      break;
    }
  }
  return rc;
}
// Makes it the default VFS (for databases opened from now on).
void install() {
  if (real) return;
  real = sqlite3_vfs_find(nullptr);
  vfs = *real;
  vfs.zName = "sb_slow_vfs";
  vfs.xOpen = open;
  sqlite3_vfs_register(&vfs, 1);
}
}  // namespace slow_vfs

// A stage that throws something that is not a std::exception.
class ThrowingStage final : public Stage {
 public:
  std::string_view name() const override { return "guard"; }
  asio::awaitable<StageResult> run(RequestContext&) const override {
    throw 42;
    co_return StageResult::next();
  }
};

// Gateway + server on one worker thread, torn down in the right order.
struct InProcessGateway {
  std::shared_ptr<Gateway> gateway;
  std::unique_ptr<RunningServer> server;
  InProcessGateway(std::unique_ptr<Runtime> runtime, std::unique_ptr<store::DecisionStore> store) {
    gateway = std::make_shared<Gateway>(std::move(runtime), std::move(store));
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;  // one event loop: anything blocking it blocks every request
    auto s =
        http::Server::create(o, [g = gateway.get()](http::Exchange& ex) { return g->handle(ex); });
    EXPECT_TRUE(s.ok());
    gateway->attach(**s);
    server = std::make_unique<RunningServer>(std::move(*s));
  }
  ~InProcessGateway() {
    // As `switchboard serve` does: stop the loops, detach (joins the lookup pool, whose last
    // completions still touch the workers' io_contexts), then destroy the server.
    server->stop();
    gateway->detach();
    server.reset();
  }
  uint16_t port() const { return server->port(); }
};

std::unique_ptr<Runtime> runtime() {
  auto cfg = config::parse_config(kConfig, "t.yaml");
  EXPECT_TRUE(cfg.ok());
  auto rt = build_runtime(*cfg);
  EXPECT_TRUE(rt.ok()) << rt.error().message;
  return std::move(*rt);
}

TEST(GatewaySafety, ADecisionLookupWaitingOnSqliteDoesNotBlockTheEventLoop) {
  slow_vfs::install();
  auto store = store::DecisionStore::open(temp_db("lookup"));
  ASSERT_TRUE(store.ok());
  store::DecisionRecord rec;
  rec.id = store::new_decision_id();
  rec.status = 200;
  rec.outcome = "ok";
  (*store)->record(rec);
  (*store)->flush();  // in SQLite, no longer in memory
  InProcessGateway gw(runtime(), std::move(*store));

  slow_vfs::armed = true;  // the lookup's first read stalls for a second
  Client lookup(gw.port());
  lookup.send(bhttp::verb::get, "/v1/decisions/" + rec.id);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the lookup is in SQLite now
  Client health(gw.port());
  auto h = health.request(bhttp::verb::get, "/healthz");
  EXPECT_EQ(h.status, 200u);
  // The only worker answered /healthz while the lookup was still stalled: its answer has not come.
  EXPECT_EQ(lookup.socket().available(), 0u) << "the decision lookup blocked the event loop";
  auto found = lookup.read();
  EXPECT_EQ(found.status, 200u) << found.error << found.body;
  EXPECT_NE(found.body.find(rec.id), std::string::npos);
  EXPECT_FALSE(slow_vfs::armed);  // the stall did happen

  auto missing = lookup.request(bhttp::verb::get, "/v1/decisions/dec_missing");
  EXPECT_EQ(missing.status, 404u);
}

TEST(GatewaySafety, AnExceptionOfAnyTypeOnTheChatPathAnswers500AndIsRecorded) {
  auto rt = runtime();
  // The standard stages with a guard that throws an int.
  std::vector<std::unique_ptr<Stage>> stages;
  for (const char* slot : kStageOrder) {
    if (std::string_view(slot) == "guard") {
      stages.push_back(std::make_unique<ThrowingStage>());
      continue;
    }
    if (const auto* factory = StageRegistry::instance().find(slot))
      stages.push_back((*factory)(StageContext{*rt->config}).value());
  }
  rt->runner = std::make_unique<StageRunner>(std::move(stages));
  auto store = store::DecisionStore::open(temp_db("crash"));
  ASSERT_TRUE(store.ok());
  store::DecisionStore* decisions = store->get();
  InProcessGateway gw(std::move(rt), std::move(*store));

  Client c(gw.port());
  auto r = c.request(bhttp::verb::post, "/v1/chat/completions",
                     R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 500u) << r.error;
  ASSERT_FALSE(r.decision.empty());
  std::optional<store::DecisionRecord> rec;  // recorded right after the answer
  ASSERT_TRUE(eventually([&] { return (rec = decisions->find(r.decision)).has_value(); }))
      << "no decision record for " << r.decision;
  EXPECT_EQ(rec->status, 500);
  EXPECT_EQ(rec->outcome, "internal_error");
  EXPECT_TRUE(eventually([&] { return gw.gateway->metrics().in_flight.value() == 0; }));
  EXPECT_TRUE(eventually([&] { return (*gw.server)->in_flight() == 0; }));

  // The server goes on serving.
  Client next(gw.port());
  EXPECT_EQ(next.request(bhttp::verb::get, "/healthz").status, 200u);
}

}  // namespace
}  // namespace switchboard::pipeline
