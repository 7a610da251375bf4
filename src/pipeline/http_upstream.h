// The serving Upstream (include/switchboard/upstream.h): one worker's HTTP client pool
// (http/upstream.h). Holds the replicas' credentials, which balancers never see: the
// Authorization value of replica `index` is authorizations[index] ("" = none).
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
  HttpUpstream(std::shared_ptr<http::UpstreamClient> client, const std::vector<std::string>& authorizations)
      : client_(std::move(client)), authorizations_(authorizations) {}
  asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(const ModelCall& call) override;
  http::UpstreamClient& client() { return *client_; }

 private:
  std::shared_ptr<http::UpstreamClient> client_;
  const std::vector<std::string>& authorizations_;  // by Replica::index; owned by the Runtime
};

}  // namespace switchboard::pipeline
