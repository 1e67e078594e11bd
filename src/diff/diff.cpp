#include "diff/diff.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "ggml.h"
#include "gguf/gguf.h"
#include "pairwise/pairwise.h"

namespace pot::diff {
namespace {

using gguf::TensorInfo;

// Converts n values (a whole number of blocks) of `type` at src to f32.
Status ToFloat(uint32_t type, const char* src, float* dst, int64_t n) {
  const auto t = static_cast<ggml_type>(type);
  if (t == GGML_TYPE_F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return Status::OK();
  }
  const ggml_type_traits* traits = ggml_get_type_traits(t);
  if (traits->to_float == nullptr) return Status::Unsupported(std::string("cannot dequantize type ") + traits->type_name);
  traits->to_float(src, dst, n);
  return Status::OK();
}

uint64_t BytesFor(uint32_t type, uint64_t elements) {
  const auto t = static_cast<ggml_type>(type);
  return elements / static_cast<uint64_t>(ggml_blck_size(t)) * ggml_type_size(t);
}

class Comparer {
 public:
  Comparer(const RandomAccessFile& a, const RandomAccessFile& b, const Options& o) : a_(a), b_(b), o_(o) {}

  Status Run(const TensorInfo& ta, const TensorInfo& tb, TensorDiff* d) {
    if (ta.type == tb.type) {
      bool equal = false;
      POT_RETURN_IF_ERROR(BytesEqual(ta, tb, &equal));
      if (equal) {
        d->kind = TensorDiff::Kind::kEqual;
        return Status::OK();
      }
    }
    d->kind = TensorDiff::Kind::kChanged;
    return Metrics(ta, tb, d);
  }

 private:
  Status ReadExact(const RandomAccessFile& f, uint64_t offset, size_t n, std::vector<char>* buf) {
    buf->resize(n);
    size_t got = 0;
    POT_RETURN_IF_ERROR(f.Read(offset, n, buf->data(), &got));
    if (got != n) return Status::Corruption("short read at byte " + std::to_string(offset));
    return Status::OK();
  }

  Status BytesEqual(const TensorInfo& ta, const TensorInfo& tb, bool* equal) {
    const size_t chunk = o_.chunk_elements * 4;
    for (uint64_t pos = 0; pos < ta.nbytes; pos += chunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, ta.nbytes - pos));
      POT_RETURN_IF_ERROR(ReadExact(a_, ta.file_offset + pos, n, &raw_a_));
      POT_RETURN_IF_ERROR(ReadExact(b_, tb.file_offset + pos, n, &raw_b_));
      if (std::memcmp(raw_a_.data(), raw_b_.data(), n) != 0) {
        *equal = false;
        return Status::OK();
      }
    }
    *equal = true;
    return Status::OK();
  }

  // Streams both tensors in chunks that hold whole blocks of both types.
  Status Metrics(const TensorInfo& ta, const TensorInfo& tb, TensorDiff* d) {
    const uint64_t block = std::lcm(static_cast<uint64_t>(ggml_blck_size(static_cast<ggml_type>(ta.type))),
                                    static_cast<uint64_t>(ggml_blck_size(static_cast<ggml_type>(tb.type))));
    const uint64_t step = std::max<uint64_t>(block, o_.chunk_elements / block * block);
    pairwise::Moments m;
    double max_abs = 0;
    for (uint64_t e = 0; e < ta.n_elements; e += step) {
      const uint64_t n = std::min(step, ta.n_elements - e);
      POT_RETURN_IF_ERROR(ReadExact(a_, ta.file_offset + BytesFor(ta.type, e), BytesFor(ta.type, n), &raw_a_));
      POT_RETURN_IF_ERROR(ReadExact(b_, tb.file_offset + BytesFor(tb.type, e), BytesFor(tb.type, n), &raw_b_));
      f_a_.resize(n);
      f_b_.resize(n);
      POT_RETURN_IF_ERROR(ToFloat(ta.type, raw_a_.data(), f_a_.data(), static_cast<int64_t>(n)));
      POT_RETURN_IF_ERROR(ToFloat(tb.type, raw_b_.data(), f_b_.data(), static_cast<int64_t>(n)));
      m.Add(f_a_.data(), f_b_.data(), n);
      for (uint64_t i = 0; i < n; ++i) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(f_a_[i]) - static_cast<double>(f_b_[i])));
      }
    }
    d->max_abs = max_abs;
    d->rel_l2 = m.RelL2();
    d->cosine = m.Cosine();
    return Status::OK();
  }

  const RandomAccessFile& a_;
  const RandomAccessFile& b_;
  const Options& o_;
  std::vector<char> raw_a_, raw_b_;
  std::vector<float> f_a_, f_b_;
};

}  // namespace

const char* KindName(TensorDiff::Kind kind) {
  switch (kind) {
    case TensorDiff::Kind::kEqual: return "equal";
    case TensorDiff::Kind::kChanged: return "changed";
    case TensorDiff::Kind::kShapeDiffers: return "shape-differs";
    case TensorDiff::Kind::kOnlyA: return "only-in-a";
    case TensorDiff::Kind::kOnlyB: return "only-in-b";
  }
  return "?";
}

Status Compare(Env* env, const std::string& path_a, const std::string& path_b, const Options& options,
               std::vector<TensorDiff>* out) {
  gguf::File a, b;
  POT_RETURN_IF_ERROR(gguf::Read(env, path_a, &a));
  POT_RETURN_IF_ERROR(gguf::Read(env, path_b, &b));
  std::unique_ptr<RandomAccessFile> fa, fb;
  POT_RETURN_IF_ERROR(env->NewRandomAccessFile(path_a, &fa));
  POT_RETURN_IF_ERROR(env->NewRandomAccessFile(path_b, &fb));
  std::map<std::string, const TensorInfo*> in_a, in_b;
  uint64_t total = 0, done = 0;
  for (const auto& t : a.tensors) {
    in_a[t.name] = &t;
    total += t.nbytes;
  }
  for (const auto& t : b.tensors) in_b[t.name] = &t;
  Comparer comparer(*fa, *fb, options);
  out->clear();
  for (const auto& [name, ta] : in_a) {
    TensorDiff d;
    d.name = name;
    d.type_a = gguf::TypeName(ta->type);
    auto it = in_b.find(name);
    if (it == in_b.end()) {
      d.kind = TensorDiff::Kind::kOnlyA;
    } else {
      const TensorInfo* tb = it->second;
      d.type_b = gguf::TypeName(tb->type);
      if (ta->ne != tb->ne) {
        d.kind = TensorDiff::Kind::kShapeDiffers;
      } else {
        POT_RETURN_IF_ERROR(comparer.Run(*ta, *tb, &d));
      }
    }
    out->push_back(d);
    done += ta->nbytes;
    if (options.progress) options.progress(done, total);
  }
  for (const auto& [name, tb] : in_b) {
    if (in_a.count(name)) continue;
    TensorDiff d;
    d.name = name;
    d.kind = TensorDiff::Kind::kOnlyB;
    d.type_b = gguf::TypeName(tb->type);
    out->push_back(d);
  }
  std::sort(out->begin(), out->end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  return Status::OK();
}

}  // namespace pot::diff
