// The parser's conventions on their own (docs/cli.md, "Conventions"); tests/cli/conventions_test.cpp runs
// them through the pot binary.
#include "cli/args.h"

#include <gtest/gtest.h>

namespace pot::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {{"n", true, "count", 'n', "N"},
                                        {"output", true, "file", 'o', "FILE"},
                                        {"threads", true, "threads", 0, "", "all cores"},
                                        {"json", false, "print JSON"}};

Status Parse(const std::vector<std::string>& argv, Args* args) { return args->Parse(argv, kSpecs); }

TEST(Args, ShortValuesGluedOrNotLongWithOrWithoutEquals) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"-n3", "-oF"}, {"-n", "3", "-o", "F"}, {"--n", "3", "--output=F"}, {"--n=3", "--output", "F"}}) {
    Args args;
    ASSERT_TRUE(Parse(argv, &args).ok()) << argv[0];
    EXPECT_EQ(args.Get("n"), "3");
    EXPECT_EQ(args.Get("output"), "F");
  }
  Args args;
  EXPECT_EQ(Parse({"-n"}, &args).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Parse({"--json=yes"}, &args).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Parse({"--help=yes"}, &args).code(), Status::Code::kInvalidArgument);
}

TEST(Args, DoubleDashEndsTheOptions) {
  Args args;
  ASSERT_TRUE(Parse({"--json", "--", "-n3", "--output", "-"}, &args).ok());
  EXPECT_TRUE(args.Has("json"));
  EXPECT_FALSE(args.Has("n"));
  EXPECT_EQ(args.positionals(), (std::vector<std::string>{"-n3", "--output", "-"}));
}

TEST(Args, HelpInBothSpellings) {
  for (const char* flag : {"-h", "--help"}) {
    Args args;
    ASSERT_TRUE(Parse({flag}, &args).ok());
    EXPECT_TRUE(args.Has("help"));
  }
}

TEST(Args, UnknownOptionsNameTheNearestOne) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--thread", "did you mean --threads?"}, {"--jsno", "did you mean --json?"}, {"--o", "did you mean --output?"},
      {"--outptu", "did you mean --output?"}, {"--hlep", "did you mean --help?"}};
  for (const auto& [flag, hint] : cases) {
    Args args;
    const Status s = Parse({flag}, &args);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << flag;
    EXPECT_NE(s.message().find(hint), std::string::npos) << flag << ": " << s.message();
  }
  Args args;
  const Status s = Parse({"--frobnicate"}, &args);
  EXPECT_EQ(s.message(), "unknown option --frobnicate");
  EXPECT_EQ(ClosestMatch("verfy", {"verify", "info"}), "verify");
  EXPECT_EQ(ClosestMatch("x", {"verify", "info"}), "");
}

TEST(Args, HexInEitherCaseOfTheRightLength) {
  Args args;
  ASSERT_TRUE(Parse({"--output", "00AbfF"}, &args).ok());
  std::string raw;
  ASSERT_TRUE(args.GetHex("output", 3, &raw).ok());
  EXPECT_EQ(raw, std::string("\x00\xab\xff", 3));
  EXPECT_EQ(args.GetHex("output", 4, &raw).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(raw.empty());
  ASSERT_TRUE(Parse({"--output", "zz"}, &args).ok());
  EXPECT_EQ(args.GetHex("output", 1, &raw).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(args.GetHex("n", 1, &raw).ok());  // absent
}

TEST(Args, HelpShowsMetavarsAndDefaults) {
  const std::string help = OptionsHelp(kSpecs);
  EXPECT_NE(help.find("-n, --n N "), std::string::npos) << help;
  EXPECT_NE(help.find("-o, --output FILE "), std::string::npos) << help;
  EXPECT_NE(help.find("--threads THREADS "), std::string::npos) << help;
  EXPECT_NE(help.find("threads (default: all cores)"), std::string::npos) << help;
  EXPECT_NE(help.find("-h, --help"), std::string::npos) << help;
}

}  // namespace
}  // namespace pot::cli
