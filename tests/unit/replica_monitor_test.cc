// The replica monitors' loops survive an exception in one iteration (run_guarded).
#include "pipeline/replica_monitor.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

namespace switchboard::pipeline {
namespace {

namespace asio = boost::asio;

TEST(ReplicaMonitor, AnIterationThatThrowsIsLoggedAndTheLoopGoesOn) {
  asio::io_context io;
  std::vector<bool> results;
  int ran = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 4; ++i) {
          bool ok = co_await run_guarded("test step", [&, i]() -> asio::awaitable<void> {
            ++ran;
            if (i == 1) throw std::runtime_error("bad gauge");
            if (i == 2) throw 7;
            co_return;
          });
          results.push_back(ok);
        }
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);  // nothing may escape
      });
  io.run();
  EXPECT_EQ(ran, 4);
  EXPECT_EQ(results, (std::vector<bool>{true, false, false, true}));
}

}  // namespace
}  // namespace switchboard::pipeline
