#include "pipeline/client_watch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pipeline/request_context.h"

namespace switchboard::pipeline {

ClientWatch::ClientWatch(asio::any_io_executor executor, Arm arm)
    : arm_(std::move(arm)), signal_(executor, asio::steady_timer::time_point::max()) {}

void ClientWatch::arm() {
  if (armed_ || gone_) return;
  armed_ = true;
  if (arm_) arm_(*this);
}

void ClientWatch::mark_gone() {
  if (gone_) return;
  gone_ = true;
  signal_.cancel();
}

asio::awaitable<void> ClientWatch::until_gone() {
  arm();
  if (gone_) co_return;
  auto [ec] = co_await signal_.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

asio::awaitable<bool> unless_client_leaves(RequestContext& ctx, asio::awaitable<void> op) {
  ClientWatch* watch = ctx.client_watch;
  if (!watch) {
    co_await std::move(op);
    co_return true;
  }
  auto executor = co_await asio::this_coro::executor;
  auto [order, op_error, watch_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, std::move(op), asio::deferred),
          asio::co_spawn(executor, watch->until_gone(), asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)watch_error;
  // The watch may have ended first because the race was cancelled from outside (a plan's
  // deadline): only a client really gone counts.
  if (order[0] == 1 && watch->gone()) co_return false;
  if (op_error) std::rethrow_exception(op_error);
  co_return true;
}

bool client_left(const RequestContext& ctx) {
  return ctx.client_watch && ctx.client_watch->gone();
}

Error client_gone_error() {
  return make_error(ErrorKind::kBadRequest, "client_gone",
                    "the client closed its connection before the answer");
}

StageResult client_gone_result(RequestContext& ctx, std::size_t attempts_from) {
  for (std::size_t i = attempts_from; i < ctx.rec.attempts.size(); ++i)
    if (ctx.rec.attempts[i].result == "cancelled") ctx.rec.attempts[i].result = "client_gone";
  ctx.rec.reason += "; the client left before the answer";
  return StageResult::fail(client_gone_error(), "client_gone");
}

}  // namespace switchboard::pipeline
