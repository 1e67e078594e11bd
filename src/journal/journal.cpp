#include "journal/journal.h"

namespace pot::journal {

Status Journal::Open(Env* env, const std::string& path, const std::string& header,
                     const std::function<bool(const std::string&)>& is_complete_line, std::vector<std::string>* done,
                     std::unique_ptr<Journal>* out) {
  done->clear();
  if (header.find('\n') != std::string::npos) return Status::InvalidArgument("a journal header is one line");
  std::unique_ptr<FileLock> lock;
  POT_RETURN_IF_ERROR(env->LockFile(path + ".lock", &lock).WithContext(path));
  if (env->FileExists(path)) {
    std::string text;
    POT_RETURN_IF_ERROR(ReadFileToString(env, path, &text));
    std::vector<std::string> lines;
    size_t begin = 0;
    bool torn = false;
    while (begin < text.size()) {
      const size_t end = text.find('\n', begin);
      if (end == std::string::npos) {  // the last write never finished
        torn = true;
        break;
      }
      lines.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
    if (!lines.empty() && !is_complete_line(lines.back()) && lines.size() > 1) {
      lines.pop_back();
      torn = true;
    }
    if (lines.empty()) {
      torn = true;  // not even the header survived: start over
    } else if (lines.front() != header) {
      return Status::InvalidArgument(path + " belongs to a run with other parameters or models; refusing to resume "
                                            "(use another directory)");
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      if (!is_complete_line(lines[i])) {
        return Status::Corruption(path + ": line " + std::to_string(i + 1) + " is damaged");
      }
      done->push_back(lines[i]);
    }
    if (torn) {
      // Rewrite the intact prefix atomically, so a crash now leaves either the old or the repaired file.
      std::string intact = header + "\n";
      for (const auto& line : *done) intact += line + "\n";
      POT_RETURN_IF_ERROR(WriteFileAtomically(env, path, intact));
    }
  } else {
    POT_RETURN_IF_ERROR(WriteFileAtomically(env, path, header + "\n", WriteOptions{}));
  }
  std::unique_ptr<WritableFile> file;
  POT_RETURN_IF_ERROR(env->NewAppendableFile(path, &file));
  out->reset(new Journal(std::move(lock), std::move(file)));
  return Status::OK();
}

Status Journal::Append(const std::string& line) {
  if (line.find('\n') != std::string::npos) return Status::InvalidArgument("a journal record is one line");
  POT_RETURN_IF_ERROR(file_->Append(line + "\n"));
  return file_->Sync();
}

Status Journal::Close() { return file_->Close(); }

}  // namespace pot::journal
