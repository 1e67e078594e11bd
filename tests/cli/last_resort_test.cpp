#include "cli/last_resort.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pot::cli {
namespace {

TEST(LastResort, AnEscapedExceptionIsOneEscapedLineAndExitFour) {
  testing::internal::CaptureStderr();
  int code = 0;
  try {
    throw std::runtime_error("bad\n\x1b[2J input");
  } catch (...) {
    code = ReportInternalError();
  }
  EXPECT_EQ(code, kExitFailure);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "pot: error: internal error: bad\\n\\x1b[2J input\n");
}

TEST(LastResort, AnythingThrownIsReported) {
  testing::internal::CaptureStderr();
  int code = 0;
  try {
    throw 42;
  } catch (...) {
    code = ReportInternalError();
  }
  EXPECT_EQ(code, kExitFailure);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "pot: error: internal error: an exception that is not a std::exception\n");
}

}  // namespace
}  // namespace pot::cli
