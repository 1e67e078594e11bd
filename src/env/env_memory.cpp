// An Env that keeps every file in memory, after LevelDB's memenv. Used by the fuzzer (no disk I/O per input)
// and by tests that need to see exactly what reached "stable storage": each file remembers how many of its
// bytes were covered by the last Sync, and DropUnsyncedData() throws the rest away as a power cut would.
// Paths are plain strings (no links, no normalisation); directories are names only, and locks a set of
// held paths in this process.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "env/env.h"

namespace pot {
namespace {

struct MemFile {
  std::string data;
  size_t synced = 0;
  unsigned mode = 0644;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<const std::string> data) : data_(std::move(data)) {}
  Status Read(uint64_t offset, size_t n, char* scratch, size_t* read_bytes) const override {
    if (offset >= data_->size()) {
      *read_bytes = 0;
      return Status::OK();
    }
    *read_bytes = std::min<size_t>(n, data_->size() - offset);
    std::memcpy(scratch, data_->data() + offset, *read_bytes);
    return Status::OK();
  }
  uint64_t Size() const override { return data_->size(); }

 private:
  std::shared_ptr<const std::string> data_;  // a snapshot: later writes do not move bytes under a reader
};

class MemEnv final : public Env {
 public:
  Status NewRandomAccessFile(const std::string& path, std::unique_ptr<RandomAccessFile>* out) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path + ": No such file or directory");
    *out = std::make_unique<MemRandomAccessFile>(std::make_shared<const std::string>(it->second->data));
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out, unsigned mode) override {
    std::lock_guard lock(mu_);
    auto file = std::make_shared<MemFile>();
    file->mode = mode;
    files_[path] = file;
    *out = std::make_unique<Writer>(this, std::move(file));
    return Status::OK();
  }

  Status NewTempFile(const std::string& target, unsigned mode, std::string* temp_path,
                     std::unique_ptr<WritableFile>* out) override {
    if (target.empty()) return Status::InvalidArgument("an empty file name");
    std::lock_guard lock(mu_);
    std::string tmp;
    do {
      tmp = target + "." + std::to_string(++temp_counter_) + ".tmp";
    } while (files_.count(tmp) != 0);
    auto file = std::make_shared<MemFile>();
    file->mode = mode;
    files_[tmp] = file;
    *temp_path = tmp;
    *out = std::make_unique<Writer>(this, std::move(file));
    return Status::OK();
  }

  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    std::lock_guard lock(mu_);
    auto& file = files_[path];
    if (!file) file = std::make_shared<MemFile>();
    *out = std::make_unique<Writer>(this, file);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    std::lock_guard lock(mu_);
    return RenameLocked(from, to);
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    std::lock_guard lock(mu_);
    if (ExistsLocked(to)) return Status::InvalidArgument(to + " exists; not replaced");
    return RenameLocked(from, to);
  }

  Status RemoveFile(const std::string& path) override {
    std::lock_guard lock(mu_);
    if (files_.erase(path) == 0) return Status::NotFound(path + ": No such file or directory");
    return Status::OK();
  }

  Status CreateDirs(const std::string& path) override {
    std::lock_guard lock(mu_);
    dirs_.insert(path);
    return Status::OK();
  }

  Status CreateDir(const std::string& path) override {
    std::lock_guard lock(mu_);
    if (ExistsLocked(path)) return Status::InvalidArgument(path + " exists");
    dirs_.insert(path);
    return Status::OK();
  }

  bool FileExists(const std::string& path) override {
    std::lock_guard lock(mu_);
    return ExistsLocked(path);
  }

  bool SameFile(const std::string& a, const std::string& b) override {
    std::lock_guard lock(mu_);
    return a == b && ExistsLocked(a);
  }

  Status GetPermissions(const std::string& path, unsigned* mode) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path + ": No such file or directory");
    *mode = it->second->mode;
    return Status::OK();
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    std::lock_guard guard(mu_);
    if (!locked_.insert(path).second) {
      return Status::InvalidArgument("in use by pid " + std::to_string(::getpid()) + " (lock " + path + ")");
    }
    *lock = std::make_unique<Lock>(this, path);
    return Status::OK();
  }

  void DropUnsyncedData() {
    std::lock_guard lock(mu_);
    for (auto& [path, file] : files_) file->data.resize(file->synced);
  }

 private:
  bool ExistsLocked(const std::string& path) const { return files_.count(path) != 0 || dirs_.count(path) != 0; }

  Status RenameLocked(const std::string& from, const std::string& to) {
    auto it = files_.find(from);
    if (it == files_.end()) return Status::NotFound("rename " + from + ": No such file or directory");
    files_[to] = it->second;
    files_.erase(it);
    return Status::OK();
  }

  class Lock final : public FileLock {
   public:
    Lock(MemEnv* env, std::string path) : env_(env), path_(std::move(path)) {}
    ~Lock() override {
      std::lock_guard guard(env_->mu_);
      env_->locked_.erase(path_);
    }

   private:
    MemEnv* env_;
    std::string path_;
  };

  class Writer final : public WritableFile {
   public:
    Writer(MemEnv* env, std::shared_ptr<MemFile> file) : env_(env), file_(std::move(file)) {}
    Status Append(std::string_view data) override {
      std::lock_guard lock(env_->mu_);
      file_->data.append(data);
      return Status::OK();
    }
    Status Sync() override {
      std::lock_guard lock(env_->mu_);
      file_->synced = file_->data.size();
      return Status::OK();
    }
    Status Close() override { return Status::OK(); }

   private:
    MemEnv* env_;
    std::shared_ptr<MemFile> file_;
  };

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemFile>> files_;
  std::set<std::string> dirs_;
  std::set<std::string> locked_;
  uint64_t temp_counter_ = 0;
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

void DropUnsyncedData(Env* mem_env) { static_cast<MemEnv*>(mem_env)->DropUnsyncedData(); }

}  // namespace pot
