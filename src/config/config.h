// Gateway configuration: parsed once from YAML at start-up into immutable objects that every
// request shares (std::shared_ptr<const Config>). Every mistake is reported as
// "FILE:LINE:COLUMN: reason" and the gateway refuses to start. Every key is documented in README.md.
#pragma once

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/admin_config.h"
#include "config/pool_config.h"
#include "switchboard/result.h"

namespace switchboard::config {

// A parsed upstream base URL such as "https://api.example.com:8443/openai" or "http://[::1]:8080".
struct Url {
  bool tls = false;
  std::string host;       // as the resolver takes it: an IPv6 literal without its brackets
  std::string port;       // always set (80/443 by default)
  std::string base_path;  // without trailing '/', may be empty; "/v1/..." is appended
  // The Host header value (RFC 9110 7.2): host, brackets around an IPv6 literal, ":port" unless the
  // port is the scheme's default (80 for http, 443 for https).
  std::string host_header;
  // "host:port" with an IPv6 literal in brackets: for replica ids and messages.
  std::string authority() const;
};
Result<Url> parse_url(const std::string& text);

// Parses "HOST:PORT" ("[v6]:PORT" too) into server.host and server.port.
Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& text);

struct Price {
  double input_per_mtok = 0;   // USD per million prompt tokens
  double output_per_mtok = 0;  // USD per million completion tokens
  // USD per million prompt tokens read from the provider's prompt cache (OpenAI's
  // prompt_tokens_details.cached_tokens, Anthropic's cache_read_input_tokens); unset = the input
  // price.
  std::optional<double> cached_input_per_mtok;
  // USD per million prompt tokens written into the provider's prompt cache (Anthropic's
  // cache_creation_input_tokens, billed at 1.25x the input price for a 5-minute cache); unset =
  // the input price.
  std::optional<double> cache_write_input_per_mtok;
  // `cached_tokens` and `written_tokens` are part of `prompt_tokens` (each clamped to what is
  // left of it).
  double cost(std::int64_t prompt_tokens, std::int64_t completion_tokens,
              std::int64_t cached_tokens = 0, std::int64_t written_tokens = 0) const {
    const std::int64_t prompt = std::max<std::int64_t>(prompt_tokens, 0);
    const std::int64_t cached = std::clamp<std::int64_t>(cached_tokens, 0, prompt);
    const std::int64_t written = std::clamp<std::int64_t>(written_tokens, 0, prompt - cached);
    return (static_cast<double>(prompt - cached - written) * input_per_mtok +
            static_cast<double>(cached) * cached_input_per_mtok.value_or(input_per_mtok) +
            static_cast<double>(written) * cache_write_input_per_mtok.value_or(input_per_mtok) +
            static_cast<double>(std::max<std::int64_t>(completion_tokens, 0)) * output_per_mtok) /
           1e6;
  }
};

struct ReplicaConfig {
  std::string id;              // unique display name, e.g. "127.0.0.1:9001" (or `name:` if given)
  // What clients are told (x-switchboard-replica, error messages): `name:` if given, else its
  // position in the model's list ("#2") — never the address, which records, logs, metrics and the
  // admin API keep (`id`). `label` is "replica <public_name> of <model>", for error messages.
  std::string public_name;
  std::string label;
  std::string url;             // as written
  Url endpoint;
  std::string api_key_env;     // name of the environment variable; the key itself is never stored here
  std::string upstream_model;  // model name sent upstream; empty = unchanged
  // The API the replica speaks (`api:`): "chat" (OpenAI chat completions, the default: every
  // client API is translated to it), "anthropic" (Anthropic Messages: /v1/messages requests are
  // passed through natively, the key sent as x-api-key; other requests skip the replica) or
  // "responses" (OpenAI Responses: /v1/responses requests passed through; others skip it).
  // Each is an object in src/pipeline/native/.
  std::string api = "chat";
  std::int64_t max_context = 0;       // tokens (prompt + max_tokens) it accepts; 0 = not declared
  std::vector<std::string> adapters;  // LoRA adapters loaded at start (for lora_affinity)
  std::int64_t max_adapters = 0;      // adapter slots; 0 = not declared
  // `pass_headers: [anthropic-beta]` (api: anthropic only): the client's anthropic-beta headers
  // reach the replica with a passed-through request. Off by default: a beta runs on the operator's
  // Anthropic account (files, tools, pricing), so the operator opts in.
  bool pass_anthropic_beta = false;
};

// `capacity: {rps|tokens_per_s|concurrent: N}` of a model (docs/capacity.md): the load above which
// the capacity controller raises the model's price.
struct CapacityConfig {
  std::string unit;  // "rps", "tokens_per_s" or "concurrent"; empty = no capacity
  double limit = 0;  // > 0 when unit is set
};

// `budget: {usd_per_hour: X}` of a route: the spend rate above which its λ rises.
struct BudgetConfig {
  double usd_per_hour = 0;  // > 0 when set; 0 = no budget
};

// `control:` (top level): how the capacity controller updates its dual prices.
struct ControlConfig {
  std::chrono::milliseconds interval{1000};  // one dual-ascent step per interval
  double price_step = 0.05;   // quality points per step at 100% over capacity
  double lambda_step = 20;    // λ (quality points per USD) per step at 100% over budget
  double smoothing = 0.3;     // EWMA weight of the newest interval's measured load/spend
  double max_price = 1;       // a price never exceeds this (quality points)
  double max_lambda = 1e6;    // nor a route's budget λ
  std::size_t history = 600;  // steps kept for GET /v1/capacity (bounded ring)
};

// What a model does with a request's reasoning settings (docs/apis.md, "Reasoning settings").
enum class ReasoningMode {
  kAuto,  // a chat client's reasoning_effort as sent (thinking for an Anthropic replica); the
          // other APIs' settings (Messages thinking, Responses reasoning) not sent
  kOn,    // also the other APIs' settings, as reasoning_effort: the model takes it
  kOff,   // no reasoning_effort (removed from a chat client's body), no thinking
};

struct ModelConfig {
  std::string name;
  ReasoningMode reasoning = ReasoningMode::kAuto;  // `reasoning: auto | on | off`
  // `prefill: continue`: a request whose last turn is the assistant's text to be continued (an
  // Anthropic prefill) asks this model's chat replicas to continue it — vLLM's and SGLang's
  // `continue_final_message: true, add_generation_prompt: false` (OpenAI refuses those fields, so
  // off by default: the turn is then sent as a finished one).
  bool continue_prefill = false;
  CapacityConfig capacity;
  Price price;
  std::int64_t context_window = 0;  // tokens; 0 = unknown
  std::chrono::milliseconds timeout{60'000};  // whole upstream request (first byte for streams)
  // A new connection to a replica (TCP and TLS) up within this, else that attempt fails as
  // upstream_unreachable and the next replica is tried (bounded by `timeout` all the same).
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds stream_idle_timeout{60'000};  // between chunks of a stream
  // Bounds on one line and one event of an upstream's server-sent events stream; past either, the
  // client's stream ends with upstream_stream_broken (an endless line must not grow memory).
  std::size_t max_stream_line_bytes = std::size_t{1} << 20;
  std::size_t max_stream_event_bytes = std::size_t{1} << 20;
  // Bounds on a whole stream: its bytes (as relayed to the client) and its duration from the
  // request's start. An upstream that never stops (or drips a byte per idle timeout) must not hold
  // a connection, and what translators keep of it, for ever.
  std::size_t max_stream_bytes = std::size_t{64} << 20;
  std::chrono::milliseconds max_stream_duration{1'800'000};
  std::string balancer = "least_outstanding";  // the balancer's registered type
  YAML::Node balancer_options;  // the `balancer:` mapping when given as one (has `type`), else null
  std::string balancer_where;   // "file:line:col" of `balancer:` (of the model when absent)
  std::vector<ReplicaConfig> replicas;
  PoolConfig pool;  // ejection, retries, hedging, health checks, load metrics, adapters
};

struct RouteConfig {
  std::string name;
  BudgetConfig budget;
  std::string policy_type;
  YAML::Node policy;  // the whole `policy:` mapping, given to the policy's factory
  std::string where;  // "file:line:col" of the policy, for factory error messages
  // `signals: [language, code, embedding, task]`: signals computed for this route even though its
  // policy does not read them (shown by POST /v1/route; e.g. to check an embedding provider).
  std::vector<std::string> signals;
  // `stages: {NAME: off}`: stages of the request path switched off (or explicitly on) for this route.
  struct StageSwitch {
    std::string name;
    bool on = false;
    std::string where;  // "file:line:col"
  };
  std::vector<StageSwitch> stages;
  // The route's settings of stages that have their own (`guard:`, `cache:`; kStageSections), as
  // written: the stage's factory checks and reads them (include/switchboard/stage.h).
  std::map<std::string, YAML::Node, std::less<>> sections;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  unsigned threads = 0;  // 0 = one per core
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds drain_timeout{30'000};
  // Client connections open at once; 0 = derived from the process's file descriptor limit at
  // start-up (http::default_max_connections). More are answered 503 `overloaded` and closed.
  std::size_t max_connections = 0;
  // Bytes of request bodies held at once across all workers; a request that would exceed it is
  // answered 503 `overloaded`.
  std::size_t max_body_budget_bytes = std::size_t{1} << 30;
  // Pooled upstream connections idle longer than this are closed, not reused.
  std::chrono::milliseconds upstream_idle_timeout{30'000};
  // A client that closes its connection while its request waits on upstreams cancels those calls
  // (pipeline/client_watch.h); false lets them run to their end. Read per request (reloadable).
  bool cancel_on_client_close = true;
};

struct StoreConfig {
  std::string sqlite_path = "./switchboard.db";
  double retention_days = 0;  // decision records older than this are deleted; 0 = kept forever
  std::int64_t max_rows =
      0;  // at most this many records are kept (oldest deleted first); 0 = no bound
};

// The `signals:` section: where the signal extractor's weights are (docs/signals.md). Paths are used
// as written (relative ones from the working directory, like store.sqlite).
struct EmbeddingConfig {
  std::string provider = "glove";  // "glove" (local vectors) or "http" (an OpenAI-compatible /v1/embeddings)
  std::string url;                 // http: base URL, e.g. http://127.0.0.1:9000 (POST <url>/v1/embeddings;
                                   // a url ending in /v1 gets only /embeddings appended)
  std::string model;               // http: the `model` sent
  std::string api_key_env;         // http: environment variable holding the API key; empty = none
  std::chrono::milliseconds timeout{2'000};  // http: whole call
};

struct SignalsConfig {
  std::string weights_dir;  // empty = $SWITCHBOARD_WEIGHTS_DIR or <project>/weights
  std::string task_model;   // trained task classifier; empty = no task signal
  EmbeddingConfig embedding;
  std::string where;        // "file:line:col" of the section (of the file when absent)
};

// `apis: {NAME: {...}}` (docs/apis.md): settings of one client API. Only `responses` has any:
// `store: true` lets a Responses request be kept unless it says `store: false` (its input and
// output, in the decision store's database) for a later request's `previous_response_id` and
// `item_reference` input items.
struct ApiSettings {
  bool store = false;
  std::int64_t max_stored_bytes = 1 << 20;  // a conversation larger than this is not kept
};

struct Config {
  std::string source;  // file name, for messages
  ServerConfig server;
  SignalsConfig signals;
  std::vector<ModelConfig> models;
  std::vector<RouteConfig> routes;
  StoreConfig store;
  AdminConfig admin;  // `admin:` (config/admin_config.h); disabled when absent
  ControlConfig control;  // `control:` (docs/capacity.md)
  std::string text;   // the YAML text as parsed (the admin listener shows it, secrets masked)
  // Top-level settings of stages that have their own (kStageSections), as written; read and checked
  // by the stage's factory (e.g. a cache store shared by several routes).
  std::map<std::string, YAML::Node, std::less<>> sections;
  std::map<std::string, ApiSettings, std::less<>> apis;  // by API name ("responses")

  // The settings of client API `name` (null: none, the defaults).
  const ApiSettings* find_api(std::string_view name) const {
    auto it = apis.find(name);
    return it == apis.end() ? nullptr : &it->second;
  }
  const ModelConfig* find_model(std::string_view name) const;
  const RouteConfig* find_route(std::string_view name) const;
  // The model serving LoRA adapter `name` (listed in its `adapters:` or a replica's), or null.
  const ModelConfig* find_adapter_model(std::string_view name) const;
};

// Stages with settings of their own, accepted at the top level and in a route; their factories
// check them. A new such stage adds its name here.
inline constexpr const char* kStageSections[] = {"guard", "cache", "session"};
// Sections read by stages from the top level only (also kept in Config::sections): `auth:` and
// `state:` (access/settings.h, docs/keys.md), `feedback:` (implicit feedback, docs/online.md).
inline constexpr const char* kTopLevelSections[] = {"auth", "state", "feedback"};

// Parses and validates. `source` names the text in error messages (the file path).
Result<std::shared_ptr<const Config>> parse_config(const std::string& yaml_text,
                                                   const std::string& source);
Result<std::shared_ptr<const Config>> load_config(const std::string& path);
// Only a `signals:` section (a null node gives the defaults), for tools that read the section of
// a gateway config without its models (`switchboard eval --policy-config`).
Result<SignalsConfig> parse_signals_section(const YAML::Node& signals, const std::string& source);

}  // namespace switchboard::config
