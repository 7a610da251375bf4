// What admin route handlers may use (admin/admin_routes.h). Owned by the admin server; every member
// outlives the handlers.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <optional>

#include "admin/admin_routes.h"
#include "admin/reloader.h"
#include "admin/timeseries.h"
#include "pipeline/gateway.h"

namespace switchboard::admin {

struct AdminServices {
  pipeline::Gateway& gateway;
  TimeSeries& timeseries;
  Reloader& reloader;
  asio::thread_pool& pool;              // blocking work: SQLite, reloads
  const AdminRoutes* routes = nullptr;  // the table, for the index page
};

// Runs `work` on the pool and resumes the caller on its own executor with the result: blocking
// calls never run on an event loop. `work` must outlive the call (the caller's local). The closure
// in the co_await captures only a pointer (GCC 12 may copy a closure in a co_await bitwise).
// (co_spawn needs a default-constructible result: the value travels in an optional.)
template <typename T>
asio::awaitable<T> blocking(asio::thread_pool& pool, const std::function<T()>* work) {
  std::optional<T> done = co_await asio::co_spawn(
      pool, [work]() -> asio::awaitable<std::optional<T>> { co_return (*work)(); },
      asio::use_awaitable);
  co_return std::move(*done);
}

}  // namespace switchboard::admin
