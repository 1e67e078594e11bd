#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

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
  EXPECT_EQ(env->NewRandomAccessFile(dir.path(), &file).code(), Status::Code::kUnsupported);  // bad input: exit 3
}

// Opening a FIFO for reading waits for a writer; the Env refuses it at once instead (no writer ever comes here,
// so without O_NONBLOCK this test would hang).
TEST(Env, RefusesAFifoWithoutBlocking) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo(dir.File("fifo").c_str(), 0600), 0);
  std::unique_ptr<RandomAccessFile> file;
  const Status s = Env::Default()->NewRandomAccessFile(dir.File("fifo"), &file);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_NE(s.message().find("not a regular file"), std::string::npos) << s.message();
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The temporary file used to be PATH.tmp, opened with O_TRUNC: a link planted there received the secret.
TEST(Env, AtomicWriteNeverWritesThroughAPlantedLink) {
  test::TempDir dir, elsewhere;
  Env* env = Env::Default();
  const std::string path = dir.File("key"), bait = elsewhere.File("bait");
  test::WriteBytes(bait, "untouched");
  ASSERT_EQ(::chmod(bait.c_str(), 0644), 0);
  ASSERT_EQ(::symlink(bait.c_str(), (path + ".tmp").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(env, path, "secret", 0600).ok());
  EXPECT_EQ(test::Slurp(bait), "untouched");
  EXPECT_EQ(test::Slurp(path), "secret");
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"key", "key.tmp"})) << "no temporary file left";
}

// A secret's mode is exact whatever the umask (a umask of 0277 would otherwise leave it 0400); it is set
// on the descriptor before anything is written.
TEST(Env, SecretModeIsExactWhateverTheUmask) {
  test::TempDir dir;
  const mode_t old = ::umask(0277);
  const Status s = WriteFileAtomically(Env::Default(), dir.File("secret"), "x", WriteOptions{.mode = 0600});
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.message();
  struct stat st;
  ASSERT_EQ(::stat(dir.File("secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Env, AtomicWriteRefusesAnExistingPathUnlessReplacing) {
  test::TempDir dir, elsewhere;
  Env* env = Env::Default();
  const std::string path = dir.File("out"), link = dir.File("link"), bait = elsewhere.File("bait");
  test::WriteBytes(path, "old");
  Status s = WriteFileAtomically(env, path, "new", WriteOptions{});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(test::Slurp(path), "old");
  // A dangling link is something at the path too; replacing it replaces the link, never its target.
  ASSERT_EQ(::symlink(bait.c_str(), link.c_str()), 0);
  EXPECT_EQ(WriteFileAtomically(env, link, "new", WriteOptions{}).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomically(env, link, "new", WriteOptions{.replace = true}).ok());
  EXPECT_FALSE(std::filesystem::exists(bait));
  EXPECT_FALSE(std::filesystem::is_symlink(link));
  EXPECT_EQ(test::Slurp(link), "new");
  ASSERT_TRUE(WriteFileAtomically(env, path, "new", WriteOptions{.replace = true}).ok());
  EXPECT_EQ(test::Slurp(path), "new");
  EXPECT_EQ(WriteFileAtomically(env, "", "x", WriteOptions{}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"link", "out"}));
}

TEST(Env, FailedWriteNamesTheUsersPath) {
  test::TempDir dir;
  const std::string path = dir.File("missing/out.json");
  const Status s = WriteFileAtomically(Env::Default(), path, "x", WriteOptions{});
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message().rfind(path + ": ", 0), 0u) << s.message();
  EXPECT_EQ(s.message().find(".tmp"), std::string::npos) << s.message();
}

TEST(Env, AppendingRefusesALink) {
  test::TempDir dir, elsewhere;
  Env* env = Env::Default();
  const std::string bait = elsewhere.File("bait");
  test::WriteBytes(bait, "untouched");
  ASSERT_EQ(::symlink(bait.c_str(), dir.File("journal").c_str()), 0);
  std::unique_ptr<WritableFile> file;
  EXPECT_EQ(env->NewAppendableFile(dir.File("journal"), &file).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(env->NewWritableFile(dir.File("journal"), &file).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(test::Slurp(bait), "untouched");
}

TEST(Env, SameFileFollowsLinksAndCreateDirIsExclusive) {
  test::TempDir dir;
  Env* env = Env::Default();
  test::WriteBytes(dir.File("a"), "1");
  test::WriteBytes(dir.File("b"), "1");
  ASSERT_EQ(::symlink(dir.File("a").c_str(), dir.File("to-a").c_str()), 0);
  ASSERT_EQ(::link(dir.File("a").c_str(), dir.File("hard-a").c_str()), 0);
  EXPECT_TRUE(env->SameFile(dir.File("a"), dir.File("to-a")));
  EXPECT_TRUE(env->SameFile(dir.File("a"), dir.File("hard-a")));
  EXPECT_TRUE(env->SameFile(dir.File("a"), dir.path() + "/./a"));
  EXPECT_FALSE(env->SameFile(dir.File("a"), dir.File("b")));
  EXPECT_FALSE(env->SameFile(dir.File("a"), dir.File("absent")));
  ASSERT_TRUE(env->CreateDir(dir.File("run")).ok());
  EXPECT_EQ(env->CreateDir(dir.File("run")).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(env->CreateDir(dir.File("a")).code(), Status::Code::kInvalidArgument);
}

// A lock names its holder; a second holder, in this process or another, is refused until it is released,
// and the lock file goes with the lock.
TEST(Env, LockRefusesASecondHolderAndNamesItsPid) {
  test::TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir.File("run.lock");
  std::unique_ptr<FileLock> lock, second;
  ASSERT_TRUE(env->LockFile(path, &lock).ok());
  EXPECT_EQ(test::Slurp(path), std::to_string(::getpid()) + "\n");
  const Status s = env->LockFile(path, &second);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("in use by pid " + std::to_string(::getpid())), std::string::npos) << s.message();
  const pid_t child = ::fork();
  if (child == 0) {
    std::unique_ptr<FileLock> theirs;
    const Status t = Env::Default()->LockFile(path, &theirs);
    ::_exit(t.code() == Status::Code::kInvalidArgument ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process is refused too";
  lock.reset();
  EXPECT_FALSE(env->FileExists(path));
  ASSERT_TRUE(env->LockFile(path, &second).ok());
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

TEST(MemEnv, KeepsThePosixContract) {
  auto env = NewMemEnv();
  ASSERT_TRUE(WriteFileAtomically(env.get(), "k", "secret", WriteOptions{.mode = 0600}).ok());
  unsigned mode = 0;
  ASSERT_TRUE(env->GetPermissions("k", &mode).ok());
  EXPECT_EQ(mode, 0600u);
  EXPECT_EQ(WriteFileAtomically(env.get(), "k", "other", WriteOptions{}).code(), Status::Code::kInvalidArgument);
  std::string got;
  ASSERT_TRUE(ReadFileToString(env.get(), "k", &got).ok());
  EXPECT_EQ(got, "secret");
  EXPECT_TRUE(env->SameFile("k", "k"));
  EXPECT_FALSE(env->SameFile("k", "absent"));
  ASSERT_TRUE(env->CreateDir("run").ok());
  EXPECT_EQ(env->CreateDir("run").code(), Status::Code::kInvalidArgument);
  std::unique_ptr<FileLock> lock, second;
  ASSERT_TRUE(env->LockFile("run/lock", &lock).ok());
  EXPECT_EQ(env->LockFile("run/lock", &second).code(), Status::Code::kInvalidArgument);
  lock.reset();
  EXPECT_TRUE(env->LockFile("run/lock", &second).ok());
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
