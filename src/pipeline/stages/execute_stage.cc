// `execute`: runs the decision's plan through the executor (pipeline/executor.h). Required.
#include "pipeline/executor.h"

namespace switchboard::pipeline {
namespace {

class ExecuteStage final : public Stage {
 public:
  std::string_view name() const override { return "execute"; }
  bool required() const override { return true; }
  asio::awaitable<StageResult> run(RequestContext& ctx) const override {
    return executor_.run(ctx);
  }

 private:
  Executor executor_;
};

const StageRegistrar kRegister("execute", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<ExecuteStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
