// The serving Upstream (include/switchboard/upstream.h): one worker's HTTP client pool
// (http/upstream.h). The replica's credentials come with the call (ModelCall::authorization, from
// the model's runtime), never from the Replica that balancers see.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/upstream.h"
#include "switchboard/upstream.h"

namespace switchboard::pipeline {

namespace asio = boost::asio;

class HttpUpstream final : public Upstream {
 public:
  explicit HttpUpstream(std::shared_ptr<http::UpstreamClient> client)
      : client_(std::move(client)) {}
  asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(const ModelCall& call) override;
  http::UpstreamClient& client() { return *client_; }

 private:
  std::shared_ptr<http::UpstreamClient> client_;
};

}  // namespace switchboard::pipeline
