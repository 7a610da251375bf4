// `session_affinity`: a request of a session (docs/sessions.md) goes to the replica that answered
// the session's last turn — its KV cache most likely still holds the conversation — when that
// replica is a candidate (healthy, not yet tried by this request, fits the context) and not
// overloaded; every other request, and a session whose replica is not available or overloaded,
// goes to the inner balancer.
//
// The session stage sets RouteRequest::session_model and session_replica (the ordinal of the
// replica that answered last); the hint counts only for a replica of that model.
//
// Options (all optional):
//   inner            prefix_affinity  the balancer for everything else: a name, or a mapping with
//                                     `type` and that balancer's options
//   balance_margin   0.5   the session's replica is overloaded when its load exceeds the
//   balance_slack    2     least-loaded candidate's × (1 + margin) + slack (as prefix_affinity)
//
// Thread safety: no state of its own beyond the inner balancer's (which is thread-safe).
#include "pool/options.h"
#include "pool/pool.h"
#include "pool/select.h"

namespace switchboard::pool {
namespace {

class SessionAffinity final : public Balancer {
 public:
  SessionAffinity(std::unique_ptr<Balancer> inner, double margin, double slack)
      : inner_(std::move(inner)), margin_(margin), slack_(slack) {}

  PrefixBlocking prefix_blocking() const override { return inner_->prefix_blocking(); }

 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) override {
    if (request.session_replica >= 0 && !eligible.empty() &&
        eligible[0]->model == request.session_model) {
      const auto want = static_cast<std::uint32_t>(request.session_replica);
      for (std::size_t i = 0; i < eligible.size(); ++i) {
        if (eligible[i]->ordinal != want) continue;
        if (eligible.size() == 1) return *eligible[i];
        const LoadSnapshot loads(eligible);
        if (static_cast<double>(loads[i]) <= overload_threshold(loads.loads(), margin_, slack_))
          return *eligible[i];
        break;
      }
    }
    return inner_->pick(eligible, request);
  }

 private:
  std::unique_ptr<Balancer> inner_;
  double margin_, slack_;
};

const BalancerRegistrar kRegister(
    "session_affinity", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options opts(ctx, "session_affinity", {"inner", "balance_margin", "balance_slack"});
      const double margin = opts.number("balance_margin", 0.5, 0, 1e6);
      const double slack = opts.number("balance_slack", 2, 0, 1e9);
      std::string type = "prefix_affinity";
      YAML::Node inner_options;  // null: named by a string
      if (opts.has("inner")) {
        YAML::Node inner = ctx.options["inner"];
        if (inner.IsScalar()) {
          type = inner.Scalar();
        } else if (inner.IsMap() && inner["type"] && inner["type"].IsScalar()) {
          type = inner["type"].Scalar();
          inner_options = inner;
        } else {
          return make_error(ErrorKind::kBadRequest, "bad_config",
                            ctx.source + ":" + std::to_string(inner.Mark().line + 1) + ":" +
                                std::to_string(inner.Mark().column + 1) +
                                ": session_affinity.inner must be a balancer name or a mapping "
                                "with `type`");
        }
        if (type == "session_affinity")
          return make_error(ErrorKind::kBadRequest, "bad_config",
                            ctx.where + ": session_affinity.inner cannot be session_affinity");
      }
      auto inner = make_balancer(type, inner_options, ctx.replicas, ctx.where, ctx.source);
      if (!inner) return inner.error();
      return std::unique_ptr<Balancer>(
          std::make_unique<SessionAffinity>(std::move(*inner), margin, slack));
    });

}  // namespace
}  // namespace switchboard::pool
