#include "journal/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "test_util.h"

namespace pot::journal {
namespace {

bool Braced(const std::string& line) { return !line.empty() && line.front() == '{' && line.back() == '}'; }

std::string Contents(Env* env, const std::string& path) {
  std::string s;
  EXPECT_TRUE(ReadFileToString(env, path, &s).ok());
  return s;
}

TEST(Journal, CreatesResumesAndAppends) {
  auto env = NewMemEnv();
  std::vector<std::string> done;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok());
  EXPECT_TRUE(done.empty());
  ASSERT_TRUE(j->Append("{1}").ok());
  ASSERT_TRUE(j->Append("{2}").ok());
  ASSERT_TRUE(j->Close().ok());
  j.reset();  // its lock goes with it
  ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok());
  EXPECT_EQ(done, (std::vector<std::string>{"{1}", "{2}"}));
  ASSERT_TRUE(j->Append("{3}").ok());
  EXPECT_EQ(Contents(env.get(), "run.jsonl"), "{h}\n{1}\n{2}\n{3}\n");
  EXPECT_FALSE(j->Append("two\nlines").ok());
}

TEST(Journal, DropsATornFinalLineAndNothingElse) {
  auto env = NewMemEnv();
  for (const std::string tail : {"{3", "{3}", "{"}) {  // no newline: torn whatever its content
    std::string text = "{h}\n{1}\n{2}\n";
    text += tail;
    ASSERT_TRUE(WriteFileAtomically(env.get(), "run.jsonl", text).ok());
    std::vector<std::string> done;
    std::unique_ptr<Journal> j;
    ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok()) << tail;
    EXPECT_EQ(done, (std::vector<std::string>{"{1}", "{2}"})) << tail;
    EXPECT_EQ(Contents(env.get(), "run.jsonl"), "{h}\n{1}\n{2}\n") << tail;
  }
  // A complete final line that is not a whole record (its bytes reached the disk out of order) is torn too.
  ASSERT_TRUE(WriteFileAtomically(env.get(), "run.jsonl", "{h}\n{1}\n{2\n").ok());
  std::vector<std::string> done;
  std::unique_ptr<Journal> j;
  ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok());
  EXPECT_EQ(done, std::vector<std::string>{"{1}"});
  j.reset();
  // Damage before the end is not a crash artifact: it is refused.
  ASSERT_TRUE(WriteFileAtomically(env.get(), "run.jsonl", "{h}\n{1\n{2}\n").ok());
  EXPECT_EQ(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).code(), Status::Code::kCorruption);
}

TEST(Journal, RefusesAnotherRunsJournal) {
  auto env = NewMemEnv();
  ASSERT_TRUE(WriteFileAtomically(env.get(), "run.jsonl", "{h}\n{1}\n").ok());
  std::vector<std::string> done;
  std::unique_ptr<Journal> j;
  const Status s = Journal::Open(env.get(), "run.jsonl", "{other}", Braced, &done, &j);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("refusing to resume"), std::string::npos);
  EXPECT_EQ(Contents(env.get(), "run.jsonl"), "{h}\n{1}\n") << "nothing lost";
}

// Power cut after every possible number of appends: what survives is exactly the synced lines.
TEST(Journal, SurvivesLosingEverythingUnsynced) {
  for (int appended = 0; appended <= 4; ++appended) {
    auto env = NewMemEnv();
    std::vector<std::string> done;
    std::unique_ptr<Journal> j;
    ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok());
    for (int i = 0; i < appended; ++i) {
      std::string record = "{";
      record += std::to_string(i);
      record += "}";
      ASSERT_TRUE(j->Append(record).ok());
    }
    DropUnsyncedData(env.get());
    j.reset();  // the process died: its lock with it
    ASSERT_TRUE(Journal::Open(env.get(), "run.jsonl", "{h}", Braced, &done, &j).ok());
    EXPECT_EQ(done.size(), static_cast<size_t>(appended));
  }
}

// One writer per journal: a second Open, here or in another process, is refused naming the holder, and
// the refusal changes nothing; the lock goes when the journal does.
void ExpectSecondWriterRefused(Env* env, const std::string& path) {
  std::vector<std::string> done;
  std::unique_ptr<Journal> first, second;
  ASSERT_TRUE(Journal::Open(env, path, "{h}", Braced, &done, &first).ok());
  ASSERT_TRUE(first->Append("{1}").ok());
  const Status s = Journal::Open(env, path, "{h}", Braced, &done, &second);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("in use by pid " + std::to_string(::getpid())), std::string::npos) << s.message();
  EXPECT_EQ(second, nullptr);
  EXPECT_EQ(Contents(env, path), "{h}\n{1}\n");
  first.reset();
  ASSERT_TRUE(Journal::Open(env, path, "{h}", Braced, &done, &second).ok());
  EXPECT_EQ(done, std::vector<std::string>{"{1}"});
}

TEST(Journal, RefusesASecondWriter) {
  auto mem = NewMemEnv();
  ExpectSecondWriterRefused(mem.get(), "run.jsonl");
  test::TempDir dir;
  ExpectSecondWriterRefused(Env::Default(), dir.File("run.jsonl"));
}

}  // namespace
}  // namespace pot::journal
