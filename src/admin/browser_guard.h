// What keeps a web page from using an admin listener that has no key (docs/admin.md "Browsers").
//
// Without `admin.key_env`, anything that can reach the listener may use it, and a browser can be
// made to reach it from any site: a page rebinds its own name to 127.0.0.1 (DNS rebinding) and
// reads the answers, or simply posts a form or a no-cors fetch (CSRF) to mint a key or reload. A
// keyed listener is safe from both (a page cannot add the Authorization header cross-site without
// a CORS grant, which this listener never gives), so these checks apply only without a key, and
// only to requests a browser sent (a Sec-Fetch-* or Origin header: tools such as curl or a
// Prometheus scraper send none, and may name the listener as they like):
//   - the Host header must name the listener as no attacker can: an IP address, `localhost` or a
//     name under `.localhost` (a trailing dot allowed), or one of `admin.allowed_hosts` (a name
//     that resolves only to it); a request without Host passes;
//   - a request that changes state (any method but GET, HEAD, OPTIONS) must not come from another
//     site: `Sec-Fetch-Site` must be same-origin or none when present, else `Origin` (when
//     present) must name the same host and port as Host.
// Refused: 403 `host_not_allowed` or `cross_site_request`, naming what to change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/server.h"
#include "switchboard/result.h"

namespace switchboard::admin {

std::optional<Error> browser_refusal(const http::RequestHead& request,
                                     const std::vector<std::string>& allowed_hosts);

// The host part of an HTTP authority ("h:port", "[v6]:port", "h"), lower-cased, without brackets.
std::string authority_host(std::string_view authority);

}  // namespace switchboard::admin
