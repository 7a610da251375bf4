// Errors as values on the request path (no exceptions across the data plane).
//
// An Error carries a kind (which decides the HTTP status in exactly one place: http_status()),
// a stable machine-readable code and a human message. Result<T> is std::expected-like.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace switchboard {

enum class ErrorKind {
  kBadRequest,         // 400 malformed JSON, missing fields
  kUnauthorized,       // 401
  kForbidden,          // 403 refused by policy (the guard's prompt_rejected)
  kNotFound,           // 404 unknown model / route / path
  kMethodNotAllowed,   // 405
  kPayloadTooLarge,    // 413
  kRateLimited,        // 429
  kInternal,           // 500
  kUpstreamError,      // 502 upstream unreachable, reset, bad answer
  kUnavailable,        // 503 no healthy replica, draining
  kUpstreamTimeout,    // 504
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;     // e.g. "model_not_found"; stable, documented in README
  std::string message;  // for humans; never contains secrets
};

// The single mapping from error kind to HTTP status and OpenAI error "type".
int http_status(ErrorKind kind);
const char* openai_error_type(ErrorKind kind);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(ErrorKind kind, std::string code, std::string message) {
  return Error{kind, std::move(code), std::move(message)};
}

}  // namespace switchboard
