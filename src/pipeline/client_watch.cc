#include "pipeline/client_watch.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pipeline/request_context.h"

namespace switchboard::pipeline {

ClientWatch::ClientWatch(Arm arm, ClientWatchList* later) : arm_(std::move(arm)), later_(later) {}

void ClientWatch::arm() {
  if (asked_ || gone_) return;
  asked_ = true;
  if (later_)
    later_->add(*this);
  else
    start();
}

void ClientWatch::start() {
  if (is_linked()) unlink();
  if (started_ || gone_) return;
  started_ = true;
  if (arm_) arm_(*this);
}

ClientWatchList::ClientWatchList(asio::any_io_executor executor) : timer_(executor) {}

ClientWatchList::~ClientWatchList() {
  waiting_.clear();  // auto-unlink hooks: the watches stay valid, just unlisted
}

void ClientWatchList::add(ClientWatch& watch) {
  watch.asked_at_ = std::chrono::steady_clock::now();
  waiting_.push_back(watch);
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_at(watch.asked_at_ + kArmDelay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the list is going away
    sweep();
  });
}

void ClientWatchList::sweep() {
  timer_armed_ = false;
  const auto now = std::chrono::steady_clock::now();
  while (!waiting_.empty() && waiting_.front().asked_at_ + kArmDelay <= now)
    waiting_.front().start();  // unlinks it
  if (waiting_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(waiting_.front().asked_at_ + kArmDelay);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sweep();
  });
}

void ClientWatch::mark_gone() {
  if (gone_) return;
  gone_ = true;
  if (signal_) signal_->cancel();
  // A listener may go away as its operation ends: interrupt from a copy.
  const auto listening = listening_;
  for (auto* l : listening)
    if (std::find(listening_.begin(), listening_.end(), l) != listening_.end() && l->interrupt_())
      l->interrupted_ = true;
}

ClientWatch::Listening::Listening(ClientWatch& watch, std::function<bool()> interrupt)
    : watch_(watch), interrupt_(std::move(interrupt)) {
  watch_.listening_.push_back(this);
}

ClientWatch::Listening::~Listening() {
  auto& l = watch_.listening_;
  l.erase(std::remove(l.begin(), l.end(), this), l.end());
}

asio::awaitable<void> ClientWatch::until_gone() {
  arm();
  if (gone_) co_return;
  if (!signal_) signal_.emplace(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  auto [ec] = co_await signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

bool client_left(const RequestContext& ctx) {
  return ctx.client_watch && ctx.client_watch->gone();
}

Error client_gone_error() {
  return make_error(ErrorKind::kBadRequest, "client_gone",
                    "the client closed its connection before the answer");
}

void label_client_gone(RequestContext& ctx, std::size_t attempts_from) {
  if (!client_left(ctx)) return;
  for (std::size_t i = attempts_from; i < ctx.rec.attempts.size(); ++i)
    if (ctx.rec.attempts[i].result == "cancelled") ctx.rec.attempts[i].result = "client_gone";
}

StageResult client_gone_result(RequestContext& ctx, std::size_t attempts_from) {
  label_client_gone(ctx, attempts_from);
  for (auto a = ctx.rec.attempts.rbegin(); a != ctx.rec.attempts.rend(); ++a)
    if (a->result == "client_gone") {
      ctx.rec.model = a->model;
      ctx.rec.replica = a->replica;
      break;
    }
  ctx.rec.reason += "; the client left before the answer";
  return StageResult::fail(client_gone_error(), "client_gone");
}

}  // namespace switchboard::pipeline
