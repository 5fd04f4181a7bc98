// The two primitives destinations need for request signing and Basic auth,
// both delegated to OpenSSL (no hand-written crypto).
#pragma once

#include <string>

namespace reverse_etl::http {

// Lower-case hex of HMAC-SHA256(key, data) over the exact bytes given; this is
// what webhook receivers compare against `X-Signature: sha256=<hex>`.
std::string hmac_sha256_hex(const std::string &key, const std::string &data);

// Standard base64 (RFC 4648, with '=' padding, no line breaks), e.g. for
// `Authorization: Basic base64(user ":" password)`.
std::string base64_encode(const std::string &bytes);

// Lower-case hex of the SHA-256 of `data`: 64 characters.
std::string sha256_hex(const std::string &data);

}  // namespace reverse_etl::http
