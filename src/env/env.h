// Env: the one seam through which pot touches the file system, after LevelDB's Env.
// Product code never calls open/read/write directly, so tests can substitute an Env that
// keeps files in memory and can drop everything not yet synced (NewMemEnv below).
//
// Safety contract of the POSIX Env (docs/cli.md, "Outputs, inputs, locks and key files"):
// - inputs are regular files only: a FIFO, device or directory is refused (Unsupported) without blocking;
// - nothing is ever written through a symbolic link: outputs are built in a fresh, unpredictably named
//   temporary file next to the target (O_CREAT|O_EXCL|O_NOFOLLOW), whose mode is set on the descriptor
//   before its first byte, then synced and renamed over the target (the directory synced too);
// - a run's files are guarded by advisory locks (flock) that name their holder's pid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace pot {

// A file read at arbitrary offsets; safe to use from several threads at once.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; *read_bytes < n only at end of file.
  virtual Status Read(uint64_t offset, size_t n, char* scratch, size_t* read_bytes) const = 0;
  virtual uint64_t Size() const = 0;
};

// A file written front to back.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;  // data and size reach stable storage before this returns
  virtual Status Close() = 0;
};

// An exclusive advisory lock, held until the object is destroyed (or the process dies).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide Env backed by POSIX calls.
  static Env* Default();

  // Opens a regular file for reading (links followed). Anything else (a FIFO, a device, a directory) is
  // Unsupported, and opening it never blocks.
  virtual Status NewRandomAccessFile(const std::string& path, std::unique_ptr<RandomAccessFile>* out) = 0;
  // Creates or truncates path, refusing to follow a symbolic link there. Mode applies when the file is
  // created. For outputs use WriteFileAtomically, which never truncates a file in place.
  virtual Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out,
                                 unsigned mode = 0644) = 0;
  // Creates a new file next to target under a name nobody can predict or plant (target.RANDOM.tmp, created
  // exclusively, never through a link), with permissions mode; *temp_path receives its name. A mode
  // without group or other bits (0600, for secrets) is set exactly, on the descriptor, before anything is
  // written; other modes are subject to the umask. Errors name target, not the temporary file.
  virtual Status NewTempFile(const std::string& target, unsigned mode, std::string* temp_path,
                             std::unique_ptr<WritableFile>* out) = 0;
  // Opens path for appending, creating it if absent; refuses a symbolic link at path.
  virtual Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) = 0;
  // Renames from over to (replacing whatever is there, a link itself rather than its target); the
  // directory entry reaches stable storage before this returns. Errors name to.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // As RenameFile, but InvalidArgument when anything (even a dangling link) is already at to.
  virtual Status RenameNoReplace(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates path and any missing parents; an existing directory is fine.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Creates one directory; InvalidArgument when anything is already at path.
  virtual Status CreateDir(const std::string& path) = 0;
  // Whether anything (a file, a directory, even a dangling link) is at path.
  virtual bool FileExists(const std::string& path) = 0;
  // Whether a and b name one file (device and inode, links followed); false when either does not exist.
  virtual bool SameFile(const std::string& a, const std::string& b) = 0;
  // The permission bits (e.g. 0600) of the file at path, links followed.
  virtual Status GetPermissions(const std::string& path, unsigned* mode) = 0;
  // Takes an exclusive lock on the lock file path (created if absent; it holds the holder's pid and is
  // removed on release). A lock held elsewhere, by another process or another FileLock in this one, is
  // InvalidArgument "in use by pid N".
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) = 0;
};

// An Env whose files live in memory (for fuzzing and crash tests). Each file remembers how much of it the
// last Sync covered; DropUnsyncedData(env) truncates every file to that, as a power cut would.
std::unique_ptr<Env> NewMemEnv();
void DropUnsyncedData(Env* mem_env);  // mem_env must come from NewMemEnv

// Reads a whole (small) file.
Status ReadFileToString(Env* env, const std::string& path, std::string* out);
// For a file just read as a secret key (private or challenge key): like ssh's "UNPROTECTED PRIVATE KEY
// FILE", prints one warning line on stderr when its mode lets group or others in. Only a warning: the
// key is used all the same (docs/cli.md, "Outputs, inputs, locks and key files").
void WarnIfUnprotectedKey(Env* env, const std::string& path);

// How WriteFileAtomically treats its target.
struct WriteOptions {
  unsigned mode = 0644;  // 0600 for secrets: set before the first byte is written (Env::NewTempFile)
  bool replace = false;  // false: InvalidArgument when anything is already at the path, checked as it is renamed
};

// Writes data to path so that a reader sees either the old file (or none) or the complete new one:
// a fresh temporary file (Env::NewTempFile), fsync, rename over path, fsync of the directory. On failure
// the temporary file is removed and the error names path.
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data, const WriteOptions& options);
// The same, replacing an existing file: for files that belong to a run pot holds the lock of.
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace pot
