#include "admin/admin_server.h"

#include "access/credentials.h"
#include "admin/browser_guard.h"

#include "config/secret_env.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace switchboard::admin {

Result<std::unique_ptr<AdminServer>> AdminServer::create(const config::AdminConfig& config,
                                                         pipeline::Gateway& gateway,
                                                         TimeSeries& timeseries,
                                                         Reloader& reloader) {
  std::unique_ptr<AdminServer> s(new AdminServer());
  if (!config.key_env.empty()) {
    auto key = config::secret_from_env(config.key_env, config.where + ": admin.key_env");
    if (!key) return key.error();
    if (key->empty())
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        config.where + ": admin.key_env names $" + config.key_env +
                            ", which is not set (or empty)");
    s->key_ = std::move(*key);
  }
  s->allowed_hosts_ = config.allowed_hosts;
  s->pool_ = std::make_unique<asio::thread_pool>(2);
  s->services_ = std::unique_ptr<AdminServices>(
      new AdminServices{gateway, timeseries, reloader, *s->pool_, &s->routes_});
  const auto& registry = AdminRouteRegistry::instance();
  for (const auto& name : registry.names()) (*registry.find(name))(s->routes_, *s->services_);

  http::ServerOptions options;
  options.host = config.host;
  options.port = config.port;
  options.threads = 1;
  options.max_body_bytes = 1 << 20;
  options.max_connections = 256;
  // An operator's tools and the dashboard send small requests at once: connections that idle or
  // trickle are let go sooner than on the API listener, so idle sockets cannot hold all 256 slots
  // for a minute at a time, and bodies in memory stay within 16 MiB together.
  options.idle_timeout = std::chrono::milliseconds(10'000);
  options.body_timeout = std::chrono::milliseconds(10'000);
  options.max_body_budget_bytes = std::size_t{16} << 20;
  options.drain_timeout = std::chrono::milliseconds(5000);
  AdminServer* self = s.get();
  options.check_head = [self](const http::RequestHead& head) { return self->refusal(head); };
  auto server =
      http::Server::create(options, [self](http::Exchange& ex) { return self->handle(ex); });
  if (!server)
    return make_error(server.error().kind, server.error().code,
                      "admin listener: " + server.error().message);
  s->server_ = std::move(*server);
  return s;
}

AdminServer::~AdminServer() {
  stop();
  if (pool_) pool_->join();
}

void AdminServer::start() {
  thread_ = std::thread([this] { server_->run(); });
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  server_->begin_shutdown();
  thread_.join();
}

bool AdminServer::authorized(const http::RequestHead& req) const {
  if (key_.empty()) return true;
  auto it = req.find(http::bhttp::field::authorization);
  if (it == req.end()) return false;
  // As the data plane reads it (the scheme's case does not matter: RFC 9110).
  const std::string_view v = access::bearer_token(std::string_view(it->value()));
  if (v.empty()) return false;
  // Constant time in the key's content (the length is not secret enough to hide).
  unsigned char diff = v.size() == key_.size() ? 0 : 1;
  for (std::size_t i = 0; i < key_.size(); ++i)
    diff |= static_cast<unsigned char>(key_[i] ^ (i < v.size() ? v[i] : 0));
  return diff == 0;
}

std::optional<Error> AdminServer::refusal(const http::RequestHead& head) const {
  if (key_.empty()) return browser_refusal(head, allowed_hosts_);
  const auto match = match_of(head);
  if (match.handler && !match.open && !authorized(head))
    return make_error(ErrorKind::kUnauthorized, "invalid_admin_key",
                      "the admin API needs Authorization: Bearer <admin key>");
  return std::nullopt;
}

AdminRoutes::Match AdminServer::match_of(const http::RequestHead& req) const {
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  // HEAD is answered as GET (the server then sends the head alone: http::Exchange::respond).
  return routes_.find(
      req.method() == http::bhttp::verb::head ? http::bhttp::verb::get : req.method(), target);
}

asio::awaitable<void> AdminServer::handle(http::Exchange& ex) {
  auto& req = ex.request();
  // Refused from the head (the key, the browser guard: refusal(), before the body was read), or
  // the body could not be read.
  if (ex.read_error()) {
    http::Response r = error_response(*ex.read_error());
    if (ex.read_error()->code == "invalid_admin_key")
      r.set(http::bhttp::field::www_authenticate, "Bearer");
    co_return (void) co_await ex.respond(std::move(r));
  }
  std::string_view target = req.target();
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  const auto match = match_of(req);
  if (!match.handler) {
    Error e = match.path_known
                  ? make_error(ErrorKind::kMethodNotAllowed, "method_not_allowed",
                               std::string(req.method_string()) + " is not allowed on " +
                                   std::string(target))
                  : make_error(ErrorKind::kNotFound, "not_found",
                               "no such admin endpoint: " + std::string(req.method_string()) + " " +
                                   std::string(target));
    http::Response r = error_response(e);
    co_return (void) co_await ex.respond(std::move(r));
  }
  AdminRequest ar{req, target, match.rest, parse_query(query)};
  http::Response response = co_await (*match.handler)(ar);
  co_await ex.respond(std::move(response));
}

}  // namespace switchboard::admin
