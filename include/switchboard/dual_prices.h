// Live dual prices of capacity- and budget-aware routing (docs/capacity.md).
//
// A controller off the request path (pipeline/capacity_controller.h) raises a model's price while
// the model runs over its declared capacity and a route's extra λ while the route spends over its
// budget (dual ascent), and lowers them back when under. Policies that decide with the objective
// (policies/objective.h) read them per request through RouteRequest::prices:
//
//     utility = predicted quality − (λ + route_lambda)·cost − model_price
//
// Contract: both reads are thread-safe, lock-free and never block; an unknown name reads 0.
#pragma once

#include <string_view>

namespace switchboard {

class DualPrices {
 public:
  virtual ~DualPrices() = default;
  // Quality points subtracted from `model`'s utility now (≥ 0; 0 without a capacity).
  virtual double model_price(std::string_view model) const = 0;
  // Quality points per USD added to `route`'s λ now (≥ 0; 0 without a budget).
  virtual double route_lambda(std::string_view route) const = 0;
  // Whether any model has a capacity or `route` has a budget (else the objective skips both).
  virtual bool active_for(std::string_view route) const = 0;
};

}  // namespace switchboard
