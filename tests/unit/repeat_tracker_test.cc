// Implicit feedback's memory (pipeline/learning/repeat_tracker.h): the window, the bound, and a
// repeat taken only once.
#include "pipeline/learning/repeat_tracker.h"

#include <gtest/gtest.h>

using switchboard::pipeline::learning::repeat_key;
using switchboard::pipeline::learning::RepeatTracker;

TEST(RepeatTracker, ARepeatWithinTheWindowIsTakenOnce) {
  RepeatTracker t(1000, 10);
  EXPECT_FALSE(t.take(1, 0));
  t.put(1, "dec_a", 0);
  EXPECT_EQ(t.take(1, 999), std::optional<std::string>("dec_a"));
  EXPECT_FALSE(t.take(1, 999));  // taken: a third ask concerns the second answer
  t.put(1, "dec_b", 1000);
  EXPECT_FALSE(t.take(1, 2001));  // past the window
  EXPECT_EQ(t.size(), 0u);
}

TEST(RepeatTracker, BoundedOldestOut) {
  RepeatTracker t(1'000'000, 3);
  for (std::uint64_t k = 1; k <= 5; ++k)
    t.put(k, "dec_" + std::to_string(k), static_cast<std::int64_t>(k));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.take(1, 10));
  EXPECT_FALSE(t.take(2, 10));
  EXPECT_EQ(t.take(5, 10), std::optional<std::string>("dec_5"));
  // Expired entries go first when storing.
  RepeatTracker w(10, 100);
  for (std::uint64_t k = 1; k <= 50; ++k) w.put(k, "x", 0);
  w.put(99, "y", 100);
  EXPECT_EQ(w.size(), 1u);
}

TEST(RepeatTracker, KeySeparatesClientRouteAndPrompt) {
  const auto k = repeat_key("ip:127.0.0.1", "r", "hello");
  EXPECT_EQ(k, repeat_key("ip:127.0.0.1", "r", "hello"));
  EXPECT_NE(k, repeat_key("ip:127.0.0.2", "r", "hello"));
  EXPECT_NE(k, repeat_key("ip:127.0.0.1", "s", "hello"));
  EXPECT_NE(k, repeat_key("ip:127.0.0.1", "r", "hello!"));
  EXPECT_NE(repeat_key("ab", "c", ""), repeat_key("a", "bc", ""));  // fields are separated
}
