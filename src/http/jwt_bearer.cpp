#include "http/jwt_bearer.hpp"

#include <climits>
#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "http/crypto.hpp"

namespace reverse_etl::http {

namespace {

constexpr int64_t kAssertionSeconds = 3600;   // Google refuses an exp more than an hour after iat
constexpr const char *kKeyHint =
    "Paste the whole JSON key file of the service account (IAM > Service accounts > Keys > Add key > JSON).";

struct PkeyFree {
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO *bio) const { BIO_free(bio); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX *ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Error bad_key(const std::string &detail) {
    return Error(sqlstate::kInvalidParameterValue, "setting \"service_account_key\" is not a service account key",
                 detail, kKeyHint);
}

// The RSA private key of the PEM text; nullptr when it is none. A key with
// a passphrase is refused (the callback gives none) rather than prompting.
Pkey read_rsa_key(const std::string &pem) {
    if (pem.size() > static_cast<size_t>(INT_MAX))
        return nullptr;
    const std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio)
        return nullptr;
    const auto no_passphrase = [](char *, int, int, void *) { return 0; };
    Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA)
        return nullptr;
    return key;
}

std::string json_string(const std::string &text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

}  // namespace

ServiceAccountKey parse_service_account_key(const std::string &json_text) {
    const std::optional<JsonValue> parsed = try_parse_json_text(json_text);
    if (!parsed || parsed->kind() != JsonKind::Object)
        throw bad_key("It is not a JSON object.");
    ServiceAccountKey key;
    for (const auto &[name, target] : {std::pair<const char *, std::string *>{"client_email", &key.client_email},
                                       {"private_key", &key.private_key},
                                       {"token_uri", &key.token_uri}}) {
        const JsonValue *member = parsed->member(name);
        if (member == nullptr || member->kind() != JsonKind::String || member->string_value().empty())
            throw bad_key(std::string("It has no \"") + name + "\" string.");
        *target = member->string_value();
    }
    if (!read_rsa_key(key.private_key))
        throw bad_key("Its \"private_key\" is not an RSA private key in PEM form.");
    return key;
}

std::string rs256_sign(const std::string &pem_private_key, const std::string &data) {
    const Pkey key = read_rsa_key(pem_private_key);
    if (!key)
        throw bad_key("Its \"private_key\" is not an RSA private key in PEM form.");
    const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    size_t length = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char *>(data.data()),
                       data.size()) != 1)
        throw Error(sqlstate::kInternalError, "could not sign the access token request (RS256)");
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(signature.data()), &length,
                       reinterpret_cast<const unsigned char *>(data.data()), data.size()) != 1)
        throw Error(sqlstate::kInternalError, "could not sign the access token request (RS256)");
    signature.resize(length);
    return signature;
}

std::string jwt_assertion(const ServiceAccountKey &key, const std::string &scope, int64_t now) {
    const std::string header = R"({"alg":"RS256","typ":"JWT"})";
    const std::string claims = "{\"iss\":" + json_string(key.client_email) + ",\"scope\":" + json_string(scope) +
                               ",\"aud\":" + json_string(key.token_uri) + ",\"iat\":" + std::to_string(now) +
                               ",\"exp\":" + std::to_string(now + kAssertionSeconds) + "}";
    const std::string signed_part = base64url_encode(header) + "." + base64url_encode(claims);
    return signed_part + "." + base64url_encode(rs256_sign(key.private_key, signed_part));
}

}  // namespace reverse_etl::http
