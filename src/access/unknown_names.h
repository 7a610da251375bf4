// Names a key's permissions allow that the gateway's configuration does not have. A key may be
// created before the route or model it names exists (they are checked when a request names them),
// so these are warnings for `switchboard keys create --config` and `POST /admin/keys`, not errors:
// a typo shows at once instead of as a later 403 `model_not_allowed`.
#pragma once

#include <string>
#include <vector>

#include "access/key.h"
#include "config/config.h"

namespace switchboard::access {

// One sentence per unknown name ("route 'x' is not in the configuration (routes: a, b)"), in the
// order of `allow`. "*" matches anything; a model may also be a LoRA adapter of a configured model.
std::vector<std::string> unknown_names(const KeyPermissions& allow, const config::Config& config);

}  // namespace switchboard::access
