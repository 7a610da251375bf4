#include "switchboard/result.h"

namespace switchboard {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return 400;
    case ErrorKind::kUnauthorized: return 401;
    case ErrorKind::kForbidden: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kPayloadTooLarge: return 413;
    case ErrorKind::kRateLimited: return 429;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kUpstreamError: return 502;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kUpstreamTimeout: return 504;
  }
  return 500;
}

const char* openai_error_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest:
    case ErrorKind::kNotFound:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kPayloadTooLarge:
    case ErrorKind::kForbidden: return "invalid_request_error";
    case ErrorKind::kUnauthorized: return "authentication_error";
    case ErrorKind::kRateLimited: return "rate_limit_error";
    case ErrorKind::kInternal:
    case ErrorKind::kUnavailable: return "server_error";  // the gateway's own: overloaded, draining, no replica
    case ErrorKind::kUpstreamError:
    case ErrorKind::kUpstreamTimeout: return "upstream_error";
  }
  return "server_error";
}

}  // namespace switchboard
