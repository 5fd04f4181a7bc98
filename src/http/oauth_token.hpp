// OAuth 2 access tokens from a refresh token grant (RFC 6749 section 6), as
// the `oauth_refresh` auth kind of a destination definition asks, or from a
// service account's signed JWT (RFC 7523, `jwt_bearer`: http/jwt_bearer.hpp):
// fetched with a form POST when a run first needs one, kept in this process's
// memory per destination until shortly before the expiry the answer gives
// (for the process's life when it gives none), fetched again once when the
// API answers 401. A token is never written anywhere: callers mask it
// (destinations::SecretMasker) in whatever they show or keep. No PostgreSQL.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "http/http_types.hpp"

namespace reverse_etl::http {

// What the grant sends; every value as it is, before form encoding.
struct OAuthGrant {
    std::string token_url;
    std::string client_id;
    std::string client_secret;
    std::string refresh_token;
    // A JWT bearer grant instead, when set: the service account's JSON key
    // (its token_uri is the token URL; token_url is unused) and the scope.
    std::string service_account_key;
    std::string scope;
};

// The grant as a request: POST, form-encoded grant_type=refresh_token with
// the client's id and secret and the refresh token; or, for a service
// account, grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with the
// assertion signed at `now` (Unix seconds). Throws Error 22023 for a key
// that cannot sign.
HttpRequest token_request(const OAuthGrant &grant, int64_t now);

// What the token endpoint answered: the access token, or why there is none
// (the endpoint's "error: error_description", else the start of its body).
struct TokenAnswer {
    std::string access_token;   // empty when refused
    std::string refusal;        // empty when granted
    int64_t expires_in = 0;     // seconds the token lives, as the answer says; 0 when it does not
};
TokenAnswer read_token_answer(const HttpResponse &response);

// Where the process keeps a destination's token: its id and a hash of every
// credential the grant uses, so changed settings (alter_destination) never
// meet the token of the old ones.
std::string token_cache_key(int64_t destination_id, const OAuthGrant &grant);

// Sends the grant and answers what came back (HttpClient::perform_once, so
// the client's host checks and timeouts apply; one attempt).
using TokenSender = std::function<HttpResponse(HttpRequest)>;

// One destination's access token for a run or a test record.
class AccessToken {
  public:
    AccessToken(OAuthGrant grant, int64_t destination_id);

    // The cached token, or a new one from the token endpoint. Throws Error
    // 28000 "could not get an access token ..." with the endpoint's refusal.
    const std::string &get(const TokenSender &send);

    // After a 401 to a request sent with `refused`: a new token, unless one
    // was fetched since that request left (then the current one). Throws as
    // get() does.
    const std::string &refresh(const TokenSender &send, const std::string &refused);

    // The token held now; empty before get().
    const std::string &current() const { return token_; }

    // Whether get() has a token to give without asking the token endpoint
    // (one is held and not about to expire).
    bool held() const;

  private:
    const std::string &fetch(const TokenSender &send);

    OAuthGrant grant_;
    std::string cache_key_;
    std::string token_;
    int64_t expires_at_ = 0;   // Unix seconds; 0: never (the answer gave no expires_in)
};

// Forgets every cached token (unit tests).
void forget_access_tokens();

}  // namespace reverse_etl::http
