// The default cascades `switchboard eval --policy cascade` learns from TRAIN when the user's spec
// has no `tiers` (cascade_trainer.cc dispatches on the spec's train-only key `design`):
//   routed (default) — route first, then verify (cascade_routed.cc);
//   probes           — N cheap probes judged by agreement, else the strongest model
//                      (cascade_trainer.cc; the release before this one's default).
#pragma once

#include "policies/trainer.h"

namespace switchboard::policies {

Result<TrainedPolicy> train_routed_cascade(const TrainContext& ctx);

}  // namespace switchboard::policies
