// pairwise: what the two model-comparison methods that run models (activations, gradients) share. Two
// models are never resident together: model A runs alone and its tensors go, in the order llama.cpp
// computes them, to a spill file; A is freed; B runs and each of its tensors is compared, as it is
// computed, with A's read back from the spill. Memory is one model plus one tensor per side; the spill file
// holds A's tensors on disk (docs/formats.md, "Spill file").
//
// The spill file is made through Env::NewTempFile (mode 0600 from its first byte, an unpredictable name,
// never through a link) in the directory given. Its name is removed as soon as it is opened for reading
// back (Rewind), and in any case when the Spill is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "env/env.h"

struct ggml_tensor;

namespace pot::pairwise {

// Sums over pairs (a_i, b_i) from which relative L2 and cosine follow, in double whatever the count.
struct Moments {
  double d2 = 0, a2 = 0, b2 = 0, ab = 0;  // sum (a-b)^2, a^2, b^2, a*b
  uint64_t n = 0;
  void Add(const float* a, const float* b, size_t count);
  void Add(const Moments& other);
  double RelL2() const;   // |a - b| / |a|: 0 when equal, infinity when a is zero and b is not
  double Cosine() const;  // <a, b> / (|a| |b|): 1 when both are zero
  bool Identical() const { return d2 == 0; }
};

// One model's named float tensors, written in order and read back in the same order.
class Spill {
 public:
  // Creates the spill file in dir ("" = $TMPDIR, else /tmp), for writing.
  static Status Create(Env* env, const std::string& dir, std::unique_ptr<Spill>* out);
  ~Spill();  // removes the file
  Spill(const Spill&) = delete;
  Spill& operator=(const Spill&) = delete;

  const std::string& path() const { return path_; }
  uint64_t bytes() const { return offset_; }

  // Writing: one record per tensor.
  Status Append(const std::string& name, const float* data, size_t count);
  // Ends writing (synced, closed), opens the file for reading from the first record and removes its name.
  Status Rewind();
  // Reading: the next record must be named name and hold count floats (what the second model computed at
  // the same point; anything else means the two computations did not line up). It is read back in chunks
  // of kChunkFloats, each added with the matching part of b to m: a's side never holds a whole tensor.
  Status Compare(const std::string& name, const float* b, size_t count, Moments* m);
  static constexpr size_t kChunkFloats = 1 << 18;  // 1 MiB
  // Whether every record has been read.
  bool AtEnd() const { return read_offset_ == offset_; }

 private:
  Spill(Env* env, std::string path, std::unique_ptr<WritableFile> file);
  Env* env_;
  std::string path_;
  std::unique_ptr<WritableFile> writer_;
  std::unique_ptr<RandomAccessFile> reader_;
  uint64_t offset_ = 0, read_offset_ = 0;
  std::vector<float> chunk_;
};

// A tap on llama.cpp's graph evaluation (engine::ContextOptions::cb_eval = Tap::Callback, user data the Tap):
// the tensors whose names wants accepts are handed to sink as F32 once computed, one at a time, in the order
// llama.cpp computes them: in place when they are in host memory, else copied into buffer first. The first error from sink (or a tensor that is not
// contiguous F32) is kept in status and stops the graph's evaluation; callers check status after each
// llama.cpp call.
struct Tap {
  std::function<bool(const std::string& name)> wants;
  std::function<Status(const std::string& name, const float* data, size_t count)> sink;
  Status status;
  std::vector<float> buffer;  // the one tensor in hand
  static bool Callback(ggml_tensor* t, bool ask, void* user_data);
};

// Refuses a pair whose outputs cannot be compared position by position, before either model is loaded:
// different vocabularies (token ids name different strings), or a different number of layers or width.
// Status::Unsupported "not comparable: ...", which pot reports as exit 3: such a candidate is structurally
// not the reference.
struct Shape {
  std::string architecture;
  uint64_t n_layer = 0, n_embd = 0;
  std::string vocab_sha256;
};
Status ReadShape(Env* env, const std::string& path, Shape* out);
Status CheckComparable(Env* env, const std::string& a, const std::string& b, Shape* shape);

// The process's peak resident set so far (getrusage ru_maxrss), in bytes.
uint64_t PeakRssBytes();

}  // namespace pot::pairwise
