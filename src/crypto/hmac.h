// HMAC-SHA256 and the system CSPRNG, through OpenSSL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/sha256.h"
#include "util/status.h"

namespace pot {

Digest HmacSha256(std::string_view key, std::string_view data);
inline std::string_view AsBytes(const Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

// Fills out with n bytes from OpenSSL's CSPRNG (seeded by the operating system).
Status RandomBytes(size_t n, std::string* out);

// Lowercase hex <-> bytes. FromHex rejects odd lengths and non-hex characters.
bool FromHex(std::string_view hex, std::string* out);

}  // namespace pot
