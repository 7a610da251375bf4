// `switchboard serve --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains.
#include <spdlog/spdlog.h>

#include <csignal>

#include "cli/command.h"
#include "config/config.h"
#include "http/server.h"
#include "pipeline/gateway.h"

namespace switchboard::cli {
namespace {
namespace asio = boost::asio;

struct ServeOptions {
  std::string config;
  std::string listen;  // overrides the config's listen when set
};

int run_serve(const ServeOptions& opts) {
  auto config = config::load_config(opts.config);
  if (!config) {
    spdlog::error("{}", config.error().message);
    return 2;
  }
  auto cfg = *config;
  if (!opts.listen.empty()) {
    auto listen = config::parse_listen(opts.listen);
    if (!listen) {
      spdlog::error("--listen: {}", listen.error().message);
      return 2;
    }
    auto copy = std::make_shared<config::Config>(*cfg);
    copy->server.host = listen->first;
    copy->server.port = listen->second;
    cfg = copy;
  }
  auto runtime = pipeline::build_runtime(cfg);
  if (!runtime) {
    spdlog::error("{}", runtime.error().message);
    return 2;
  }
  store::StoreOptions store_options;
  store_options.retention_days = cfg->store.retention_days;
  store_options.max_rows = cfg->store.max_rows;
  auto store = store::DecisionStore::open(cfg->store.sqlite_path, store_options);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 2;
  }
  auto gateway = std::make_shared<pipeline::Gateway>(std::move(*runtime), std::move(*store));

  const auto& s = cfg->server;
  http::ServerOptions options;
  options.host = s.host;
  options.port = s.port;
  options.threads = s.threads;
  options.max_body_bytes = s.max_body_bytes;
  options.max_header_bytes = s.max_header_bytes;
  options.idle_timeout = s.idle_timeout;
  options.body_timeout = s.body_timeout;
  options.write_timeout = s.write_timeout;
  options.drain_timeout = s.drain_timeout;
  options.max_connections = s.max_connections;
  options.max_body_budget_bytes = s.max_body_budget_bytes;
  auto server =
      http::Server::create(options, [gateway](http::Exchange& ex) { return gateway->serve(ex); });
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 2;
  }
  gateway->attach(**server);

  asio::signal_set signals((*server)->context(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining in-flight requests", sig);
    (*server)->begin_shutdown();
  });
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info(
      "switchboard listening on {}:{} ({} threads, {} models, {} routes, max {} connections)",
      s.host, (*server)->port(), (*server)->threads(), cfg->models.size(), cfg->routes.size(),
      (*server)->max_connections());
  (*server)->run();
  gateway->detach();
  gateway->decisions().flush();
  spdlog::info("switchboard stopped");
  return 0;
}

const CommandRegistrar kServe("serve", "Run the gateway", [](CLI::App& app) -> CommandMain {
  auto opts = std::make_shared<ServeOptions>();
  app.add_option("-c,--config", opts->config, "YAML configuration file")->required();
  app.add_option("--listen", opts->listen, "HOST:PORT to listen on, overriding the config (port 0 = any)");
  return [opts] { return run_serve(*opts); };
});

}  // namespace
}  // namespace switchboard::cli
