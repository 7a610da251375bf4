// The guard's settings: the top-level `guard:` section (defaults for every route and for requests
// naming a model directly) and each route's `guard:` (its keys replace the top level's), checked
// once at start-up with "file:line:col: ..." errors (docs/guard.md lists every key).
//
//   guard:
//     pii:                  # or `pii: redact` (one action for every kind)
//       default: allow      # kinds not listed: allow | redact | block
//       email: redact       # per kind: email phone card iban ssn ip secret
//       restore: false      # put the originals back into the answer for the client
//       embeddings: true    # also check /v1/embeddings inputs (redacted vectors, or refused)
//     jailbreak:
//       model: DIR-or-FILE  # trained by `switchboard train --policy guard`
//       threshold: 0.5      # default: the model's
//       action: block       # 403 prompt_rejected; or `route_to: MODEL` (a configured model)
//     domain:
//       examples: FILE      # JSONL prompts (text/prompt) or recorded outcomes
//       k: 5
//       quantile: 0.95      # calibration; or `threshold: 0.3` (cosine distance)
//       remove_components: 1  # principal components projected out (0 for a small one-topic domain)
//       action: reject      # 400 out_of_domain; or `route_to: MODEL`
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "guard/domain.h"
#include "guard/jailbreak.h"
#include "switchboard/result.h"

namespace switchboard::guard {

enum class PiiAction { kAllow, kRedact, kBlock };

struct PiiSettings {
  std::vector<PiiAction> action;  // per kind (PiiScanner::kinds())
  std::uint64_t redact_mask = 0;  // kinds to redact
  std::uint64_t block_mask = 0;   // kinds that refuse the request
  bool restore = false;
  bool embeddings = true;  // also /v1/embeddings inputs (false: chat-like requests only)
  std::uint64_t scan_mask() const { return redact_mask | block_mask; }
};

struct JailbreakSettings {
  std::shared_ptr<const JailbreakModel> model;
  double threshold = 0.5;
  std::string route_to;  // empty: refuse (403 prompt_rejected)
};

struct DomainSettings {
  std::shared_ptr<const DomainModel> model;
  std::string route_to;  // empty: refuse (400 out_of_domain)
};

struct GuardSettings {
  std::optional<PiiSettings> pii;
  std::optional<JailbreakSettings> jailbreak;
  std::optional<DomainSettings> domain;
  bool any() const { return pii || jailbreak || domain; }
};

// Loads models and domains once per distinct file (several routes may share them).
class GuardLoader {
 public:
  explicit GuardLoader(const config::Config& config) : config_(config) {}
  // `route` is the route's section (or null), `top` the top-level one (or null).
  Result<GuardSettings> settings(const YAML::Node& route, const YAML::Node& top);

 private:
  Result<PiiSettings> pii(const YAML::Node& node);
  Result<JailbreakSettings> jailbreak(const YAML::Node& node);
  Result<DomainSettings> domain(const YAML::Node& node);
  std::string where(const YAML::Node& node) const;
  Error error(const YAML::Node& node, const std::string& why) const;
  Result<std::string> route_target(const YAML::Node& node, const char* refuse_word);

  const config::Config& config_;
  std::map<std::string, std::shared_ptr<const JailbreakModel>> models_;
  std::map<std::string, std::shared_ptr<const DomainModel>> domains_;
};

}  // namespace switchboard::guard
