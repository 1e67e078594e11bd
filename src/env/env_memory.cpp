// An Env that keeps every file in memory, after LevelDB's memenv. Used by the fuzzer (no disk I/O per input)
// and by tests that need to see exactly what reached "stable storage": each file remembers how many of its
// bytes were covered by the last Sync, and DropUnsyncedData() throws the rest away as a power cut would.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "env/env.h"

namespace pot {
namespace {

struct MemFile {
  std::string data;
  size_t synced = 0;
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

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out, unsigned) override {
    std::lock_guard lock(mu_);
    auto file = std::make_shared<MemFile>();
    files_[path] = file;
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
    auto it = files_.find(from);
    if (it == files_.end()) return Status::NotFound("rename " + from + ": No such file or directory");
    files_[to] = it->second;
    files_.erase(it);
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    std::lock_guard lock(mu_);
    if (files_.erase(path) == 0) return Status::NotFound(path + ": No such file or directory");
    return Status::OK();
  }

  Status CreateDirs(const std::string&) override { return Status::OK(); }

  bool FileExists(const std::string& path) override {
    std::lock_guard lock(mu_);
    return files_.count(path) != 0;
  }

  void DropUnsyncedData() {
    std::lock_guard lock(mu_);
    for (auto& [path, file] : files_) file->data.resize(file->synced);
  }

 private:
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
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

void DropUnsyncedData(Env* mem_env) { static_cast<MemEnv*>(mem_env)->DropUnsyncedData(); }

}  // namespace pot
