// Env: the one seam through which pot touches the file system, after LevelDB's Env.
// Product code never calls open/read/write directly, so tests can substitute an Env that
// keeps files in memory and can drop everything not yet synced (NewMemEnv below).
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

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide Env backed by POSIX calls.
  static Env* Default();

  virtual Status NewRandomAccessFile(const std::string& path, std::unique_ptr<RandomAccessFile>* out) = 0;
  // Creates or truncates path. mode applies when the file is created (0600 for secrets).
  virtual Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out,
                                 unsigned mode = 0644) = 0;
  // Opens path for appending, creating it if absent.
  virtual Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
};

// An Env whose files live in memory (for fuzzing and crash tests). Each file remembers how much of it the
// last Sync covered; DropUnsyncedData(env) truncates every file to that, as a power cut would.
std::unique_ptr<Env> NewMemEnv();
void DropUnsyncedData(Env* mem_env);  // mem_env must come from NewMemEnv

// Reads a whole (small) file.
Status ReadFileToString(Env* env, const std::string& path, std::string* out);

// Writes data to path so that a reader sees either the old file or the complete new one:
// write to path.tmp, fsync, rename over path.
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace pot
