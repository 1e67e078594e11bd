// libFuzzer entry point for the GGUF reader. Besides "no crash, no sanitizer report", every file the reader
// accepts must satisfy the promises its header makes; a violation aborts, which the fuzzer reports.
#include <algorithm>
#include <string>

#include "fuzz_util.h"
#include "gguf/gguf.h"

namespace {

using pot::fuzz::Check;

void CheckAccepted(const pot::gguf::File& f) {
  Check(f.version == 2 || f.version == 3, "version");
  Check(f.alignment > 0 && (f.alignment & (f.alignment - 1)) == 0, "alignment is a power of two");
  Check(f.kv_begin <= f.kv_end && f.kv_end <= f.data_offset && f.data_offset <= f.file_size, "section order");
  Check(f.data_offset % f.alignment == 0 || (f.tensors.empty() && f.data_offset == f.file_size),
        "data section aligned");
  uint64_t previous_end = f.data_offset;
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  for (const auto& t : f.tensors) {
    Check(t.file_offset == f.data_offset + t.offset, "file_offset = data_offset + offset");
    Check(t.file_offset % f.alignment == 0, "tensor aligned");
    Check(t.nbytes <= f.file_size && t.file_offset <= f.file_size - t.nbytes, "tensor inside the file");
    Check(!t.ne.empty() && t.ne.size() <= 4, "dimension count");
    uint64_t n = 1;
    for (int64_t d : t.ne) {
      Check(d >= 0, "non-negative dimensions");
      n *= static_cast<uint64_t>(d);
    }
    Check(n == t.n_elements, "element count");
    Check(!pot::gguf::TypeName(t.type).empty(), "type name");
    extents.emplace_back(t.file_offset, t.file_offset + t.nbytes);
  }
  std::sort(extents.begin(), extents.end());
  for (const auto& [begin, end] : extents) {
    Check(begin >= previous_end || end == begin, "tensors do not overlap");
    if (end > begin) previous_end = end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto env = pot::NewMemEnv();
  pot::fuzz::WriteFile(env.get(), "input.gguf", pot::fuzz::Bytes(data, size));
  pot::gguf::File parsed;
  const pot::Status s = pot::gguf::Read(env.get(), "input.gguf", &parsed);
  if (s.ok()) {
    CheckAccepted(parsed);
  } else {
    Check(!s.message().empty(), "errors carry a message");
  }
  return 0;
}
