// `switchboard serve --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains. SIGHUP
// reloads the config (admin/reloader.h). With an `admin:` section, the admin listener
// (admin/admin_server.h) runs beside the public one.
#include <spdlog/spdlog.h>

#include <csignal>

#include "admin/admin_server.h"
#include "admin/reloader.h"
#include "admin/timeseries.h"
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
  const auto& admin_config = cfg->admin;
  gateway->set_public_endpoints(admin_config.public_metrics_served(),
                                admin_config.public_decisions_served(),
                                admin_config.enabled && admin_config.public_metrics);
  // The dashboard's live figures: every finished record is counted in the ring. (The keys module
  // passes the record's key name as the second argument.)
  admin::TimeSeries timeseries;
  gateway->set_record_observer([&timeseries](const store::DecisionRecord& r) { timeseries.add(r, r.key_name); });
  admin::Reloader reloader(opts.config, *config, *gateway);
  std::unique_ptr<admin::AdminServer> admin_server;
  if (admin_config.enabled) {
    auto created = admin::AdminServer::create(admin_config, *gateway, timeseries, reloader);
    if (!created) {
      spdlog::error("{}", created.error().message);
      return 2;
    }
    admin_server = std::move(*created);
  }

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
  options.on_refused = [gateway](std::string_view code) {
    gateway->metrics().http_refused.with({code}).inc();
  };
  auto server =
      http::Server::create(options, [gateway](http::Exchange& ex) { return gateway->serve(ex); });
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 2;
  }
  gateway->attach(**server);

  asio::signal_set signals((*server)->context(0), SIGINT, SIGTERM);
  asio::signal_set hup((*server)->context(0), SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining in-flight requests", sig);
    hup.cancel();
    (*server)->begin_shutdown();
  });
  // SIGHUP: reload on a thread of its own (it loads weights and models), one at a time; a signal
  // arriving during a reload is served after it.
  asio::thread_pool reloads(1);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      asio::post(reloads, [&] { (void)reloader.reload("sighup"); });
      wait_hup();
    });
  };
  wait_hup();
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info(
      "switchboard listening on {}:{} ({} threads, {} models, {} routes, max {} connections)",
      s.host, (*server)->port(), (*server)->threads(), cfg->models.size(), cfg->routes.size(),
      (*server)->max_connections());
  if (admin_server) {
    admin_server->start();
    spdlog::info("admin listener on {}:{} (dashboard: http://{}:{}/dashboard/{})", admin_config.host,
                 admin_server->port(), admin_config.host, admin_server->port(),
                 admin_config.key_env.empty() ? "" : ", key from $" + admin_config.key_env);
  }
  (*server)->run();
  reloads.join();
  if (admin_server) admin_server->stop();
  gateway->detach();
  // Bounded: a database locked elsewhere does not hold the stop (the store's destructor then
  // tries once more for its own grace, and counts what it gives up).
  if (!gateway->decisions().flush(store_options.stop_grace))
    spdlog::warn("decision records still unwritten after {} s", store_options.stop_grace.count() / 1000);
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
