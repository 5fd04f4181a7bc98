// catalog/name_matching ("did you mean" hints and suggest_mappings) and
// catalog/name_rules (what a model, destination or mapping name may contain).
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/name_matching.hpp"
#include "catalog/name_rules.hpp"
#include "test_support.hpp"

namespace reverse_etl::catalog {
namespace {

using test::error_of;
using Names = std::vector<std::string>;

constexpr const char *kNameHint =
    "A name may contain letters of any script, digits, punctuation and spaces between words, but "
    "no control characters, invisible formatting characters, or whitespace at either end.";

std::string suggestion(const std::string &name, const Names &candidates) {
    return closest_name(name, candidates).value_or("(none)");
}

TEST(NameMatching, Tokens) {
    EXPECT_EQ(name_tokens("userID"), (Names{"user", "id"}));
    EXPECT_EQ(name_tokens("userId"), (Names{"user", "id"}));
    EXPECT_EQ(name_tokens("email_address"), (Names{"email", "address"}));
    EXPECT_EQ(name_tokens("line2"), (Names{"line", "2"}));
    EXPECT_EQ(name_tokens("HTTPServer"), (Names{"http", "server"}));
    EXPECT_EQ(name_tokens("ISO8601Date"), (Names{"iso", "8601", "date"}));
    EXPECT_EQ(name_tokens("  first-name.v2 "), (Names{"first", "name", "v", "2"}));
    EXPECT_EQ(name_tokens("__"), Names{});
    // Bytes of non-ASCII characters are letters: names in any script tokenize.
    EXPECT_EQ(name_tokens("prénom_client"), (Names{"prénom", "client"}));
    EXPECT_EQ(name_tokens("Größe"), (Names{"größe"}));
}

TEST(NameMatching, ClosestNameForTyposAndVariants) {
    const Names columns = {"email", "user_id", "first_name", "created_at", "id"};
    EXPECT_EQ(suggestion("emial", columns), "email");          // a transposition is one edit
    EXPECT_EQ(suggestion("EMAIL", columns), "email");
    EXPECT_EQ(suggestion("userId", columns), "user_id");       // case and separators removed
    EXPECT_EQ(suggestion("id_user", columns), "user_id");      // same words, another order
    EXPECT_EQ(suggestion("frist_name", columns), "first_name");
    EXPECT_EQ(suggestion("createdAtt", columns), "created_at");
    EXPECT_EQ(suggestion("ID", columns), "id");                // short names: variants only
    EXPECT_EQ(suggestion("ix", columns), "(none)");
    EXPECT_EQ(suggestion("name", {"page"}), "(none)");         // 2 edits of 4: another word
    EXPECT_EQ(suggestion("phone", columns), "(none)");
    EXPECT_EQ(suggestion("", columns), "(none)");
    EXPECT_EQ(suggestion("__", columns), "(none)");
    EXPECT_EQ(suggestion("email", {}), "(none)");
    // One edit per three characters: "abcdef" allows two.
    EXPECT_EQ(suggestion("abcdef", {"abcdxy"}), "abcdxy");
    EXPECT_EQ(suggestion("abcdef", {"abcxyz"}), "(none)");
}

TEST(NameMatching, ClosestNameTieBreaks) {
    // Equal after normalising: the raw spelling closer to the name wins...
    EXPECT_EQ(suggestion("userId", {"user_id", "userid", "USER_ID"}), "userid");
    EXPECT_EQ(suggestion("user_id", {"UserId", "user_Id"}), "user_Id");
    // ...then the earlier candidate.
    EXPECT_EQ(suggestion("emal", {"email", "emaL"}), "emaL");
    EXPECT_EQ(suggestion("mail", {"maik", "mailx"}), "maik");
    EXPECT_EQ(suggestion("mail", {"mailx", "maik"}), "mailx");
}

std::string describe(const std::vector<ColumnSuggestion> &suggestions) {
    std::string text;
    for (const ColumnSuggestion &suggestion : suggestions) {
        char score[16];
        std::snprintf(score, sizeof score, "%.2f", suggestion.score);
        text += (text.empty() ? "" : ", ") + suggestion.field + "<-" + suggestion.column + " " + score;
    }
    return text;
}

TEST(NameMatching, SuggestColumnsForSegmentFields) {
    const Names fields = {"userId", "anonymousId", "traits", "timestamp"};
    const Names columns = {"id", "email", "device_id", "updated_at", "user_attributes"};
    // Related concepts and synonyms, each column used once, best pairs first.
    EXPECT_EQ(describe(suggest_columns(fields, columns)),
              "userId<-id 0.75, anonymousId<-device_id 0.90, traits<-user_attributes 0.90, "
              "timestamp<-updated_at 0.70");
}

TEST(NameMatching, SuggestColumnsScores) {
    // Same name up to case and separators: 1.
    EXPECT_EQ(describe(suggest_columns({"email_address"}, {"EmailAddress"})), "email_address<-EmailAddress 1.00");
    // Synonyms: 0.9.
    EXPECT_EQ(describe(suggest_columns({"email"}, {"mail"})), "email<-mail 0.90");
    EXPECT_EQ(describe(suggest_columns({"firstName"}, {"given_name"})), "firstName<-given_name 0.90");
    EXPECT_EQ(describe(suggest_columns({"phone"}, {"mobile_number"})), "phone<-mobile_number 0.90");
    // Singular and plural.
    EXPECT_EQ(describe(suggest_columns({"properties"}, {"property"})), "properties<-property 0.90");
    // A one-letter slip in a long name.
    EXPECT_EQ(describe(suggest_columns({"address"}, {"adress"})), "address<-adress 0.80");
    // Entity words count for less: user_email is not a user id.
    EXPECT_EQ(describe(suggest_columns({"userId"}, {"user_email"})), "");
    EXPECT_EQ(describe(suggest_columns({"plan"}, {"zip"})), "");
    EXPECT_EQ(describe(suggest_columns({}, {"zip"})), "");
    EXPECT_EQ(describe(suggest_columns({"zip"}, {})), "");
}

TEST(NameMatching, SuggestColumnsAssignsEachColumnOnce) {
    // Both fields want "email"; the better pair takes it, the other gets the next best.
    const auto suggestions = suggest_columns({"mail", "email"}, {"email", "email_address"});
    EXPECT_EQ(describe(suggestions), "mail<-email_address 0.90, email<-email 1.00");
    // Ties go to the earlier field.
    EXPECT_EQ(describe(suggest_columns({"Email", "EMAIL"}, {"email"})), "Email<-email 1.00");
}

// ---- name rules

void expect_name_error(const std::string &name, const std::string &message, const std::string &detail = {}) {
    const Error error = error_of([&] { check_name_text("model", name); });
    EXPECT_EQ(error.sqlstate(), "22023") << testing::PrintToString(name);
    EXPECT_EQ(error.message(), message) << testing::PrintToString(name);
    EXPECT_EQ(error.detail(), detail) << testing::PrintToString(name);
}

TEST(NameRules, AcceptsTextOfAnyScript) {
    for (const char *name : {"users", "Active users (EU) — 2026", "顧客 一覧", "مستخدمون", "emoji 🚀",
                             "a", "x\xCC\x81", "tab-free name", "\xF4\x8F\xBF\xBF"})
        EXPECT_NO_THROW(check_name_text("model", name)) << name;
    EXPECT_NO_THROW(check_name_text("model", std::string(128, 'x')));
    EXPECT_NO_THROW(check_name_text("model", std::string(128 / 2, 'x') + std::string(64, 'y')));
    // 128 characters, not bytes.
    std::string wide;
    for (int i = 0; i < 128; ++i)
        wide += "\xE6\x97\xA5";
    EXPECT_NO_THROW(check_name_text("model", wide));
}

TEST(NameRules, Length) {
    const Error error = error_of([] { check_name_text("destination", ""); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "destination name must be 1 to 128 characters long");
    EXPECT_EQ(error.detail(), "The name given has 0 characters.");
    EXPECT_EQ(error_of([] { check_name_text("mapping", std::string(129, 'x')); }).detail(),
              "The name given has 129 characters.");
    std::string wide;
    for (int i = 0; i < 129; ++i)
        wide += "\xF0\x9F\x9A\x80";
    EXPECT_EQ(error_of([&] { check_name_text("mapping", wide); }).detail(), "The name given has 129 characters.");
}

TEST(NameRules, ForbiddenCharactersAreNamedWithTheirPosition) {
    expect_name_error("a\nb", "model name contains control character U+000A at position 2");
    expect_name_error("a\tb", "model name contains control character U+0009 at position 2");
    expect_name_error(std::string("ab\0", 3), "model name contains control character U+0000 at position 3");
    expect_name_error("x\x7f", "model name contains control character U+007F at position 2");
    expect_name_error("é\xC2\x85", "model name contains control character U+0085 at position 2");
    expect_name_error("a\xE2\x80\xA8", "model name contains line separator U+2028 at position 2");
    expect_name_error("a\xE2\x80\xA9", "model name contains paragraph separator U+2029 at position 2");
    expect_name_error("pay\xE2\x80\xAEtxt.exe", "model name contains invisible formatting character U+202E at position 4");
    expect_name_error("zero\xE2\x80\x8Bwidth", "model name contains invisible formatting character U+200B at position 5");
    expect_name_error("\xEF\xBB\xBFname", "model name contains invisible formatting character U+FEFF at position 1");
    expect_name_error("soft\xC2\xADhyphen", "model name contains invisible formatting character U+00AD at position 5");
    expect_name_error("tag\xF3\xA0\x80\x81", "model name contains invisible formatting character U+E0001 at position 4");
    const Error error = error_of([] { check_name_text("model", "a\nb"); });
    EXPECT_EQ(error.hint(), kNameHint);
}

TEST(NameRules, WhitespaceOnlyBetweenWords) {
    expect_name_error(" ", "model name must not be blank", "The name consists only of whitespace.");
    expect_name_error("\xE3\x80\x80\xC2\xA0", "model name must not be blank", "The name consists only of whitespace.");
    expect_name_error(" users", "model name begins with whitespace U+0020 at position 1");
    expect_name_error("users\xC2\xA0", "model name ends with whitespace U+00A0 at position 6");
    expect_name_error("日本\xE3\x80\x80", "model name ends with whitespace U+3000 at position 3");
    EXPECT_NO_THROW(check_name_text("model", "two\xC2\xA0words"));
}

TEST(NameRules, BytesThatAreNotUtf8CountAsOrdinaryCharacters) {
    // A SQL_ASCII database may hold them; each byte is one character.
    EXPECT_NO_THROW(check_name_text("model", "caf\xE9"));
    EXPECT_NO_THROW(check_name_text("model", "\xC0\x80"));          // overlong NUL: two bytes, no NUL
    EXPECT_NO_THROW(check_name_text("model", "\xED\xA0\x80"));      // an encoded surrogate
    EXPECT_EQ(error_of([] { check_name_text("model", std::string(129, '\xFF')); }).detail(),
              "The name given has 129 characters.");
    expect_name_error("\xFF\n", "model name contains control character U+000A at position 2");
}

}  // namespace
}  // namespace reverse_etl::catalog
