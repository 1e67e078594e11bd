// The default thread count follows the CPUs other work leaves free (engine::FreeCpus, engine.h).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/engine.h"

namespace pot::engine {
namespace {

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return CPU_COUNT(&set);
}

TEST(FreeCpus, StaysWithinTheAffinityMask) {
  const int free = FreeCpus();
  EXPECT_GE(free, 1);
  EXPECT_LE(free, UsableCpus());
}

TEST(FreeCpus, OneCpuInTheMaskMeansOneThread) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    _exit(sched_setaffinity(0, sizeof(one), &one) == 0 && FreeCpus() == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// Every CPU kept busy by spinning threads (a neighbour the probe has to share with): fewer CPUs count as free.
TEST(FreeCpus, BusyNeighboursLeaveFewerFreeCpus) {
  const int cpus = UsableCpus();
  if (cpus < 2) GTEST_SKIP() << "one CPU: nothing to take away";
  std::atomic<bool> stop{false};
  std::vector<std::thread> neighbours;
  for (int i = 0; i < cpus; ++i) {
    neighbours.emplace_back([&stop] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int free = FreeCpus();
  stop = true;
  for (auto& t : neighbours) t.join();
  EXPECT_LT(free, cpus);
}

}  // namespace
}  // namespace pot::engine
