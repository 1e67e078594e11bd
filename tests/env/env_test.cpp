#include <gtest/gtest.h>
#include <sys/stat.h>

#include "env/env.h"
#include "test_util.h"

namespace pot {
namespace {

TEST(Env, AtomicWriteReplacesWholeFileAndHonoursMode) {
  test::TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.File("secret");
  ASSERT_TRUE(WriteFileAtomically(env, path, "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(env, path, "second", 0600).ok());
  std::string got;
  ASSERT_TRUE(ReadFileToString(env, path, &got).ok());
  EXPECT_EQ(got, "second");
  EXPECT_FALSE(env->FileExists(path + ".tmp"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Env, ReportsMissingFilesAndDirectories) {
  test::TempDir dir;
  Env* env = Env::Default();
  std::string got;
  EXPECT_EQ(ReadFileToString(env, dir.File("absent"), &got).code(), Status::Code::kNotFound);
  std::unique_ptr<RandomAccessFile> file;
  EXPECT_EQ(env->NewRandomAccessFile(dir.path(), &file).code(), Status::Code::kInvalidArgument);
}

TEST(Env, RandomAccessReadsStopAtEndOfFile) {
  test::TempDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(WriteFileAtomically(env, dir.File("f"), "0123456789").ok());
  std::unique_ptr<RandomAccessFile> file;
  ASSERT_TRUE(env->NewRandomAccessFile(dir.File("f"), &file).ok());
  EXPECT_EQ(file->Size(), 10u);
  char buf[16];
  size_t got = 0;
  ASSERT_TRUE(file->Read(6, sizeof buf, buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "6789");
}

TEST(MemEnv, DropUnsyncedDataKeepsOnlyWhatWasSynced) {
  auto env = NewMemEnv();
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env->NewWritableFile("journal", &file).ok());
  ASSERT_TRUE(file->Append("record1;").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("record2-torn").ok());
  std::string got;
  ASSERT_TRUE(ReadFileToString(env.get(), "journal", &got).ok());
  EXPECT_EQ(got, "record1;record2-torn");
  DropUnsyncedData(env.get());
  ASSERT_TRUE(ReadFileToString(env.get(), "journal", &got).ok());
  EXPECT_EQ(got, "record1;");
}

TEST(MemEnv, AtomicWriteAndMissingFiles) {
  auto env = NewMemEnv();
  ASSERT_TRUE(WriteFileAtomically(env.get(), "m.json", "v1").ok());
  ASSERT_TRUE(WriteFileAtomically(env.get(), "m.json", "v2").ok());
  std::string got;
  ASSERT_TRUE(ReadFileToString(env.get(), "m.json", &got).ok());
  EXPECT_EQ(got, "v2");
  EXPECT_FALSE(env->FileExists("m.json.tmp"));
  EXPECT_EQ(ReadFileToString(env.get(), "absent", &got).code(), Status::Code::kNotFound);
  EXPECT_EQ(env->RemoveFile("absent").code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace pot
