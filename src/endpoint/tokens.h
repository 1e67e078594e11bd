// endpoint/tokens: the endpoint's generated tokens as ids of the reference vocabulary. By id where the API
// gives ids (and then the bytes it reports for each id must be that id's bytes in the reference
// vocabulary), by bytes where it gives text only. A token the reference vocabulary cannot represent, an id
// outside it, or tokens named by text that do not spell the text the endpoint returned are reported as
// such: all are evidence of another tokenizer, never dropped.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "endpoint/api.h"
#include "util/status.h"

struct llama_vocab;

namespace pot::endpoint {

class Vocabulary {
 public:
  // Every id's bytes (llama_token_to_piece, special tokens rendered as the servers render them: empty) and
  // the end-of-generation ids (llama_vocab_is_eog).
  static Status FromLlama(const llama_vocab* vocab, Vocabulary* out);
  // Id i is pieces[i] (tests and fuzzing, without a model).
  static Status FromPieces(std::vector<std::string> pieces, Vocabulary* out, std::vector<int32_t> end_of_generation = {});
  int size() const { return static_cast<int>(pieces_.size()); }
  const std::string& Piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  // The ids whose sampling ends a generation, lowest first.
  const std::vector<int32_t>& end_of_generation() const { return end_of_generation_; }
  bool IsEndOfGeneration(int32_t id) const;
  // The ids whose bytes are exactly bytes, lowest first (several ids may share bytes: byte-fallback and
  // merged tokens); empty when none.
  const std::vector<int32_t>& IdsWithBytes(const std::string& bytes) const;

 private:
  std::vector<std::string> pieces_;
  std::vector<int32_t> end_of_generation_;
  std::map<std::string, std::vector<int32_t>> by_bytes_;
};

// One entry (a generated token or a top-list entry) as a reference id. Without an id, bytes shared by
// several ids map to the lowest of them (docs/endpoints.md, "Tokens").
Status MapEntry(const Vocabulary& vocab, const TokenLogprob& entry, int32_t* id);

// ids[i] for generation.tokens[i]. Where tokens are named by text, their concatenated bytes must be the
// generation's text (the tokenization round-trips). Errors name the token's position.
Status MapTokens(const Vocabulary& vocab, const Generation& generation, std::vector<int32_t>* ids);

}  // namespace pot::endpoint
