// destinations/secret_masker (secrets found in every form they travel in) and
// http/crypto (HMAC-SHA256 and base64, against published test vectors).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_text.hpp"
#include "destinations/secret_masker.hpp"
#include "http/crypto.hpp"

namespace reverse_etl::destinations {
namespace {

const SecretMasker kMasker({"s3cr3t", "two words", "p\xC3\xA4ss\xF0\x9F\x98\x80", "", "s3cr3t"});

TEST(SecretMasker, RawPercentEncodedAndJsonEscaped) {
    EXPECT_EQ(kMasker.mask("token=s3cr3t&x=1"), "token=********&x=1");
    EXPECT_EQ(kMasker.mask("s3cr3ts3cr3t"), "****************");   // adjacent: two masks
    EXPECT_EQ(SecretMasker({"abab"}).mask("ababab"), "********");   // overlapping: one
    EXPECT_EQ(kMasker.mask("%73%33cr%33t"), "********");
    EXPECT_EQ(kMasker.mask("%73%33CR%33T"), "%73%33CR%33T");   // the secret's case counts
    EXPECT_EQ(kMasker.mask("two+words and two%20words"), "******** and ********");
    EXPECT_EQ(kMasker.mask(R"({"k":"\u0073\u0033cr3t"})"), R"({"k":"********"})");
    EXPECT_EQ(kMasker.mask(R"(two\u0020words)"), "********");
    // Non-ASCII: raw UTF-8, percent-encoded bytes, \u escapes with a surrogate pair.
    EXPECT_EQ(kMasker.mask("p\xC3\xA4ss\xF0\x9F\x98\x80!"), "********!");
    EXPECT_EQ(kMasker.mask("p%C3%A4ss%F0%9F%98%80"), "********");
    EXPECT_EQ(kMasker.mask(R"(p\u00E4ss\uD83D\uDE00)"), "********");
    EXPECT_EQ(kMasker.mask(R"(p\u00e4ss\ud83d)"), R"(p\u00e4ss\ud83d)");   // half a character is no match
    EXPECT_EQ(kMasker.mask("s3cr3"), "s3cr3");
    EXPECT_EQ(kMasker.mask(""), "");
    EXPECT_TRUE(kMasker.occurs_in("x%73%33cr3t"));
    EXPECT_FALSE(kMasker.occurs_in("s3cr3 t"));
}

TEST(SecretMasker, EscapeCharactersInsideSecrets) {
    const SecretMasker masker({"a\"b\\c/d\n", "100%", "x+y"});
    EXPECT_EQ(masker.mask(R"({"v":"a\"b\\c\/d\n"})"), R"({"v":"********"})");
    EXPECT_EQ(masker.mask("a%22b%5Cc%2Fd%0A"), "********");
    EXPECT_EQ(masker.mask("100% and 100%25"), "******** and ********");
    EXPECT_EQ(masker.mask("x+y x%2By"), "******** ********");
    EXPECT_EQ(masker.mask("x y"), "x y");   // '+' is a space only where the secret has one
    // Long runs of bytes that read two ways stay linear, not exponential.
    const SecretMasker percents({std::string(40, '%') + "!"});
    EXPECT_EQ(percents.mask(std::string(40, '%') + "?"), std::string(40, '%') + "?");
    EXPECT_EQ(percents.mask(std::string(40, '%') + "!"), "********");
}

TEST(SecretMasker, MaskPrefixNeverLeavesPartOfASecret) {
    // Cut at 10 bytes: the occurrence starting before the cut is masked whole.
    EXPECT_EQ(kMasker.mask_prefix("0123456s3cr3t tail", 10), "0123456********");
    EXPECT_EQ(kMasker.mask_prefix("0123456789s3cr3t", 10), "0123456789");
    EXPECT_EQ(kMasker.mask_prefix("short s3cr3t", 100), "short ********");
    // The cut moves back to a UTF-8 character boundary.
    EXPECT_EQ(kMasker.mask_prefix("abc\xE2\x82\xAC" "def", 5), "abc");
    EXPECT_EQ(SecretMasker().mask_prefix("abcdef", 3), "abc");
}

TEST(SecretMasker, JsonValuesKeepTheirStructure) {
    const JsonValue value = parse_json_text(R"({"s3cr3t": ["s3cr3t", "ok", 1, true, null], "n": 12345})");
    EXPECT_EQ(to_json_text(kMasker.mask_json(value)), R"({"********":["********","ok",1,true,null],"n":12345})");
    const SecretMasker number({"345"});
    EXPECT_EQ(to_json_text(number.mask_json(value)),
              R"({"s3cr3t":["s3cr3t","ok",1,true,null],"n":"********"})");
    // Text: unchanged when nothing occurs, masked and compact when something does,
    // nullopt when it must be masked and is not JSON.
    EXPECT_EQ(kMasker.mask_json_text("{ \"a\" : 1 }"), std::optional<std::string>("{ \"a\" : 1 }"));
    EXPECT_EQ(kMasker.mask_json_text(R"({ "a" : "s3cr3t" })"), std::optional<std::string>(R"({"a":"********"})"));
    EXPECT_EQ(kMasker.mask_json_text("s3cr3t, not JSON"), std::nullopt);
    // Masking never turns JSON into something else.
    EXPECT_EQ(kMasker.mask_json_text(R"(["\u0073\u0033cr3t"])"), std::optional<std::string>(R"(["********"])"));
}

TEST(SecretMasker, NoSecretsMaskNothing) {
    const SecretMasker none;
    EXPECT_EQ(none.mask("%73 \\u0041"), "%73 \\u0041");
    EXPECT_FALSE(none.occurs_in("anything"));
    EXPECT_EQ(SecretMasker({""}).mask("abc"), "abc");
}

// ---- http/crypto

TEST(Crypto, HmacSha256TestVectors) {
    // RFC 4231 test case 2, and the common "quick brown fox" vector.
    EXPECT_EQ(http::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(http::hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog"),
              "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    // Exact bytes: NUL and non-ASCII included; an empty key is allowed.
    EXPECT_EQ(http::hmac_sha256_hex("", ""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    EXPECT_NE(http::hmac_sha256_hex("k", std::string("a\0b", 3)), http::hmac_sha256_hex("k", "a"));
}

TEST(Crypto, Base64) {
    // RFC 4648 section 10.
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}};
    for (const auto &[plain, encoded] : vectors)
        EXPECT_EQ(http::base64_encode(plain), encoded) << plain;
    EXPECT_EQ(http::base64_encode(std::string("\0\xff\xfe", 3)), "AP/+");
    // No line breaks, however long.
    EXPECT_EQ(http::base64_encode(std::string(3000, 'a')).find('\n'), std::string::npos);
    EXPECT_EQ(http::base64_encode(std::string(3000, 'a')).size(), 4000u);
}

}  // namespace
}  // namespace reverse_etl::destinations
