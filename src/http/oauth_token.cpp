#include "http/oauth_token.hpp"

#include <unordered_map>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "http/crypto.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::http {

namespace {

// A refusal's body is shown up to this many bytes when it is not the usual
// {"error", "error_description"} object.
constexpr size_t kRefusalBodyChars = 500;

// Backends are single-threaded: a plain map is enough. Its values are
// access tokens only; the key holds no secret (token_cache_key).
std::unordered_map<std::string, std::string> &token_cache() {
    static std::unordered_map<std::string, std::string> cache;
    return cache;
}

std::string string_member(const JsonValue &object, std::string_view key) {
    const JsonValue *member = object.member(key);
    return member != nullptr && member->kind() == JsonKind::String ? member->string_value() : std::string();
}

}  // namespace

HttpRequest token_request(const OAuthGrant &grant) {
    HttpRequest request;
    request.method = "POST";
    request.url = grant.token_url;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
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
    for (const std::string *part : {&grant.token_url, &grant.client_id, &grant.client_secret, &grant.refresh_token})
        credentials += std::to_string(part->size()) + ":" + *part;
    return std::to_string(destination_id) + "/" + sha256_hex(credentials);
}

AccessToken::AccessToken(OAuthGrant grant, int64_t destination_id)
    : grant_(std::move(grant)), cache_key_(token_cache_key(destination_id, grant_)) {}

const std::string &AccessToken::get(const TokenSender &send) {
    if (!token_.empty())
        return token_;
    const auto cached = token_cache().find(cache_key_);
    if (cached != token_cache().end()) {
        token_ = cached->second;
        return token_;
    }
    return fetch(send);
}

const std::string &AccessToken::refresh(const TokenSender &send, const std::string &refused) {
    if (!token_.empty() && token_ != refused)
        return token_;
    return fetch(send);
}

const std::string &AccessToken::fetch(const TokenSender &send) {
    token_.clear();
    token_cache().erase(cache_key_);
    const TokenAnswer answer = read_token_answer(send(token_request(grant_)));
    if (answer.access_token.empty())
        throw Error(sqlstate::kInvalidAuthorizationSpecification,
                    "could not get an access token from the destination: " + answer.refusal);
    token_ = answer.access_token;
    token_cache()[cache_key_] = token_;
    return token_;
}

void forget_access_tokens() { token_cache().clear(); }

}  // namespace reverse_etl::http
