// `auth`: who is asking (docs/keys.md). Runs first, before `parse`, so a request without a valid
// key is refused 401 whatever its body; present only when the config has an `auth:` section.
//
// Reads `Authorization: Bearer <secret>`, hashes the secret and looks it up in the live key
// registry (access/service.h: an in-memory map refreshed from SQLite off the request path). Found:
// the key goes into RequestContext::api_key and its name and team into the decision record (the
// `limits` stage, after parse, checks what it may do). Not found, or no header:
//   auth.required: true   401 invalid_api_key (missing key / unknown or revoked key)
//   auth.required: false  the request goes on without a key, as without an `auth:` section
// Offline runs (RequestContext::trusted) pass.
#include <spdlog/spdlog.h>

#include "access/credentials.h"
#include "access/service.h"
#include "pipeline/pending_ids.h"
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class AuthStage final : public SyncStage {
 public:
  AuthStage(std::shared_ptr<access::AccessService> service, bool required)
      : service_(std::move(service)), required_(required) {}
  std::string_view name() const override { return "auth"; }
  bool required() const override { return true; }

  StageResult run_now(RequestContext& ctx) const override {
    if (ctx.trusted) return StageResult::next();
    // Anthropic's clients send their key as x-api-key (docs/apis.md): the same keys work there.
    const std::string_view token = access::presented_secret(ctx.headers.find("authorization"),
                                                            ctx.headers.find("x-api-key"));
    if (token.empty()) {
      if (!required_) return StageResult::next();
      return refuse(ctx,
                       "missing API key: send `Authorization: Bearer sk-sb-...` or `x-api-key: "
                       "sk-sb-...` (create one with `switchboard keys create`)");
    }
    auto key = service_->find(token);
    if (!key) {
      if (!required_) {
        // Served as the anonymous owner: its in-flight id is a key-less caller's to wait for.
        if (ctx.unrecorded && !ctx.rec.id.empty()) ctx.unrecorded->add(ctx.rec.id, 0);
        return StageResult::next();
      }
      return refuse(ctx, "incorrect API key provided: unknown or revoked key");
    }
    ctx.rec.key_name = key->key.name;
    ctx.rec.key_team = key->key.team;
    ctx.api_key = std::move(key);
    return StageResult::next();
  }

 private:
  static StageResult refuse(RequestContext& ctx, std::string message) {
    if (ctx.metrics) ctx.metrics->auth_refusals.with({"invalid_api_key"}).inc();
    return StageResult::fail(
        make_error(ErrorKind::kUnauthorized, "invalid_api_key", std::move(message)),
        "unauthorized");
  }
  std::shared_ptr<access::AccessService> service_;
  bool required_;
};

const StageRegistrar kRegister("auth",
                               [](const StageContext& sc) -> Result<std::unique_ptr<Stage>> {
                                 auto settings = access::parse_access_settings(sc.config);
                                 if (!settings) return settings.error();
                                 // Without `auth:`, a `state:` section shares only what the
                                 // routes learn (docs/online.md).
                                 if (!settings->configured) return std::unique_ptr<Stage>();
                                 auto service = access::AccessService::acquire(*settings);
                                 if (!service) {
                                   Error e = service.error();
                                   e.message = sc.config.source + ": auth: " + e.message;
                                   return e;
                                 }
                                 return std::unique_ptr<Stage>(std::make_unique<AuthStage>(
                                     std::move(*service), settings->required));
                               });

}  // namespace
}  // namespace switchboard::pipeline
