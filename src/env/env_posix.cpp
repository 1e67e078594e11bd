#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "env/env.h"

namespace pot {
namespace {

Status PosixError(const std::string& context, int err) {
  if (err == ELOOP) return Status::InvalidArgument(context + ": is a symbolic link; pot never writes through one");
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  return Status::IOError(msg);
}

std::string ParentDir(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// A rename or link is durable only once the directory holding the new entry is synced.
Status SyncParentDir(const std::string& path) {
  const int fd = ::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError(path, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); the entry is then as durable as they make it.
  if (rc != 0 && err != EINVAL) return PosixError(path, err);
  return Status::OK();
}

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, char* scratch, size_t* read_bytes) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    *read_bytes = done;
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

// Errors name path_, which for a temporary file is the user's target.
class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t w = ::write(fd_, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return Status::OK();
  }
  Status Sync() override {
    if (::fsync(fd_) != 0) return PosixError(path_, errno);
    return Status::OK();
  }
  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return PosixError(path_, errno);
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
};

// The lock file is removed while the lock is still held, then released (see LockFile).
class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFileLock() override {
    ::unlink(path_.c_str());
    ::close(fd_);
  }

 private:
  std::string path_;
  int fd_;
};

// The holder writes its pid ("N\n") just after winning the lock; a loser that looked in between waits
// for it a little (at most about a second) rather than report no pid.
std::string HolderOf(int fd) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0 && buf[n - 1] == '\n') {
      const long pid = std::strtol(buf, nullptr, 10);
      if (pid > 0) return "pid " + std::to_string(pid);
    }
    ::usleep(10000);
  }
  return "another process";
}

class PosixEnv final : public Env {
 public:
  Status NewRandomAccessFile(const std::string& path, std::unique_ptr<RandomAccessFile>* out) override {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever. Refusing every non-regular
    // file here also protects llama.cpp, which opens a model by its path itself (and would block on a
    // FIFO), because pot's own reader always opens and checks the model first.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return PosixError(path, err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::Unsupported(path + ": not a regular file (pot reads only regular files)");
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
      int err = errno;
      ::close(fd);
      return PosixError(path, err);
    }
    *out = std::make_unique<PosixRandomAccessFile>(path, fd, static_cast<uint64_t>(st.st_size));
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out, unsigned mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return PosixError(path, errno);
    *out = std::make_unique<PosixWritableFile>(path, fd);
    return Status::OK();
  }

  Status NewTempFile(const std::string& target, unsigned mode, std::string* temp_path,
                     std::unique_ptr<WritableFile>* out) override {
    if (target.empty()) return Status::InvalidArgument("an empty file name");
    unsigned char random[6];
    if (::getentropy(random, sizeof random) != 0) return PosixError(target, errno);
    std::string suffix;
    for (unsigned char b : random) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      suffix += hex;
    }
    const std::string tmp = target + "." + suffix + ".tmp";
    // O_EXCL: a file or link already at the name (planted, however unlikely the guess) is never opened.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return PosixError(target, errno);
    if ((mode & 077) == 0 && ::fchmod(fd, mode) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return PosixError(target, err);
    }
    *temp_path = tmp;
    *out = std::make_unique<PosixWritableFile>(target, fd);
    return Status::OK();
  }

  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::Unsupported(path + ": not a regular file");
    }
    *out = std::make_unique<PosixWritableFile>(path, fd);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError(to, errno);
    return SyncParentDir(to);
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    // link(2) fails on any existing entry, links included, atomically; the temporary name then goes.
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
      return SyncParentDir(to);
    }
    const int err = errno;
    if (err == EEXIST) return Status::InvalidArgument(to + " exists; not replaced");
    if (err != EPERM && err != EOPNOTSUPP) return PosixError(to, err);
    // A file system without hard links: check, then rename (not atomic against a concurrent writer).
    if (FileExists(to)) return Status::InvalidArgument(to + " exists; not replaced");
    return RenameFile(from, to);
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError(path, errno);
    return Status::OK();
  }

  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError(path + ": " + ec.message());
    return Status::OK();
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0777) == 0) return Status::OK();
    if (errno == EEXIST) return Status::InvalidArgument(path + " exists");
    return PosixError(path, errno);
  }

  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  bool SameFile(const std::string& a, const std::string& b) override {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
  }

  Status GetPermissions(const std::string& path, unsigned* mode) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(path, errno);
    *mode = st.st_mode & 07777;
    return Status::OK();
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    // A holder removes the lock file before it lets go, so a lock won on a file no longer at path was won
    // on a dead file: open the path again.
    for (int attempt = 0; attempt < 16; ++attempt) {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
      if (fd < 0) return PosixError(path, errno);
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = HolderOf(fd);
        ::close(fd);
        if (err == EWOULDBLOCK) return Status::InvalidArgument("in use by " + holder + " (lock " + path + ")");
        return PosixError(path, err);
      }
      struct stat held, named;
      if (::fstat(fd, &held) != 0 || ::lstat(path.c_str(), &named) != 0 || held.st_dev != named.st_dev ||
          held.st_ino != named.st_ino) {
        ::close(fd);
        continue;
      }
      if (!S_ISREG(held.st_mode)) {
        ::close(fd);
        return Status::Unsupported(path + ": not a regular file");
      }
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::unlink(path.c_str());
        ::close(fd);
        return PosixError(path, err);
      }
      *lock = std::make_unique<PosixFileLock>(path, fd);
      return Status::OK();
    }
    return Status::IOError(path + ": the lock file keeps being replaced");
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

Status ReadFileToString(Env* env, const std::string& path, std::string* out) {
  std::unique_ptr<RandomAccessFile> file;
  POT_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  out->resize(file->Size());
  size_t got = 0;
  POT_RETURN_IF_ERROR(file->Read(0, out->size(), out->data(), &got));
  out->resize(got);
  return Status::OK();
}

void WarnIfUnprotectedKey(Env* env, const std::string& path) {
  unsigned mode = 0;
  if (env->GetPermissions(path, &mode).ok() && (mode & 077) != 0) {
    std::fprintf(stderr,
                 "pot: warning: UNPROTECTED PRIVATE KEY FILE: permissions %04o for '%s' are too open; "
                 "others may read the key (chmod 600 '%s')\n",
                 mode, path.c_str(), path.c_str());
  }
}

Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data, const WriteOptions& options) {
  if (path.empty()) return Status::InvalidArgument("an empty output file name");
  // Fail before writing when the answer is already known; the rename below is the check that counts.
  if (!options.replace && env->FileExists(path)) return Status::InvalidArgument(path + " exists; not replaced");
  std::string tmp;
  std::unique_ptr<WritableFile> file;
  POT_RETURN_IF_ERROR(env->NewTempFile(path, options.mode, &tmp, &file));
  Status s = file->Append(data);
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = file->Close();
  if (s.ok()) s = options.replace ? env->RenameFile(tmp, path) : env->RenameNoReplace(tmp, path);
  if (!s.ok()) env->RemoveFile(tmp);  // s names path; the temporary file goes with the failed write
  return s;
}

Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data, unsigned mode) {
  return WriteFileAtomically(env, path, data, WriteOptions{.mode = mode, .replace = true});
}

}  // namespace pot
