#include "pipeline/replica_monitor.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <functional>
#include <string>

#include "http/upstream.h"
#include "pool/health.h"
#include "pool/prom_text.h"

namespace switchboard::pipeline {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::size_t kMaxBody = 4 * 1024 * 1024;

// GET `path` on the replica with its credentials as its API sends them (a bearer token, or
// Anthropic's x-api-key and anthropic-version: without them an Anthropic endpoint answers 401 and
// a health check would mark the replica down); the status and body, or an error. (The target is
// kept in a named string: the request holds a view of it.)
awaitable<Result<std::pair<unsigned, std::string>>> get(http::UpstreamClient& client,
                                                        const ModelRuntime& m, const Replica& r,
                                                        const std::string& path,
                                                        std::chrono::milliseconds timeout) {
  const auto& rc = *r.config;
  const std::string target_path = rc.endpoint.base_path + path;
  auto req = http::make_upstream_request(http::bhttp::verb::get, target_path);
  for (const auto& [name, value] : m.upstream_headers[r.ordinal]) req.set(name, value);
  http::UpstreamTarget target{&rc.endpoint, m.authorization[r.ordinal], r.index,
                              m.config->connect_timeout, {}};  // logs name the address
  const auto deadline = Clock::now() + timeout;
  auto started = co_await client.start(target, std::move(req), deadline);
  if (!started) co_return started.error();
  auto body = co_await (*started)->read_all(kMaxBody, deadline);
  if (!body) co_return body.error();
  co_return std::make_pair((*started)->status(), std::move(*body));
}

awaitable<void> wait(asio::steady_timer& timer, std::chrono::milliseconds d) {
  timer.expires_after(d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// One health check of `r`; `passes` and `failures` count in a row across checks.
awaitable<void> health_check_once(http::UpstreamClient& client, const ModelRuntime& mr, Replica& r,
                                  std::int32_t& passes, std::int32_t& failures) {
  const config::ModelConfig* m = mr.config;
  const auto& hc = m->pool.health_check;
  auto res = co_await get(client, mr, r, hc.path, hc.timeout);
  bool pass = res && res->first >= 200 && res->first < 300;
  if (pass) {
    failures = 0;
    ++passes;
    if (r.health.ejected_until_ms.load(kRelaxed) > pool::steady_ms()) {
      // The ejection ends, its backoff stays: the next request is the probe, and a failure ejects
      // the replica again for twice as long (a health endpoint that passes while requests fail
      // re-admitted the replica every interval at the base ejection, and reset the backoff).
      r.health.ejected_until_ms.store(0, kRelaxed);
      spdlog::info("replica {} of {} passed its health check: ejection ended", r.config->id,
                   m->name);
    }
    if (passes >= hc.healthy_after && r.health.down.load(kRelaxed)) {
      r.health.down.store(false, kRelaxed);
      spdlog::info("replica {} of {} is up (health check passed {} times)", r.config->id, m->name,
                   passes);
    }
  } else {
    passes = 0;
    ++failures;
    if (failures >= hc.unhealthy_after && !r.health.down.load(kRelaxed)) {
      r.health.down.store(true, kRelaxed);
      spdlog::warn("replica {} of {} is down: health check failed {} times (last: {})",
                   r.config->id, m->name, failures,
                   res ? "status " + std::to_string(res->first) : res.error().message);
    }
  }
}

void clear_report(Replica& r) {
  r.reported.running.store(-1, kRelaxed);
  r.reported.waiting.store(-1, kRelaxed);
  r.reported.kv_usage_permille.store(-1, kRelaxed);
  r.reported.assumed.store(false, kRelaxed);
}

// A replica whose load is unknown (its /metrics late, failing or absurd) is not idle: an
// overloaded server is the one whose metrics come late. It is taken to be as loaded as the busiest
// real report of the last three intervals — its own last one or a peer's (it looked idle, and took
// every request while a peer reported a queue); with none, nothing is assumed (-1). Assumed values
// are marked so, never passed on as reports: two failing replicas cannot feed each other.
void assume_busy(const ModelRuntime& mr, Replica& r) {
  const std::int64_t since = pool::steady_ms() -
                             3 * static_cast<std::int64_t>(mr.config->pool.load_metrics.interval.count());
  std::int64_t running = -1, waiting = -1;
  const Replica* from = nullptr;
  auto consider = [&](const Replica& x) {
    if (x.reported.assumed.load(kRelaxed) || x.reported.updated_ms.load(kRelaxed) < since) return;
    const std::int64_t xr = x.reported.running.load(kRelaxed);
    const std::int64_t xw = x.reported.waiting.load(kRelaxed);
    if (xr < 0 || xw < 0 || (from && xr + xw <= running + waiting)) return;
    running = xr;
    waiting = xw;
    from = &x;
  };
  consider(r);
  for (const auto& peer : mr.replicas)
    if (peer.get() != &r) consider(*peer);
  if (!from) {
    clear_report(r);
    return;
  }
  if (from != &r) r.reported.own_at_report.store(0, kRelaxed);  // none of this gateway's is in it
  r.reported.running.store(running, kRelaxed);
  r.reported.waiting.store(waiting, kRelaxed);
  r.reported.kv_usage_permille.store(-1, kRelaxed);
  r.reported.assumed.store(true, kRelaxed);
}

// One load scrape of `r`; `warned` says a failure was logged already (logged once per streak).
awaitable<void> scrape_once(http::UpstreamClient& client, const ModelRuntime& mr, Replica& r,
                            bool& warned) {
  const config::ModelConfig* m = mr.config;
  const auto& lm = m->pool.load_metrics;
  auto res = co_await get(client, mr, r, lm.path, lm.timeout);
  pool::VllmGauges g;
  if (res && res->first == 200) g = pool::parse_vllm_gauges(res->second);
  // A count no server has (negative, NaN, past a billion) is no report: llround of 1e19 was
  // undefined, and 5e18 + 5e18 overflowed the balancers' sum.
  const auto count = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) && *v >= 0 && *v <= 1e9;
  };
  if (count(g.running) && count(g.waiting)) {
    r.reported.own_at_report.store(r.in_flight.load(kRelaxed), kRelaxed);
    r.reported.running.store(std::llround(*g.running), kRelaxed);
    r.reported.waiting.store(std::llround(*g.waiting), kRelaxed);
    r.reported.kv_usage_permille.store(
        g.kv_usage && std::isfinite(*g.kv_usage) && *g.kv_usage >= 0 && *g.kv_usage <= 1
            ? static_cast<std::int32_t>(std::lround(*g.kv_usage * 1000))
            : -1,
        kRelaxed);
    r.reported.updated_ms.store(pool::steady_ms(), kRelaxed);
    r.reported.assumed.store(false, kRelaxed);
    warned = false;
  } else {
    assume_busy(mr, r);
    if (!warned)
      spdlog::warn("replica {} of {}: no load report from {} ({})", r.config->id, m->name, lm.path,
                   !res ? res.error().message
                   : res->first != 200
                       ? "status " + std::to_string(res->first)
                       : std::string("no vllm:num_requests_running/waiting gauges"));
    warned = true;
  }
}

}  // namespace

awaitable<bool> run_guarded(std::string_view what, const std::function<awaitable<void>()>& step) {
  std::string error;
  try {
    co_await step();
    co_return true;
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "an exception of unknown type";
  }
  spdlog::error("{} failed: {} (the loop goes on)", what, error);
  co_return false;
}

namespace {

// Held by each loop: the runtime it watches (null when the caller guarantees its lifetime) and the
// flag that ends it (null: runs until the io_context stops).
struct Owner {
  std::shared_ptr<const Runtime> runtime;
  std::shared_ptr<const std::atomic<bool>> stop;
  bool stopped() const { return stop && stop->load(std::memory_order_acquire); }
};

awaitable<void> health_loop(std::shared_ptr<http::UpstreamClient> client, const ModelRuntime* mr,
                            Replica* r, Owner owner) {
  const auto& hc = mr->config->pool.health_check;
  const std::string what = "health check of replica " + r->config->id + " of " + mr->config->name;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::int32_t passes = 0, failures = 0;
  while (!owner.stopped()) {
    const bool ok = co_await run_guarded(
        what, [&] { return health_check_once(*client, *mr, *r, passes, failures); });
    if (!ok) {
      // A check that could not run says nothing good about the replica: count it as failed.
      passes = 0;
      ++failures;
      if (failures >= hc.unhealthy_after) r->health.down.store(true, kRelaxed);
    }
    co_await wait(timer, hc.interval);
  }
}

awaitable<void> scrape_loop(std::shared_ptr<http::UpstreamClient> client, const ModelRuntime* mr,
                            Replica* r, Owner owner) {
  const auto& lm = mr->config->pool.load_metrics;
  const std::string what = "load scrape of replica " + r->config->id + " of " + mr->config->name;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool warned = false;
  while (!owner.stopped()) {
    const bool ok =
        co_await run_guarded(what, [&] { return scrape_once(*client, *mr, *r, warned); });
    if (!ok) clear_report(*r);  // never act on a stale report
    co_await wait(timer, lm.interval);
  }
}

std::size_t start_monitors(asio::io_context& io, asio::ssl::context& tls, const Runtime& runtime,
                           const Owner& owner) {
  std::size_t started = 0;
  std::shared_ptr<http::UpstreamClient> client;
  for (const auto& [name, mm] : runtime.models) {
    const auto& pc = mm.config->pool;
    if (!pc.health_check.enabled && !pc.load_metrics.enabled) continue;
    if (!client)
      client = std::make_shared<http::UpstreamClient>(io, tls, 4,
                                                      runtime.config->server.upstream_idle_timeout);
    for (Replica* r : mm.replica_ptrs) {
      if (pc.health_check.enabled) {
        asio::co_spawn(io, health_loop(client, &mm, r, owner), asio::detached);
        ++started;
      }
      if (pc.load_metrics.enabled) {
        asio::co_spawn(io, scrape_loop(client, &mm, r, owner), asio::detached);
        ++started;
      }
    }
  }
  return started;
}

}  // namespace

std::size_t start_replica_monitors(asio::io_context& io, asio::ssl::context& tls,
                                   const Runtime& runtime) {
  return start_monitors(io, tls, runtime, Owner{});
}

std::size_t start_replica_monitors(asio::io_context& io, asio::ssl::context& tls,
                                   std::shared_ptr<const Runtime> runtime,
                                   std::shared_ptr<const std::atomic<bool>> stop) {
  const Runtime& rt = *runtime;
  return start_monitors(io, tls, rt, Owner{std::move(runtime), std::move(stop)});
}

}  // namespace switchboard::pipeline
