// ggml's crash paths once pot's handlers are in: one line on stderr and exit 4, not a gdb backtrace and
// SIGABRT (each case runs in a child process).
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "engine/engine.h"
#include "ggml.h"

namespace pot::engine {
namespace {

TEST(CrashHandlerDeathTest, AGgmlAssertIsOneLineAndExitFour) {
  EXPECT_EXIT(
      {
        InstallCrashHandlers();
        ggml_abort("ggml.c", 42, "GGML_ASSERT(%s) failed", "eps >= 0.0f");
      },
      ::testing::ExitedWithCode(kAbortExitCode), "^pot: error: llama.cpp aborted: ggml.c:42: GGML_ASSERT\\(eps >= 0.0f\\) failed\n$");
}

TEST(CrashHandlerDeathTest, AnAbortOnAWorkerThreadIsOneLineAndExitFour) {
  EXPECT_EXIT(
      {
        Init(false);
        std::thread([] { ggml_abort("ops.cpp", 7, "worker"); }).join();
      },
      ::testing::ExitedWithCode(kAbortExitCode), "^pot: error: llama.cpp aborted: ops.cpp:7: worker\n$");
}

TEST(CrashHandlerDeathTest, AnUncaughtExceptionIsOneLineAndExitFour) {
  EXPECT_EXIT(
      {
        InstallCrashHandlers();
        std::thread([] { throw std::runtime_error("thread gave up"); }).join();
      },
      ::testing::ExitedWithCode(kAbortExitCode), "^pot: error: internal error: thread gave up\n$");
}

}  // namespace
}  // namespace pot::engine
