#include "http/oauth_token.hpp"

#include <ctime>
#include <unordered_map>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "http/crypto.hpp"
#include "http/http_text.hpp"
#include "http/jwt_bearer.hpp"

namespace reverse_etl::http {

namespace {

// A refusal's body is shown up to this many bytes when it is not the usual
// {"error", "error_description"} object.
constexpr size_t kRefusalBodyChars = 500;

// A token is taken as expired this long before the expiry its answer gave,
// so that a request never leaves with one that runs out on its way.
constexpr int64_t kExpiryMarginSeconds = 300;

struct CachedToken {
    std::string token;
    int64_t expires_at = 0;   // Unix seconds; 0: never
};

// Backends are single-threaded: a plain map is enough. Its values are
// access tokens only; the key holds no secret (token_cache_key).
std::unordered_map<std::string, CachedToken> &token_cache() {
    static std::unordered_map<std::string, CachedToken> cache;
    return cache;
}

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

bool expired(int64_t expires_at) { return expires_at != 0 && now_seconds() >= expires_at - kExpiryMarginSeconds; }

std::string string_member(const JsonValue &object, std::string_view key) {
    const JsonValue *member = object.member(key);
    return member != nullptr && member->kind() == JsonKind::String ? member->string_value() : std::string();
}

}  // namespace

HttpRequest token_request(const OAuthGrant &grant, int64_t now) {
    HttpRequest request;
    request.method = "POST";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    if (!grant.service_account_key.empty()) {
        const ServiceAccountKey key = parse_service_account_key(grant.service_account_key);
        request.url = key.token_uri;
        request.body = "grant_type=" + percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                       "&assertion=" + jwt_assertion(key, grant.scope, now);
        return request;
    }
    request.url = grant.token_url;
    request.body = "grant_type=refresh_token&client_id=" + percent_encode(grant.client_id) +
                   "&client_secret=" + percent_encode(grant.client_secret) +
                   "&refresh_token=" + percent_encode(grant.refresh_token);
    return request;
}

TokenAnswer read_token_answer(const HttpResponse &response) {
    TokenAnswer answer;
    if (response.status == 0) {
        answer.refusal = response.transport_error.empty() ? "no response" : response.transport_error;
        return answer;
    }
    const std::optional<JsonValue> body = try_parse_json_text(response.body);
    const bool is_object = body && body->kind() == JsonKind::Object;
    if (response.status >= 200 && response.status < 300 && is_object) {
        answer.access_token = string_member(*body, "access_token");
        const JsonValue *expires_in = body->member("expires_in");
        if (expires_in != nullptr && expires_in->kind() == JsonKind::Number) {
            // Whole seconds as Google and Salesforce write them; anything
            // else (a fraction, a huge number) is read as "no expiry given".
            const std::string &digits = expires_in->number_text();
            if (!digits.empty() && digits.size() <= 9 && digits.find_first_not_of("0123456789") == std::string::npos)
                answer.expires_in = std::stoll(digits);
        }
        if (!answer.access_token.empty())
            return answer;
    }
    answer.refusal = "HTTP " + std::to_string(response.status);
    const std::string error = is_object ? string_member(*body, "error") : std::string();
    if (!error.empty()) {
        const std::string description = string_member(*body, "error_description");
        answer.refusal += ": " + error + (description.empty() ? "" : ": " + description);
    } else if (response.status >= 200 && response.status < 300) {
        answer.refusal += ": the answer has no access_token";
    } else if (!response.body.empty()) {
        answer.refusal += ": " + response.body.substr(0, kRefusalBodyChars);
    }
    return answer;
}

std::string token_cache_key(int64_t destination_id, const OAuthGrant &grant) {
    // Lengths first, so no two different grants make the same text.
    std::string credentials;
    for (const std::string *part : {&grant.token_url, &grant.client_id, &grant.client_secret, &grant.refresh_token,
                                    &grant.service_account_key, &grant.scope})
        credentials += std::to_string(part->size()) + ":" + *part;
    return std::to_string(destination_id) + "/" + sha256_hex(credentials);
}

AccessToken::AccessToken(OAuthGrant grant, int64_t destination_id)
    : grant_(std::move(grant)), cache_key_(token_cache_key(destination_id, grant_)) {}

const std::string &AccessToken::get(const TokenSender &send) {
    if (!token_.empty() && !expired(expires_at_))
        return token_;
    const auto cached = token_cache().find(cache_key_);
    if (cached != token_cache().end() && !expired(cached->second.expires_at)) {
        token_ = cached->second.token;
        expires_at_ = cached->second.expires_at;
        return token_;
    }
    return fetch(send);
}

bool AccessToken::held() const { return !token_.empty() && !expired(expires_at_); }

const std::string &AccessToken::refresh(const TokenSender &send, const std::string &refused) {
    if (!token_.empty() && token_ != refused)
        return token_;
    return fetch(send);
}

const std::string &AccessToken::fetch(const TokenSender &send) {
    token_.clear();
    token_cache().erase(cache_key_);
    const int64_t now = now_seconds();
    const TokenAnswer answer = read_token_answer(send(token_request(grant_, now)));
    if (answer.access_token.empty())
        throw Error(sqlstate::kInvalidAuthorizationSpecification,
                    "could not get an access token from the destination: " + answer.refusal);
    token_ = answer.access_token;
    expires_at_ = answer.expires_in > 0 ? now + answer.expires_in : 0;
    token_cache()[cache_key_] = CachedToken{token_, expires_at_};
    return token_;
}

void forget_access_tokens() { token_cache().clear(); }

}  // namespace reverse_etl::http
