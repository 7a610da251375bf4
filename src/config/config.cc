#include "config/config.h"

#include <arpa/inet.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <yaml-cpp/eventhandler.h>

namespace switchboard::config {
namespace {

// Thrown only inside this file while walking the YAML tree, turned into an Error at the boundary.
struct ConfigError {
  std::string message;
};

class Walker {
 public:
  explicit Walker(std::string source) : source_(std::move(source)) {}

  std::string where(const YAML::Node& node) const {
    auto m = node.Mark();
    if (m.is_null()) return source_;
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& reason) const {
    throw ConfigError{where(node) + ": " + reason};
  }
  void expect_map(const YAML::Node& node, const std::string& what) const {
    if (!node.IsMap()) fail(node, what + " must be a mapping");
  }
  void only_keys(const YAML::Node& node, const std::string& what,
                 std::initializer_list<const char*> allowed) const {
    expect_map(node, what);
    std::set<std::string> ok(allowed.begin(), allowed.end());
    std::set<std::string> seen;  // yaml-cpp keeps the first of two equal keys, silently
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) fail(kv.first, "a key in " + what + " must be a plain name");
      auto key = kv.first.as<std::string>();
      if (!seen.insert(key).second)
        fail(kv.first, "key '" + key + "' appears twice in " + what);
      if (!ok.count(key)) {
        std::string list;
        for (const auto* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
        fail(kv.first, "unknown key '" + key + "' in " + what + " (allowed: " + list + ")");
      }
    }
  }
  template <typename T>
  T scalar(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) fail(node, what + " must be a scalar");
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, what + " has the wrong type (got '" + node.Scalar() + "')");
    }
  }
  bool boolean(const YAML::Node& node, const std::string& what) const {
    bool b = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, b))
      fail(node, what + " must be true or false");
    return b;
  }
  // A name, URL, path or type: not empty, valid UTF-8, no control characters (names end up in
  // response headers and JSON).
  std::string string(const YAML::Node& node, const std::string& what) const {
    auto s = scalar<std::string>(node, what);
    if (s.empty()) fail(node, what + " must not be empty");
    if (!simdjson::validate_utf8(s.data(), s.size())) fail(node, what + " must be valid UTF-8");
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f)
        fail(node, what + " must not hold control characters (a line break, a tab, ...)");
    return s;
  }
  double non_negative(const YAML::Node& node, const std::string& what) const {
    auto v = scalar<double>(node, what);
    if (!(v >= 0) || !std::isfinite(v)) fail(node, what + " must be >= 0 and finite");
    return v;
  }
  std::int64_t positive_int(const YAML::Node& node, const std::string& what) const {
    auto v = scalar<std::int64_t>(node, what);
    if (v <= 0) fail(node, what + " must be > 0");
    return v;
  }
  // At most 30 days: durations are added to steady_clock times (nanoseconds), where a "no limit"
  // such as 1e13 ms would overflow; 30 days is no limit in practice.
  std::chrono::milliseconds millis(const YAML::Node& node, const std::string& what) const {
    constexpr std::int64_t kMost = std::int64_t{30} * 24 * 3600 * 1000;
    return std::chrono::milliseconds(std::min<std::int64_t>(positive_int(node, what), kMost));
  }

 private:
  std::string source_;
};

void parse_listen_key(const Walker& w, const YAML::Node& node, ServerConfig& server) {
  auto parsed = parse_listen(w.string(node, "listen"));
  if (!parsed) w.fail(node, parsed.error().message);
  server.host = parsed->first;
  server.port = parsed->second;
}

void parse_server(const Walker& w, const YAML::Node& node, ServerConfig& s) {
  w.only_keys(node, "server",
              {"threads", "max_body_bytes", "max_header_bytes", "idle_timeout_ms",
               "body_timeout_ms", "write_timeout_ms", "drain_timeout_ms", "max_connections",
               "max_body_budget_bytes", "upstream_idle_timeout_ms", "cancel_on_client_close"});
  if (node["threads"]) {
    // 0 (the default): one per core, as README's example writes it.
    const auto threads = w.scalar<std::int64_t>(node["threads"], "server.threads");
    if (threads < 0 || threads > 1024)
      w.fail(node["threads"], "server.threads must be between 0 (one per core) and 1024");
    s.threads = static_cast<unsigned>(threads);
  }
  if (node["max_body_bytes"]) s.max_body_bytes = w.positive_int(node["max_body_bytes"], "server.max_body_bytes");
  if (node["max_header_bytes"]) s.max_header_bytes = w.positive_int(node["max_header_bytes"], "server.max_header_bytes");
  if (node["idle_timeout_ms"]) s.idle_timeout = w.millis(node["idle_timeout_ms"], "server.idle_timeout_ms");
  if (node["body_timeout_ms"]) s.body_timeout = w.millis(node["body_timeout_ms"], "server.body_timeout_ms");
  if (node["write_timeout_ms"]) s.write_timeout = w.millis(node["write_timeout_ms"], "server.write_timeout_ms");
  if (node["drain_timeout_ms"]) s.drain_timeout = w.millis(node["drain_timeout_ms"], "server.drain_timeout_ms");
  if (node["max_connections"])
    s.max_connections = w.positive_int(node["max_connections"], "server.max_connections");
  if (node["max_body_budget_bytes"])
    s.max_body_budget_bytes =
        w.positive_int(node["max_body_budget_bytes"], "server.max_body_budget_bytes");
  if (node["upstream_idle_timeout_ms"])
    s.upstream_idle_timeout =
        w.millis(node["upstream_idle_timeout_ms"], "server.upstream_idle_timeout_ms");
  if (node["cancel_on_client_close"])
    s.cancel_on_client_close = w.boolean(node["cancel_on_client_close"], "server.cancel_on_client_close");
}

ReplicaConfig parse_replica(const Walker& w, const YAML::Node& node, const std::string& what) {
  w.only_keys(node, what, {"url", "name", "api_key_env", "upstream_model", "max_context", "adapters",
                           "max_adapters", "api", "pass_headers"});
  ReplicaConfig r;
  if (!node["url"]) w.fail(node, what + " needs a url");
  r.url = w.string(node["url"], what + ".url");
  auto url = parse_url(r.url);
  if (!url) w.fail(node["url"], url.error().message);
  r.endpoint = *url;
  r.id = node["name"] ? w.string(node["name"], what + ".name") : r.endpoint.authority();
  if (node["api_key_env"]) {
    r.api_key_env = w.string(node["api_key_env"], what + ".api_key_env");
    for (char c : r.api_key_env) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
        w.fail(node["api_key_env"], what + ".api_key_env must name an environment variable "
                                           "(letters, digits, '_'), not hold a key");
    }
  }
  if (node["api"]) {
    r.api = w.string(node["api"], what + ".api");
    // The names of pipeline/native/'s registered APIs (the runtime resolves them).
    if (r.api != "chat" && r.api != "anthropic" && r.api != "responses")
      w.fail(node["api"], what + ".api must be chat, anthropic or responses, not '" + r.api + "'");
  }
  if (const auto& pass = node["pass_headers"]) {
    if (!pass.IsSequence()) w.fail(pass, what + ".pass_headers must be a list of header names");
    for (const auto& h : pass) {
      const std::string name = w.string(h, what + ".pass_headers[]");
      if (name != "anthropic-beta")
        w.fail(h, what + ".pass_headers: only anthropic-beta can be passed, not '" + name + "'");
      if (r.api != "anthropic")
        w.fail(h, what + ".pass_headers: anthropic-beta is for replicas with api: anthropic");
      r.pass_anthropic_beta = true;
    }
  }
  if (node["upstream_model"]) r.upstream_model = w.string(node["upstream_model"], what + ".upstream_model");
  if (node["max_context"]) r.max_context = w.positive_int(node["max_context"], what + ".max_context");
  if (const auto& adapters = node["adapters"]) {
    if (!adapters.IsSequence()) w.fail(adapters, what + ".adapters must be a list of adapter names");
    std::set<std::string> seen;
    for (const auto& a : adapters) {
      auto name = w.string(a, what + ".adapters[]");
      if (!seen.insert(name).second) w.fail(a, "duplicate adapter '" + name + "' in " + what + ".adapters");
      r.adapters.push_back(name);
    }
  }
  if (node["max_adapters"]) {
    r.max_adapters = w.positive_int(node["max_adapters"], what + ".max_adapters");
    if (static_cast<std::size_t>(r.max_adapters) < r.adapters.size())
      w.fail(node["max_adapters"], what + ".max_adapters is smaller than the number of adapters listed");
  }
  return r;
}

// The pool keys of a model (see pool_config.h).
void parse_pool(const Walker& w, const YAML::Node& node, const std::string& what, ModelConfig& m) {
  auto& p = m.pool;
  if (const auto& n = node["outlier_ejection"]) {
    const std::string k = what + ".outlier_ejection";
    w.only_keys(n, k, {"consecutive_failures", "base_ejection_ms", "max_ejection_ms",
                       "max_ejection_percent"});
    if (n["consecutive_failures"]) {
      auto v = w.scalar<std::int64_t>(n["consecutive_failures"], k + ".consecutive_failures");
      if (v < 0 || v > 1000000) w.fail(n["consecutive_failures"], k + ".consecutive_failures must be >= 0 (0 = off)");
      p.outlier.consecutive_failures = static_cast<std::int32_t>(v);
    }
    if (n["max_ejection_percent"]) {
      auto v = w.scalar<std::int64_t>(n["max_ejection_percent"], k + ".max_ejection_percent");
      if (v < 0 || v > 100)
        w.fail(n["max_ejection_percent"], k + ".max_ejection_percent must be in [0, 100]");
      p.outlier.max_ejection_percent = static_cast<std::int32_t>(v);
    }
    if (n["base_ejection_ms"]) p.outlier.base_ejection = w.millis(n["base_ejection_ms"], k + ".base_ejection_ms");
    if (n["max_ejection_ms"]) p.outlier.max_ejection = w.millis(n["max_ejection_ms"], k + ".max_ejection_ms");
    if (p.outlier.max_ejection < p.outlier.base_ejection)
      w.fail(n, k + ".max_ejection_ms must be >= base_ejection_ms");
  }
  if (const auto& n = node["retry"]) {
    const std::string k = what + ".retry";
    w.only_keys(n, k, {"max_attempts", "budget_percent", "min_retries"});
    if (n["max_attempts"]) {
      auto v = w.positive_int(n["max_attempts"], k + ".max_attempts");
      if (v > 10) w.fail(n["max_attempts"], k + ".max_attempts must be at most 10");
      p.retry.max_attempts = static_cast<std::int32_t>(v);
    }
    if (n["budget_percent"]) {
      p.retry.budget_percent = w.non_negative(n["budget_percent"], k + ".budget_percent");
      if (p.retry.budget_percent > 100) w.fail(n["budget_percent"], k + ".budget_percent must be at most 100");
    }
    if (n["min_retries"]) {
      auto v = w.scalar<std::int64_t>(n["min_retries"], k + ".min_retries");
      if (v < 0) w.fail(n["min_retries"], k + ".min_retries must be >= 0");
      p.retry.min_retries = v;
    }
  }
  if (const auto& n = node["hedge"]) {
    const std::string k = what + ".hedge";
    w.only_keys(n, k, {"after_ms", "max"});
    if (!n["after_ms"]) w.fail(n, k + " needs after_ms");
    p.hedge.enabled = true;
    p.hedge.after = w.millis(n["after_ms"], k + ".after_ms");
    if (n["max"] && w.positive_int(n["max"], k + ".max") != 1) w.fail(n["max"], k + ".max must be 1");
  }
  if (const auto& n = node["health_check"]) {
    const std::string k = what + ".health_check";
    w.only_keys(n, k, {"path", "interval_ms", "timeout_ms", "unhealthy_after", "healthy_after"});
    auto& h = p.health_check;
    h.enabled = true;
    if (n["path"]) h.path = w.string(n["path"], k + ".path");
    if (h.path.front() != '/') w.fail(n["path"], k + ".path must start with '/'");
    if (n["interval_ms"]) h.interval = w.millis(n["interval_ms"], k + ".interval_ms");
    if (n["timeout_ms"]) h.timeout = w.millis(n["timeout_ms"], k + ".timeout_ms");
    if (n["unhealthy_after"])
      h.unhealthy_after = static_cast<std::int32_t>(w.positive_int(n["unhealthy_after"], k + ".unhealthy_after"));
    if (n["healthy_after"])
      h.healthy_after = static_cast<std::int32_t>(w.positive_int(n["healthy_after"], k + ".healthy_after"));
  }
  if (const auto& n = node["load_metrics"]) {
    const std::string k = what + ".load_metrics";
    w.only_keys(n, k, {"path", "interval_ms", "timeout_ms"});
    auto& l = p.load_metrics;
    l.enabled = true;
    if (n["path"]) l.path = w.string(n["path"], k + ".path");
    if (l.path.front() != '/') w.fail(n["path"], k + ".path must start with '/'");
    if (n["interval_ms"]) l.interval = w.millis(n["interval_ms"], k + ".interval_ms");
    l.timeout = std::min(l.interval / 2, std::chrono::milliseconds(500));
    if (l.timeout.count() == 0) l.timeout = std::chrono::milliseconds(1);
    if (n["timeout_ms"]) l.timeout = w.millis(n["timeout_ms"], k + ".timeout_ms");
  }
  if (const auto& n = node["adapters"]) {
    if (!n.IsSequence()) w.fail(n, what + ".adapters must be a list of adapter names");
    for (const auto& a : n) {
      auto name = w.string(a, what + ".adapters[]");
      if (std::find(p.adapters.begin(), p.adapters.end(), name) != p.adapters.end())
        w.fail(a, "duplicate adapter '" + name + "' in " + what + ".adapters");
      p.adapters.push_back(name);
    }
  }
}

ModelConfig parse_model(const Walker& w, const YAML::Node& node, const std::string& what) {
  w.only_keys(node, what,
              {"name", "price", "context_window", "replicas", "timeout_ms", "connect_timeout_ms",
               "stream_idle_timeout_ms",
               "balancer", "outlier_ejection", "retry", "hedge", "health_check", "load_metrics", "adapters",
               "max_stream_line_bytes", "max_stream_event_bytes", "max_stream_bytes",
               "max_stream_ms", "capacity", "reasoning", "prefill"});
  ModelConfig m;
  if (!node["name"]) w.fail(node, what + " needs a name");
  m.name = w.string(node["name"], what + ".name");
  if (const auto& cap = node["capacity"]) {
    w.only_keys(cap, what + ".capacity", {"rps", "tokens_per_s", "concurrent"});
    if (cap.size() != 1)
      w.fail(cap, what + ".capacity must set exactly one of rps, tokens_per_s, concurrent");
    for (const auto& kv : cap) {
      m.capacity.unit = kv.first.as<std::string>();
      m.capacity.limit = w.non_negative(kv.second, what + ".capacity." + m.capacity.unit);
      if (!(m.capacity.limit > 0)) w.fail(kv.second, what + ".capacity." + m.capacity.unit + " must be > 0");
      // Requests in flight are whole: 0.5 was read as "over capacity" with one request running.
      if (m.capacity.unit == "concurrent" && m.capacity.limit != std::floor(m.capacity.limit))
        w.fail(kv.second, what + ".capacity.concurrent must be a whole number of requests");
    }
  }
  if (node["price"]) {
    w.only_keys(node["price"], what + ".price",
                {"input_per_mtok", "output_per_mtok", "cached_input_per_mtok",
                 "cache_write_input_per_mtok"});
    if (node["price"]["input_per_mtok"])
      m.price.input_per_mtok = w.non_negative(node["price"]["input_per_mtok"], "price.input_per_mtok");
    if (node["price"]["output_per_mtok"])
      m.price.output_per_mtok = w.non_negative(node["price"]["output_per_mtok"], "price.output_per_mtok");
    if (node["price"]["cached_input_per_mtok"])
      m.price.cached_input_per_mtok =
          w.non_negative(node["price"]["cached_input_per_mtok"], "price.cached_input_per_mtok");
    if (node["price"]["cache_write_input_per_mtok"])
      m.price.cache_write_input_per_mtok = w.non_negative(node["price"]["cache_write_input_per_mtok"],
                                                          "price.cache_write_input_per_mtok");
  }
  if (node["context_window"]) m.context_window = w.positive_int(node["context_window"], what + ".context_window");
  if (const auto& r = node["reasoning"]) {
    const std::string mode = w.string(r, what + ".reasoning");
    if (mode == "on") m.reasoning = ReasoningMode::kOn;
    else if (mode == "off") m.reasoning = ReasoningMode::kOff;
    else if (mode != "auto") w.fail(r, what + ".reasoning must be auto, on or off, not '" + mode + "'");
  }
  if (const auto& p = node["prefill"]) {
    const std::string mode = w.string(p, what + ".prefill");
    if (mode == "continue") m.continue_prefill = true;
    else if (mode != "turn") w.fail(p, what + ".prefill must be turn or continue, not '" + mode + "'");
  }
  if (node["timeout_ms"]) m.timeout = w.millis(node["timeout_ms"], what + ".timeout_ms");
  if (node["connect_timeout_ms"])
    m.connect_timeout = w.millis(node["connect_timeout_ms"], what + ".connect_timeout_ms");
  if (node["max_stream_line_bytes"])
    m.max_stream_line_bytes = w.positive_int(node["max_stream_line_bytes"], what + ".max_stream_line_bytes");
  if (node["max_stream_event_bytes"])
    m.max_stream_event_bytes = w.positive_int(node["max_stream_event_bytes"], what + ".max_stream_event_bytes");
  if (node["max_stream_bytes"])
    m.max_stream_bytes = w.positive_int(node["max_stream_bytes"], what + ".max_stream_bytes");
  if (node["max_stream_ms"]) m.max_stream_duration = w.millis(node["max_stream_ms"], what + ".max_stream_ms");
  if (node["stream_idle_timeout_ms"])
    m.stream_idle_timeout = w.millis(node["stream_idle_timeout_ms"], what + ".stream_idle_timeout_ms");
  m.balancer_where = w.where(node);
  if (const auto& b = node["balancer"]) {
    // A name, or a mapping {type: NAME, ...options}; the balancer's factory checks the options.
    m.balancer_where = w.where(b);
    if (b.IsMap()) {
      if (!b["type"]) w.fail(b, what + ".balancer needs a type");
      m.balancer = w.string(b["type"], what + ".balancer.type");
      m.balancer_options = b;
    } else {
      m.balancer = w.string(b, what + ".balancer");
    }
  }
  const auto& replicas = node["replicas"];
  if (!replicas || !replicas.IsSequence() || replicas.size() == 0)
    w.fail(replicas ? replicas : node, "model '" + m.name + "' needs a non-empty list of replicas");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    auto r = parse_replica(w, replicas[i], what + ".replicas[" + std::to_string(i) + "]");
    r.public_name = replicas[i]["name"] ? r.id : "#" + std::to_string(i + 1);
    r.label = "replica " + r.public_name + " of " + m.name;
    // Clients tell replicas apart by public name: a `name:` may not be another's position.
    if (replicas[i]["name"] && r.id.starts_with('#'))
      w.fail(replicas[i]["name"], "replica name '" + r.id + "' in model '" + m.name +
                                      "' starts with '#', which names unnamed replicas by position");
    if (!ids.insert(r.id).second)
      w.fail(replicas[i], "duplicate replica '" + r.id + "' in model '" + m.name + "' (give it a name:)");
    m.replicas.push_back(std::move(r));
  }
  parse_pool(w, node, what, m);
  // Adapters a replica loads at start are served by the model too.
  for (const auto& r : m.replicas)
    for (const auto& a : r.adapters)
      if (std::find(m.pool.adapters.begin(), m.pool.adapters.end(), a) == m.pool.adapters.end())
        m.pool.adapters.push_back(a);
  return m;
}

RouteConfig parse_route(const Walker& w, const YAML::Node& node, const std::string& what) {
  w.only_keys(node, what,
              {"name", "policy", "signals", "stages", "guard", "cache", "session", "budget"});
  RouteConfig r;
  if (!node["name"]) w.fail(node, what + " needs a name");
  r.name = w.string(node["name"], what + ".name");
  if (const auto& b = node["budget"]) {
    w.only_keys(b, what + ".budget", {"usd_per_hour"});
    if (!b["usd_per_hour"]) w.fail(b, what + ".budget needs usd_per_hour");
    r.budget.usd_per_hour = w.non_negative(b["usd_per_hour"], what + ".budget.usd_per_hour");
    if (!(r.budget.usd_per_hour > 0)) w.fail(b["usd_per_hour"], what + ".budget.usd_per_hour must be > 0");
  }
  const auto& policy = node["policy"];
  if (!policy) w.fail(node, "route '" + r.name + "' needs a policy");
  w.expect_map(policy, what + ".policy");
  if (!policy["type"]) w.fail(policy, "route '" + r.name + "' policy needs a type");
  r.policy_type = w.string(policy["type"], what + ".policy.type");
  r.policy = policy;
  r.where = w.where(policy);
  if (const auto& sig = node["signals"]) {
    if (!sig.IsSequence()) w.fail(sig, what + ".signals must be a list of language, code, embedding, task");
    for (std::size_t i = 0; i < sig.size(); ++i) {
      std::string name = w.string(sig[i], what + ".signals");
      if (name != "language" && name != "code" && name != "embedding" && name != "task")
        w.fail(sig[i], what + ".signals: unknown signal '" + name + "' (language, code, embedding, task)");
      r.signals.push_back(std::move(name));
    }
  }
  // `stages: {NAME: off|on}`: the stage runner checks the names (build_runtime), as stages register
  // themselves.
  if (const auto& st = node["stages"]) {
    w.expect_map(st, what + ".stages");
    for (const auto& kv : st) {
      std::string name = w.string(kv.first, what + ".stages");
      const std::string value = kv.second.IsScalar() ? kv.second.Scalar() : "";
      bool on = false;
      if (value == "on" || value == "true") {
        on = true;
      } else if (value != "off" && value != "false") {
        w.fail(kv.second, what + ".stages." + name + " must be on or off");
      }
      r.stages.push_back({std::move(name), on, w.where(kv.first)});
    }
  }
  for (const char* section : kStageSections)
    if (node[section]) r.sections.emplace(section, node[section]);
  return r;
}

void parse_control(const Walker& w, const YAML::Node& node, ControlConfig& c) {
  w.only_keys(node, "control",
              {"interval_ms", "price_step", "lambda_step", "smoothing", "max_price", "max_lambda",
               "history"});
  if (node["interval_ms"]) c.interval = w.millis(node["interval_ms"], "control.interval_ms");
  if (node["price_step"]) c.price_step = w.non_negative(node["price_step"], "control.price_step");
  if (node["lambda_step"]) c.lambda_step = w.non_negative(node["lambda_step"], "control.lambda_step");
  if (node["smoothing"]) {
    c.smoothing = w.non_negative(node["smoothing"], "control.smoothing");
    if (!(c.smoothing > 0 && c.smoothing <= 1)) w.fail(node["smoothing"], "control.smoothing must be in (0, 1]");
  }
  if (node["max_price"]) c.max_price = w.non_negative(node["max_price"], "control.max_price");
  if (node["max_lambda"]) c.max_lambda = w.non_negative(node["max_lambda"], "control.max_lambda");
  if (node["history"]) c.history = w.positive_int(node["history"], "control.history");
}

void parse_signals(const Walker& w, const YAML::Node& node, SignalsConfig& s) {
  w.only_keys(node, "signals", {"weights_dir", "task_model", "embedding"});
  s.where = w.where(node);
  if (node["weights_dir"]) s.weights_dir = w.string(node["weights_dir"], "signals.weights_dir");
  if (node["task_model"]) s.task_model = w.string(node["task_model"], "signals.task_model");
  if (const auto& e = node["embedding"]) {
    w.only_keys(e, "signals.embedding", {"provider", "url", "model", "api_key_env", "timeout_ms"});
    auto& emb = s.embedding;
    if (e["provider"]) {
      emb.provider = w.string(e["provider"], "signals.embedding.provider");
      if (emb.provider != "glove" && emb.provider != "http")
        w.fail(e["provider"], "signals.embedding.provider must be glove or http, got '" + emb.provider + "'");
    }
    if (e["url"]) {
      emb.url = w.string(e["url"], "signals.embedding.url");
      if (auto url = parse_url(emb.url); !url) w.fail(e["url"], url.error().message);
    }
    if (e["model"]) emb.model = w.string(e["model"], "signals.embedding.model");
    if (e["api_key_env"]) emb.api_key_env = w.string(e["api_key_env"], "signals.embedding.api_key_env");
    if (e["timeout_ms"]) emb.timeout = w.millis(e["timeout_ms"], "signals.embedding.timeout_ms");
    if (emb.provider == "http" && (emb.url.empty() || emb.model.empty()))
      w.fail(e, "signals.embedding with provider http needs url and model");
    if (emb.provider == "glove" && (!emb.url.empty() || !emb.model.empty() || !emb.api_key_env.empty()))
      w.fail(e, "signals.embedding: url, model and api_key_env are for provider http");
  }
}

std::shared_ptr<Config> parse_root(const Walker& w, const YAML::Node& root, const std::string& source) {
  auto cfg = std::make_shared<Config>();
  cfg->source = source;
  w.only_keys(root, "the configuration",
              {"listen", "server", "models", "routes", "store", "signals", "guard", "cache", "auth",
               "state", "admin", "apis", "control", "feedback"});
  for (const char* section : kStageSections)
    if (root[section]) cfg->sections.emplace(section, root[section]);
  for (const char* section : kTopLevelSections)
    if (root[section]) cfg->sections.emplace(section, root[section]);
  cfg->signals.where = source;
  if (root["signals"]) parse_signals(w, root["signals"], cfg->signals);
  if (root["control"]) parse_control(w, root["control"], cfg->control);
  if (root["listen"]) parse_listen_key(w, root["listen"], cfg->server);
  if (root["server"]) parse_server(w, root["server"], cfg->server);
  if (root["admin"]) {
    auto admin = parse_admin_section(root["admin"], source);
    if (!admin) throw ConfigError{admin.error().message};
    cfg->admin = std::move(*admin);
  }
  const auto& models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0)
    w.fail(models ? models : root, "models must be a non-empty list");
  std::set<std::string> names;
  for (std::size_t i = 0; i < models.size(); ++i) {
    auto m = parse_model(w, models[i], "models[" + std::to_string(i) + "]");
    if (!names.insert(m.name).second) w.fail(models[i], "duplicate model name '" + m.name + "'");
    cfg->models.push_back(std::move(m));
  }
  // An adapter is asked for by name in `model`, so its name must not be taken by a model or by an
  // adapter of another model.
  for (std::size_t i = 0; i < cfg->models.size(); ++i) {
    for (const auto& a : cfg->models[i].pool.adapters) {
      const auto& where = models[i]["adapters"] ? models[i]["adapters"] : models[i];
      if (!names.insert(a).second)
        w.fail(where, "adapter name '" + a + "' of model '" + cfg->models[i].name +
                          "' is already used by a model or another model's adapter");
    }
  }
  if (const auto& routes = root["routes"]) {
    if (!routes.IsSequence()) w.fail(routes, "routes must be a list");
    for (std::size_t i = 0; i < routes.size(); ++i) {
      auto r = parse_route(w, routes[i], "routes[" + std::to_string(i) + "]");
      if (!names.insert(r.name).second)
        w.fail(routes[i], "route name '" + r.name + "' is already used by a model or route");
      cfg->routes.push_back(std::move(r));
    }
  }
  if (const auto& store = root["store"]) {
    w.only_keys(store, "store", {"sqlite", "retention_days", "max_rows"});
    if (store["sqlite"]) cfg->store.sqlite_path = w.string(store["sqlite"], "store.sqlite");
    if (store["retention_days"]) {
      cfg->store.retention_days = w.non_negative(store["retention_days"], "store.retention_days");
      if (cfg->store.retention_days <= 0)
        w.fail(store["retention_days"],
               "store.retention_days must be > 0 (leave it out to keep records forever)");
    }
    if (store["max_rows"])
      cfg->store.max_rows = w.positive_int(store["max_rows"], "store.max_rows");
  }
  if (const auto& apis = root["apis"]) {
    w.expect_map(apis, "apis");
    w.only_keys(apis, "apis", {"responses"});
    if (const auto& r = apis["responses"]) {
      w.expect_map(r, "apis.responses");
      w.only_keys(r, "apis.responses", {"store", "max_stored_bytes"});
      ApiSettings& a = cfg->apis["responses"];
      if (r["store"]) {
        const std::string v = r["store"].IsScalar() ? r["store"].Scalar() : "";
        if (v != "true" && v != "false") w.fail(r["store"], "apis.responses.store must be true or false");
        a.store = v == "true";
      }
      if (r["max_stored_bytes"])
        a.max_stored_bytes = w.positive_int(r["max_stored_bytes"], "apis.responses.max_stored_bytes");
    }
  }
  return cfg;
}

}  // namespace

Result<Url> parse_url(const std::string& text) {
  Url url;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return make_error(ErrorKind::kBadRequest, "bad_url", "url must start with http:// or https://, got '" + text + "'");
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  // Credentials in the URL would be sent to nobody (keys go in api_key_env) and logged with it.
  if (authority.find('@') != std::string::npos)
    return make_error(ErrorKind::kBadRequest, "bad_url",
                      "url must not hold credentials (user:password@): put the key in an "
                      "environment variable named by api_key_env");
  if (rest.find_first_of("?#") != std::string::npos)
    return make_error(ErrorKind::kBadRequest, "bad_url",
                      "url must not hold a query or a fragment: '" + text + "'");
  url.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!url.base_path.empty() && url.base_path.back() == '/') url.base_path.pop_back();
  if (url.base_path.size() >= 3 && url.base_path.compare(url.base_path.size() - 3, 3, "/v1") == 0)
    url.base_path.resize(url.base_path.size() - 3);  // "…/v1" is implied by the API paths
  auto bad_port = [&] {
    return make_error(ErrorKind::kBadRequest, "bad_url", "url has a bad port: '" + text + "'");
  };
  std::string port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    // An IPv6 literal: "[::1]" or "[::1]:8080".
    auto close = authority.find(']');
    if (close == std::string::npos)
      return make_error(ErrorKind::kBadRequest, "bad_url",
                        "url has an unclosed '[': '" + text + "'");
    url.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_port();
      port = after.substr(1);
      has_port = true;
    }
    if (url.host.find(':') == std::string::npos)
      return make_error(ErrorKind::kBadRequest, "bad_url",
                        "only IPv6 addresses go in brackets: '" + text + "'");
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(':') != colon)
      return make_error(
          ErrorKind::kBadRequest, "bad_url",
          "an IPv6 address must be in brackets, as in http://[::1]:8080: '" + text + "'");
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  const std::string default_port = url.tls ? "443" : "80";
  url.port = has_port ? port : default_port;
  if (url.host.empty()) return make_error(ErrorKind::kBadRequest, "bad_url", "url has no host: '" + text + "'");
  if (url.port.empty() || url.port.size() > 5 ||
      url.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(url.port) > 65535 || std::stoi(url.port) == 0)
    return bad_port();
  const bool v6 = url.host.find(':') != std::string::npos;
  url.host_header = v6 ? "[" + url.host + "]" : url.host;
  if (std::stoi(url.port) != std::stoi(default_port)) url.host_header += ":" + url.port;
  return url;
}

std::string Url::authority() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& text) {
  auto bad = [&](const std::string& why) { return make_error(ErrorKind::kBadRequest, "bad_listen", why); };
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("listen must be HOST:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad("listen port must be a number 0-65535, got '" + port_text + "'");
  int port = std::stoi(port_text);
  if (port > 65535) return bad("listen port must be a number 0-65535, got '" + port_text + "'");
  // The listener binds an address; a name is not resolved (found here, not at start-up only).
  unsigned char address[sizeof(in6_addr)];
  const std::string without_zone = host.substr(0, host.find('%'));  // fe80::1%eth0
  if (inet_pton(AF_INET, host.c_str(), address) != 1 &&
      inet_pton(AF_INET6, without_zone.c_str(), address) != 1)
    return bad("listen host must be an IP address (127.0.0.1, 0.0.0.0, [::1]), got '" + host + "'");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const auto& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

const ModelConfig* Config::find_adapter_model(std::string_view name) const {
  for (const auto& m : models)
    for (const auto& a : m.pool.adapters)
      if (a == name) return &m;
  return nullptr;
}

const RouteConfig* Config::find_route(std::string_view name) const {
  for (const auto& r : routes)
    if (r.name == name) return &r;
  return nullptr;
}

namespace {

// Where a second YAML document starts, if the text has one: yaml-cpp's parser is asked for at most
// two documents (YAML::LoadAll loops without end on some malformed input — fuzz/config_fuzz.cc
// found one: gigabytes of empty documents; one HandleNextDocument call always ends). Content after
// a `...` end marker and a block after a flow-style root are second documents too.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark last;
};

std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  if (!parser.HandleNextDocument(starts)) return std::nullopt;
  if (!parser.HandleNextDocument(starts)) return std::nullopt;
  return starts.last;
}

}  // namespace

Result<std::shared_ptr<const Config>> parse_config(const std::string& yaml_text, const std::string& source) {
  Walker w(source);
  try {
    // A second document (after `---` or `...`) is refused, not silently ignored.
    if (const auto second = second_document(yaml_text))
      return make_error(ErrorKind::kBadRequest, "bad_config",
                        source + ":" + std::to_string(second->line + 1) + ":" +
                            std::to_string(second->column + 1) +
                            ": a second YAML document; the configuration is one");
    YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsDefined() || root.IsNull())
      return make_error(ErrorKind::kBadRequest, "bad_config", source + ": the configuration is empty");
    auto cfg = parse_root(w, root, source);
    cfg->text = yaml_text;
    return std::shared_ptr<const Config>(std::move(cfg));
  } catch (const ConfigError& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", e.message);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      source + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<SignalsConfig> parse_signals_section(const YAML::Node& signals, const std::string& source) {
  Walker w(source);
  SignalsConfig out;
  out.where = source;
  try {
    if (signals && !signals.IsNull()) parse_signals(w, signals, out);
  } catch (const ConfigError& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", e.message);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_config", source + ": " + e.msg);
  }
  return out;
}

Result<std::shared_ptr<const Config>> load_config(const std::string& path) {
  // A regular file of bounded size: a directory, a device (/dev/zero) or a FIFO is refused, not
  // read without end.
  constexpr off_t kMaxBytes = 16 << 20;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return make_error(ErrorKind::kBadRequest, "bad_config", path + ": cannot open the file");
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorKind::kBadRequest, "bad_config", path + ": not a regular file");
  if (st.st_size > kMaxBytes)
    return make_error(ErrorKind::kBadRequest, "bad_config",
                      path + ": larger than 16 MiB (" + std::to_string(st.st_size) + " bytes)");
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kBadRequest, "bad_config", path + ": cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace switchboard::config
