// A test-and-test-and-set lock for critical sections of a few hundred nanoseconds that many
// threads enter (the prefix index): uncontended it costs one atomic exchange like a mutex; under
// contention it spins briefly instead of sleeping in the kernel (a futex wake-up costs
// microseconds, longer than the section itself), and yields the core after a while so that a
// preempted holder can finish.
#pragma once

#include <atomic>
#include <thread>

namespace switchboard::pool {

class SpinLock {
 public:
  void lock() {
    for (unsigned spins = 0;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#elif defined(__aarch64__)
          asm volatile("yield");
#endif
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace switchboard::pool
