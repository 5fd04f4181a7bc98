// Google Sheets (src/destinations/google_sheets.json) and what it brought: the
// JWT bearer grant of a service account (http/jwt_bearer: RS256 with OpenSSL,
// checked here by verifying with OpenSSL against the public half of a key
// made for the test), "{{fields|values}}" cells, elements that are a text
// around {{object_id}}, one_of_settings and row_index.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "catalog/destination_type.hpp"
#include "catalog/settings.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "http/crypto.hpp"
#include "http/jwt_bearer.hpp"
#include "http/oauth_token.hpp"
#include "test_support.hpp"

namespace reverse_etl {
namespace {

using test::error_of;
using test::json;
using test::shipped_type;

struct PkeyFree {
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A 2048-bit RSA key made for the tests (never stored).
Pkey test_key() {
    static Pkey key = [] {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
        EVP_PKEY *made = nullptr;
        EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
        EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
        EXPECT_EQ(EVP_PKEY_keygen(ctx, &made), 1);
        EVP_PKEY_CTX_free(ctx);
        return Pkey(made);
    }();
    EVP_PKEY_up_ref(key.get());
    return Pkey(key.get());
}

std::string pem_of(EVP_PKEY *key) {
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char *data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(length));
    BIO_free(bio);
    return pem;
}

bool verifies(EVP_PKEY *key, const std::string &data, const std::string &signature) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char *>(signature.data()), signature.size(),
                                     reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

std::string base64url_decode(std::string text) {
    for (char &c : text)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (text.size() % 4 != 0)
        text += '=';
    return http::base64_decode(text).value_or("<not base64>");
}

std::vector<std::string> split(const std::string &text, char separator) {
    std::vector<std::string> parts{""};
    for (const char c : text) {
        if (c == separator)
            parts.emplace_back();
        else
            parts.back() += c;
    }
    return parts;
}

std::string key_json(const std::string &pem, const std::string &token_uri = "https://oauth2.googleapis.com/token") {
    JsonValue key = JsonValue::object();
    key.add_member("type", JsonValue::string("service_account"));
    key.add_member("client_email", JsonValue::string("sync@p.iam.gserviceaccount.com"));
    key.add_member("private_key", JsonValue::string(pem));
    key.add_member("token_uri", JsonValue::string(token_uri));
    return to_json_text(key);
}

TEST(JwtBearer, Base64urlHasNoPaddingAndTheUrlAlphabet) {
    EXPECT_EQ(http::base64url_encode(""), "");
    EXPECT_EQ(http::base64url_encode("f"), "Zg");
    EXPECT_EQ(http::base64url_encode("fo"), "Zm8");
    EXPECT_EQ(http::base64url_encode("foo"), "Zm9v");
    EXPECT_EQ(http::base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(JwtBearer, TheAssertionIsSignedRs256AndVerifies) {
    const Pkey key = test_key();
    const http::ServiceAccountKey account = http::parse_service_account_key(key_json(pem_of(key.get())));
    EXPECT_EQ(account.client_email, "sync@p.iam.gserviceaccount.com");
    EXPECT_EQ(account.token_uri, "https://oauth2.googleapis.com/token");
    const std::string jwt = http::jwt_assertion(account, "https://www.googleapis.com/auth/spreadsheets", 1700000000);
    const std::vector<std::string> parts = split(jwt, '.');
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(base64url_decode(parts[0]), R"({"alg":"RS256","typ":"JWT"})");
    EXPECT_EQ(base64url_decode(parts[1]),
              R"({"iss":"sync@p.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/spreadsheets",)"
              R"("aud":"https://oauth2.googleapis.com/token","iat":1700000000,"exp":1700003600})");
    EXPECT_EQ(jwt.find('='), std::string::npos);
    const std::string signature = base64url_decode(parts[2]);
    EXPECT_EQ(signature.size(), 256u);   // 2048 bits
    EXPECT_TRUE(verifies(key.get(), parts[0] + "." + parts[1], signature));
    EXPECT_FALSE(verifies(key.get(), parts[0] + "." + parts[1] + "x", signature));
}

TEST(JwtBearer, TheGrantIsAFormPostToTheKeysTokenUri) {
    const Pkey key = test_key();
    http::OAuthGrant grant;
    grant.service_account_key = key_json(pem_of(key.get()), "http://127.0.0.1:9/token");
    grant.scope = "https://www.googleapis.com/auth/spreadsheets";
    const http::HttpRequest request = http::token_request(grant, 1700000000);
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, "http://127.0.0.1:9/token");
    const std::string prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    ASSERT_EQ(request.body.compare(0, prefix.size(), prefix), 0) << request.body;
    EXPECT_EQ(split(request.body.substr(prefix.size()), '.').size(), 3u);
}

TEST(JwtBearer, BadKeysAreRefusedWithoutQuotingThem) {
    const auto refusal = [](const std::string &text) {
        const Error error = error_of([&] { http::parse_service_account_key(text); });
        EXPECT_EQ(error.sqlstate(), "22023");
        EXPECT_EQ(error.message(), "setting \"service_account_key\" is not a service account key");
        EXPECT_FALSE(error.hint().empty());
        EXPECT_EQ(error.detail().find("secret-ish"), std::string::npos);
        return error.detail();
    };
    EXPECT_EQ(refusal("secret-ish"), "It is not a JSON object.");
    EXPECT_EQ(refusal(R"(["secret-ish"])"), "It is not a JSON object.");
    EXPECT_EQ(refusal(R"({"client_email": "a@b", "token_uri": "https://t"})"), "It has no \"private_key\" string.");
    EXPECT_EQ(refusal(R"({"private_key": "secret-ish", "token_uri": "https://t"})"),
              "It has no \"client_email\" string.");
    EXPECT_EQ(refusal(R"({"client_email": "a@b", "private_key": "secret-ish", "token_uri": "https://t"})"),
              "Its \"private_key\" is not an RSA private key in PEM form.");
    // An EC key is no RSA key.
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    EVP_PKEY *ec = nullptr;
    ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1), 1);
    ASSERT_EQ(EVP_PKEY_keygen(ctx, &ec), 1);
    EVP_PKEY_CTX_free(ctx);
    const Pkey ec_key(ec);
    EXPECT_EQ(refusal(key_json(pem_of(ec_key.get()))), "Its \"private_key\" is not an RSA private key in PEM form.");
}

TEST(JwtBearer, TokenAnswersGiveTheirLifetime) {
    http::HttpResponse response;
    response.status = 200;
    response.body = R"({"access_token": "ya29.x", "expires_in": 3599, "token_type": "Bearer"})";
    EXPECT_EQ(http::read_token_answer(response).expires_in, 3599);
    response.body = R"({"access_token": "ya29.x", "expires_in": 1.5})";
    EXPECT_EQ(http::read_token_answer(response).expires_in, 0);
    response.body = R"({"access_token": "ya29.x"})";
    EXPECT_EQ(http::read_token_answer(response).expires_in, 0);
}

const char *kTokenSettings = R"({"spreadsheet_id": "s 1", "access_token": "tok", "endpoint": "http://127.0.0.1:9"})";

destinations::OutgoingRecord row(const std::string &id, const std::string &payload, const std::string &row_number) {
    destinations::OutgoingRecord record;
    record.record_id = id;
    record.payload = payload;
    record.object_id = row_number;
    return record;
}

TEST(GoogleSheets, RowsAreWrittenToTheirRangeAsCells) {
    const catalog::DestinationType &type = shipped_type("google_sheets");
    const catalog::ActionDef &action = *type.find_action("rows");
    EXPECT_TRUE(action.row_index);
    const destinations::RequestBuilder rows(type, action, json(kTokenSettings).get());
    const std::vector<destinations::OutgoingRecord> records{
        row("1", R"({"age":36,"name":"Ada","tags":["m"],"x":null,"ok":true})", "2"), row("2", R"({"name":"B"})", "7")};
    const destinations::PlannedRequest request = rows.build(records, {0, 1});
    EXPECT_EQ(request.request.url, "http://127.0.0.1:9/v4/spreadsheets/s%201/values:batchUpdate");
    EXPECT_EQ(request.request.body,
              R"({"valueInputOption":"RAW","data":[)"
              R"({"range":"'Sheet1'!2:2","majorDimension":"ROWS","values":[["1",36,"Ada","[\"m\"]","",true]]},)"
              R"({"range":"'Sheet1'!7:7","majorDimension":"ROWS","values":[["2","B"]]}]})");
    // Without a row there is nothing to send.
    EXPECT_FALSE(rows.element(row("3", "{}", "")).valid);

    const destinations::RequestBuilder clears(type, action, json(kTokenSettings).get(), "delete");
    const destinations::PlannedRequest clear = clears.build(records, {0, 1});
    EXPECT_EQ(clear.request.url, "http://127.0.0.1:9/v4/spreadsheets/s%201/values:batchClear");
    EXPECT_EQ(clear.request.body, R"({"ranges":["'Sheet1'!2:2","'Sheet1'!7:7"]})");
}

TEST(GoogleSheets, ExactlyOneCredential) {
    const catalog::DestinationType &type = shipped_type("google_sheets");
    const auto read_interval = [](const std::string &) { return std::optional<IntervalLength>(); };
    const Error none = error_of([&] {
        catalog::validate_settings(type, json(R"({"spreadsheet_id": "s"})").get(), read_interval);
    });
    EXPECT_EQ(none.sqlstate(), "22023");
    EXPECT_EQ(none.message(),
              "destination type \"google_sheets\" needs one of the settings \"service_account_key\" or \"access_token\"");
    const Pkey key = test_key();
    JsonPtr both = json(R"({"spreadsheet_id": "s", "access_token": "t"})");
    json_object_set_new(both.get(), "service_account_key", json_string(key_json(pem_of(key.get())).c_str()));
    const Error two = error_of([&] { catalog::validate_settings(type, both.get(), read_interval); });
    EXPECT_EQ(two.message(), "settings \"service_account_key\" and \"access_token\" of destination type "
                             "\"google_sheets\" cannot both be set");
    json_object_del(both.get(), "access_token");
    catalog::validate_settings(type, both.get(), read_interval);
    // The builder reads the key: requests then wait for the token.
    const destinations::RequestBuilder rows(type, *type.find_action("rows"), both.get());
    ASSERT_TRUE(rows.oauth());
    EXPECT_EQ(rows.oauth()->token_url, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(rows.oauth()->scope, "https://www.googleapis.com/auth/spreadsheets");
    // The key is masked whole, and its PEM alone too.
    const std::string pem = pem_of(key.get());
    EXPECT_EQ(rows.secrets().mask("a " + pem + " b"), "a ******** b");
    EXPECT_EQ(rows.secrets().mask("a " + key_json(pem) + " b"), "a ******** b");
}

TEST(GoogleSheets, DefinitionRules) {
    const auto problem = [](const std::string &element) {
        try {
            catalog::parse_destination_type(R"({
                "type": "t", "name": "T", "description": "A test type.",
                "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."}],
                "request": {"method": "POST", "url": "{{settings.endpoint}}/x", "body": "array"},
                "actions": [{"key": "a", "name": "A", "description": "A.", "sync_modes": ["upsert"],
                             "default_sync_mode": "upsert", "free_fields": true, "fields": [],
                             "max_batch_records": 5, "element": )" + element + "}]}");
        } catch (const Error &error) {
            return error.message();
        }
        return std::string();
    };
    EXPECT_EQ(problem(R"({"values": ["{{record_id}}", "{{fields|values}}"]})"), "");
    EXPECT_EQ(problem(R"({"values": "{{fields|values}}"})"),
              "invalid definition of destination type \"t\": actions[0].element.values uses {{fields|values}} "
              "outside an array: its values go in one");
    EXPECT_EQ(problem(R"("row {{object_id}}")"), "");
}

}  // namespace
}  // namespace reverse_etl
