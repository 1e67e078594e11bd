#include "endpoint/tokens.h"

#include <algorithm>

#include "llama.h"
#include "text/text.h"

namespace pot::endpoint {
namespace {

std::string Shown(const std::string& bytes) { return "\"" + text::EscapeInvalidUtf8(bytes) + "\""; }

}  // namespace

Status Vocabulary::FromLlama(const llama_vocab* vocab, Vocabulary* out) {
  const int n = llama_vocab_n_tokens(vocab);
  if (n <= 0) return Status::Unsupported("the reference model has no vocabulary");
  std::vector<std::string> pieces(static_cast<size_t>(n));
  std::vector<int32_t> eog;
  std::string buf(256, '\0');
  for (int id = 0; id < n; ++id) {
    int len = llama_token_to_piece(vocab, id, buf.data(), static_cast<int32_t>(buf.size()), 0, false);
    if (len < 0) {
      buf.resize(static_cast<size_t>(-len));
      len = llama_token_to_piece(vocab, id, buf.data(), static_cast<int32_t>(buf.size()), 0, false);
    }
    if (len < 0) return Status::Internal("llama_token_to_piece failed for token " + std::to_string(id));
    pieces[static_cast<size_t>(id)].assign(buf.data(), static_cast<size_t>(len));
    if (llama_vocab_is_eog(vocab, id)) eog.push_back(id);
  }
  return FromPieces(std::move(pieces), out, std::move(eog));
}

Status Vocabulary::FromPieces(std::vector<std::string> pieces, Vocabulary* out, std::vector<int32_t> end_of_generation) {
  if (pieces.empty()) return Status::Unsupported("the reference model has no vocabulary");
  std::sort(end_of_generation.begin(), end_of_generation.end());
  for (int32_t id : end_of_generation) {
    if (id < 0 || static_cast<size_t>(id) >= pieces.size()) return Status::InvalidArgument("an end-of-generation id outside the vocabulary");
  }
  out->pieces_ = std::move(pieces);
  out->end_of_generation_ = std::move(end_of_generation);
  out->by_bytes_.clear();
  for (size_t id = 0; id < out->pieces_.size(); ++id) out->by_bytes_[out->pieces_[id]].push_back(static_cast<int32_t>(id));
  return Status::OK();
}

bool Vocabulary::IsEndOfGeneration(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

const std::vector<int32_t>& Vocabulary::IdsWithBytes(const std::string& bytes) const {
  static const std::vector<int32_t> kNone;
  auto it = by_bytes_.find(bytes);
  return it == by_bytes_.end() ? kNone : it->second;
}

Status MapEntry(const Vocabulary& vocab, const TokenLogprob& entry, int32_t* id) {
  if (entry.id) {
    if (*entry.id >= vocab.size()) {
      return Status::IOError("token id " + std::to_string(*entry.id) + " is outside the reference vocabulary of " +
                             std::to_string(vocab.size()) + " tokens (another tokenizer)");
    }
    if (entry.has_bytes && entry.bytes != vocab.Piece(*entry.id)) {
      return Status::IOError("token id " + std::to_string(*entry.id) + " is " + Shown(entry.bytes) +
                             " at the endpoint but " + Shown(vocab.Piece(*entry.id)) +
                             " in the reference vocabulary (another tokenizer)");
    }
    *id = *entry.id;
    return Status::OK();
  }
  if (!entry.has_bytes) return Status::IOError("a token has neither an id nor text");
  const auto& ids = vocab.IdsWithBytes(entry.bytes);
  if (ids.empty()) {
    return Status::IOError("token " + Shown(entry.bytes) + " is not in the reference vocabulary (another tokenizer)");
  }
  *id = ids.front();
  return Status::OK();
}

Status MapTokens(const Vocabulary& vocab, const Generation& generation, std::vector<int32_t>* ids) {
  ids->clear();
  std::string spelled;
  bool by_text = false;
  // llama-server reports, as a token's bytes, the text it sent with it: the bytes of the tokens it passed
  // over (has_logprob false: the text ended inside a character) come first.
  std::string passed_over;
  for (size_t i = 0; i < generation.tokens.size(); ++i) {
    TokenLogprob entry = generation.tokens[i].token;
    const bool skipped = entry.id && !entry.has_bytes && !generation.tokens[i].has_logprob;
    if (entry.has_bytes && !passed_over.empty()) {
      if (entry.bytes.compare(0, passed_over.size(), passed_over) != 0) {
        return Status::IOError("generated token " + std::to_string(i) + ": its bytes do not start with the bytes of the tokens before it that had none (another tokenizer)");
      }
      entry.bytes.erase(0, passed_over.size());
    }
    int32_t id = 0;
    POT_RETURN_IF_ERROR(MapEntry(vocab, entry, &id).WithContext("generated token " + std::to_string(i)));
    ids->push_back(id);
    spelled += vocab.Piece(id);
    by_text = by_text || !entry.id;
    if (skipped) passed_over += vocab.Piece(id);
    else if (entry.has_bytes) passed_over.clear();
  }
  // Tokens named by id are checked by their bytes (MapEntry); the text is not theirs byte for byte, since
  // llama-server withholds a trailing partial UTF-8 character and writes invalid bytes as U+FFFD.
  if (by_text && spelled != generation.text) {
    return Status::IOError("the generated tokens spell " + Shown(spelled.substr(0, 80)) + " but the endpoint's text is " +
                           Shown(generation.text.substr(0, 80)) + ": the tokenization does not round-trip");
  }
  return Status::OK();
}

}  // namespace pot::endpoint
