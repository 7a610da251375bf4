#include "http/deadline_stream.h"

namespace switchboard::http {

namespace detail {

void DeadlineState::arm(std::chrono::steady_clock::time_point at) {
  armed = true;
  armed_at = at;
  // Cancels a wait in progress; its handler (aborted, or already queued as expired) is told from
  // the current one by the generation.
  timer.expires_at(at);
  timer.async_wait([weak = weak_from_this(), gen = ++generation](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: re-armed, closed, or the stream is gone
    auto self = weak.lock();
    if (self && self->generation == gen) self->on_timer();
  });
}

void DeadlineState::on_timer() {
  armed = false;
  if (deadline == std::chrono::steady_clock::time_point::max()) return;
  if (std::chrono::steady_clock::now() < deadline) {
    arm(deadline);  // the deadline moved forward since the timer was armed
    return;
  }
  // The deadline has passed. With nothing pending, the next operation arms the timer at the
  // passed deadline and times out at once.
  if (pending == 0) return;
  timed_out = true;
  boost::system::error_code ignored;
  socket.close(ignored);
}

}  // namespace detail

DeadlineStream::DeadlineStream(socket_type socket)
    : s_(std::make_shared<State>(std::move(socket))) {}

DeadlineStream::~DeadlineStream() {
  if (s_) close();
}

void DeadlineStream::expires_at(Clock::time_point deadline) {
  State& s = *s_;
  s.deadline = deadline;
  // Armed later than the new deadline (or not armed while an operation waits): arm it now. Armed
  // earlier: it re-arms itself at the deadline when it fires.
  if (deadline != Clock::time_point::max() && (s.armed ? deadline < s.armed_at : s.pending > 0))
    s.arm(deadline);
}

void DeadlineStream::close() {
  boost::system::error_code ignored;
  s_->socket.close(ignored);
  s_->timer.cancel();
  s_->armed = false;
  ++s_->generation;
}

void DeadlineStream::cancel() {
  boost::system::error_code ignored;
  s_->socket.cancel(ignored);
}

}  // namespace switchboard::http
