// Fuzzy name matching for the catalog: "did you mean" hints in error messages
// and reverse_etl.suggest_mappings(). Pure C++; no PostgreSQL or JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reverse_etl::catalog {

// The lower-case alphanumeric tokens of a name, split on any other character
// (`_`, `-`, space, `.`...), on camelCase and on letter/digit boundaries:
// "userID" -> {user, id}, "email_address" -> {email, address}, "line2" -> {line, 2}.
std::vector<std::string> name_tokens(const std::string &name);

// The candidate closest to `name` when it is a plausible typo or a case/separator
// variant of it, else nullopt. Names are compared with separators and case removed
// ("user_id" == "userId"); a typo may cost about one edit per three characters
// (transpositions count once), and the same words in another order ("id_user")
// count as one edit. Ties go to the candidate whose raw spelling is closer, then
// to the earlier candidate. Names shorter than three characters only match variants.
std::optional<std::string> closest_name(const std::string &name,
                                        const std::vector<std::string> &candidates);

struct ColumnSuggestion {
    std::string field;
    std::string column;
    double score;   // in [0.5, 1], rounded to two decimals; 1 = same name up to case and separators
};

// For each field (in the given order) the model column that best matches it, using
// case and separator normalisation, common synonyms (email/email_address/mail,
// phone/mobile, first_name/given_name, amount/value/total, user_id/external_id...)
// and shared words. Pairs are assigned best-first, so each field and each column
// appears at most once; fields with no column scoring 0.5 or more are left out.
// Deterministic: ties go to the earlier field, then the earlier column.
std::vector<ColumnSuggestion> suggest_columns(const std::vector<std::string> &fields,
                                              const std::vector<std::string> &columns);

}  // namespace reverse_etl::catalog
