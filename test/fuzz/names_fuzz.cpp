// Names: the rules for the names of models, destinations and mappings
// (catalog/name_rules, over UTF-8 or any bytes), and the fuzzy matching behind
// "did you mean" hints and suggest_mappings() (catalog/name_matching), which
// reads user-chosen keys and column names. Input: lines; the first is the
// name, all of them are field names or column names.
#include <algorithm>
#include <string>
#include <vector>

#include "catalog/name_matching.hpp"
#include "catalog/name_rules.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    std::vector<std::string> lines = fuzz::split(text, '\n');
    const std::string name = lines.front();
    // Matching scores every pair of names, each in quadratic time: a few names
    // of at most 63 bytes (PostgreSQL's limit for identifiers) keep runs fast;
    // the name rules below see the whole first line.
    lines.resize(std::min<size_t>(lines.size(), 4));
    for (std::string &line : lines)
        line.resize(std::min<size_t>(line.size(), 63));
    try {
        catalog::check_name_text("model", name);
        FUZZ_CHECK(!name.empty(), "an empty name was accepted");
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "check_name_text");
    }
    for (const std::string &token : catalog::name_tokens(name))
        FUZZ_CHECK(!token.empty(), "an empty token");

    static const std::vector<std::string> known = {"userId", "anonymousId", "traits", "email_address", "first_name",
                                                   "write_key", "endpoint", "batch_size", "identify", "id"};
    if (const std::optional<std::string> close = catalog::closest_name(lines.front(), known))
        FUZZ_CHECK(std::find(known.begin(), known.end(), *close) != known.end(), "suggested a name not offered");
    (void)catalog::closest_name(lines.front(), lines);

    // Some of the model's columns: every pair is scored, slowly under the sanitizers.
    static const std::vector<std::string> columns = {"id", "email", "first_name", "plan", "mrr",
                                                     "signed_up_at", "traits", "user_id"};
    for (const auto &[fields, candidates] : {std::pair{lines, columns}, std::pair{known, lines}}) {
        const std::vector<catalog::ColumnSuggestion> suggestions = catalog::suggest_columns(fields, candidates);
        std::vector<std::string> used_fields, used_columns;
        for (const catalog::ColumnSuggestion &suggestion : suggestions) {
            FUZZ_CHECK(suggestion.score >= 0.5 && suggestion.score <= 1.0, "score out of range");
            FUZZ_CHECK(std::find(used_fields.begin(), used_fields.end(), suggestion.field) == used_fields.end() ||
                           std::count(fields.begin(), fields.end(), suggestion.field) > 1,
                       "a field suggested twice");
            FUZZ_CHECK(std::find(used_columns.begin(), used_columns.end(), suggestion.column) == used_columns.end() ||
                           std::count(candidates.begin(), candidates.end(), suggestion.column) > 1,
                       "a column suggested twice");
            used_fields.push_back(suggestion.field);
            used_columns.push_back(suggestion.column);
        }
    }
    return 0;
}
