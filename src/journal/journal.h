// journal: the crash-safe, append-only record file behind every long pot run (verify transcripts,
// selfcheck, reference builds). A journal is text lines: a header line that fixes what the run is (its
// parameters and models), then one line per completed unit of work. Each line reaches stable storage
// (fsync) before Append returns, so after a crash or SIGKILL the file holds every completed unit and at
// most one torn line at the end. Reopening drops that torn line, refuses a header that differs from the
// run being resumed, and hands back the completed lines so the run continues after the last of them.
// One writer at a time: an open journal holds the lock PATH.lock (Env::LockFile), and a second Open of
// the same journal, from any process, is refused with "in use by pid N".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "env/env.h"

namespace pot::journal {

class Journal {
 public:
  // Opens path for the run described by header, holding its lock until the Journal is destroyed.
  // A new journal is created with header as its first line.
  // An existing one must start with exactly header; its complete lines after the header go to *done.
  // is_complete_line decides whether a final line is whole (e.g. parses as JSON); a final line without
  // its newline, or rejected by is_complete_line, is torn and is dropped. Any other bad line is Corruption.
  static Status Open(Env* env, const std::string& path, const std::string& header,
                     const std::function<bool(const std::string&)>& is_complete_line, std::vector<std::string>* done,
                     std::unique_ptr<Journal>* out);

  // Appends one line (without its newline) and syncs it.
  Status Append(const std::string& line);
  Status Close();

 private:
  Journal(std::unique_ptr<FileLock> lock, std::unique_ptr<WritableFile> file)
      : lock_(std::move(lock)), file_(std::move(file)) {}
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<WritableFile> file_;
};

}  // namespace pot::journal
