// OAuth 2 access tokens for a Google service account (RFC 7523, the JWT
// bearer grant): the account's JSON key holds an RSA private key; a JWT
// naming the account, the scope and the token endpoint, signed with it
// (RS256, OpenSSL), is posted to the key's token_uri, which answers an
// access token. http::AccessToken fetches and caches the token; this file
// only reads the key and makes the assertion. No PostgreSQL.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::http {

// What a service account's JSON key (as Google's console downloads it) gives
// the grant. Other members of the key are ignored.
struct ServiceAccountKey {
    std::string client_email;   // the JWT's issuer
    std::string private_key;    // PEM (PKCS #8), RSA
    std::string token_uri;      // where the assertion is posted, and the JWT's audience
};

// Reads the key's JSON text. Throws Error 22023 (with a hint) when it is not
// a JSON object with string members client_email, private_key and token_uri,
// or when private_key is not an RSA private key OpenSSL can read. Messages
// never quote the key.
ServiceAccountKey parse_service_account_key(const std::string &json_text);

// The signed JWT: base64url(header) "." base64url(claims) "." base64url(RS256
// signature), header {"alg":"RS256","typ":"JWT"}, claims iss = client_email,
// scope, aud = token_uri, iat = `now` (Unix seconds) and exp = iat + 3600
// (the most Google accepts).
std::string jwt_assertion(const ServiceAccountKey &key, const std::string &scope, int64_t now);

// The RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) of `data` with the PEM
// private key; raw bytes. Throws Error 22023 when the key cannot be read.
std::string rs256_sign(const std::string &pem_private_key, const std::string &data);

}  // namespace reverse_etl::http
