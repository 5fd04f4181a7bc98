// The primitives destinations need for request signing and Basic auth, all
// delegated to OpenSSL (no hand-written crypto).
#pragma once

#include <optional>
#include <string>

namespace reverse_etl::http {

// Lower-case hex of HMAC-SHA256(key, data) over the exact bytes given; this is
// what webhook receivers compare against `X-Signature: sha256=<hex>`.
std::string hmac_sha256_hex(const std::string &key, const std::string &data);

// The 32 raw bytes of HMAC-SHA256(key, data): Standard Webhooks sends their base64.
std::string hmac_sha256(const std::string &key, const std::string &data);

// Standard base64 (RFC 4648, with '=' padding, no line breaks), e.g. for
// `Authorization: Basic base64(user ":" password)`.
std::string base64_encode(const std::string &bytes);

// The bytes of standard base64 text, strictly: the RFC 4648 alphabet, a length
// that is a multiple of 4 and '=' padding only at the end; nothing else (no
// spaces, no line breaks, no URL-safe alphabet). nullopt when `text` is not that.
std::optional<std::string> base64_decode(const std::string &text);

// base64url (RFC 4648 section 5) without padding, as JSON Web Tokens (RFC
// 7515) write their parts.
std::string base64url_encode(const std::string &bytes);

// Lower-case hex of the SHA-256 of `data`: 64 characters.
std::string sha256_hex(const std::string &data);

// Lower-case hex of the MD5 of `data`: 32 characters. Not for security: some APIs
// name a record by the MD5 of its key (Mailchimp's subscriber hash).
std::string md5_hex(const std::string &data);

}  // namespace reverse_etl::http
