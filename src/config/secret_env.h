// Secrets read from the environment (replica API keys, the embedding provider's key, the admin key).
//
// A key kept in a file often ends with a newline (a Kubernetes Secret mounted from a file, a
// systemd EnvironmentFile written by `echo`): sent as is, it would end the HTTP header line it is
// written in, and the upstream request would be refused. So surrounding whitespace is removed, and
// a value with a control character inside is a configuration error at load, not a failure of
// every request later. Messages name the variable, never its value.
#pragma once

#include <string>

#include "switchboard/result.h"

namespace switchboard::config {

// The value of $name without surrounding whitespace; "" when unset or blank. kBadRequest
// ("bad_config", prefixed by `where`) when it holds a control character (CR, LF, NUL, …) inside.
Result<std::string> secret_from_env(const std::string& name, const std::string& where);

}  // namespace switchboard::config
