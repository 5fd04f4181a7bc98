#include "catalog/name_matching.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace reverse_etl::catalog {

namespace {

// ASCII-only classification: bytes of multi-byte UTF-8 characters count as
// letters, so non-English names still tokenize instead of vanishing.
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) {
    return is_upper(c) || is_lower(c) || is_digit(c) || static_cast<unsigned char>(c) >= 0x80;
}
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(const std::string &text) {
    std::string result = text;
    std::transform(result.begin(), result.end(), result.begin(), to_lower);
    return result;
}

// Whether name[i] begins a new word although name[i - 1] is a word character.
bool starts_word(const std::string &name, std::size_t i) {
    const char previous = name[i - 1];
    const char current = name[i];
    const char next = i + 1 < name.size() ? name[i + 1] : '\0';
    if (is_upper(current) && (is_lower(previous) || is_digit(previous)))
        return true;   // userId
    if (is_upper(current) && is_upper(previous) && is_lower(next))
        return true;   // HTTPServer: the S starts "Server"
    return is_digit(current) != is_digit(previous);   // line2
}

std::string join(const std::vector<std::string> &tokens) {
    std::string result;
    for (const std::string &token : tokens)
        result += token;
    return result;
}

// The name with case and separators removed: "User_ID" -> "userid".
std::string compact(const std::string &name) { return join(name_tokens(name)); }

// Optimal string alignment distance: Levenshtein plus adjacent transpositions,
// so "emial" is one edit from "email", as a person would count it.
std::size_t edit_distance(const std::string &a, const std::string &b) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

// About one edit per three characters: "emial" (1 of 5) is a typo, "name" vs
// "page" (2 of 4) is a different word.
std::size_t allowed_edits(std::size_t length) {
    return length < 3 ? 0 : std::max<std::size_t>(1, length / 3);
}

std::vector<std::string> sorted(std::vector<std::string> tokens) {
    std::sort(tokens.begin(), tokens.end());
    return tokens;
}

// ---------------------------------------------------------------------------
// Column suggestions
//
// A name becomes a list of terms: its tokens, singularised, with any run of
// tokens that spells a known synonym replaced by one term for the whole group
// ("given_name" and "firstName" both become "#firstname"). Two names then score
// 1 when they are equal up to case and separators, 0.9 when their terms are
// equal, a fixed score for a few related concepts (userId -> id), and otherwise
// 0.85 times the weighted overlap of their terms.

// Each line is one group of names that mean the same, in compact form; the first
// names the group. Longer spellings win over shorter ones inside a name, so
// "company_name" is a company and "organization_id" a group id.
constexpr const char *kSynonymGroups[] = {
    "email emailaddress emailaddr mail",
    "phone phonenumber phoneno phonenum mobile mobilephone mobilenumber cell cellphone "
    "cellnumber telephone tel",
    "firstname givenname fname forename",
    "lastname familyname surname lname",
    "name fullname displayname contactname",
    "username login loginname handle screenname",
    "company companyname organization organisation organizationname organisationname org "
    "accountname business businessname",
    "userid uid externalid externaluserid customerid memberid contactid personid useruuid",
    "anonymousid anonid anonymoususerid deviceid visitorid cookieid",
    "groupid accountid companyid organizationid organisationid orgid teamid workspaceid",
    "amount transactionamount totalamount orderamount amountpaid value total ordertotal price "
    "revenue",
    "createdat created createdon createddate creationdate createdtime signupdate signupat "
    "signedupat signuptime registeredat registrationdate joinedat",
    "updatedat updated updatedon modifiedat lastmodified lastmodifiedat lastupdated "
    "lastupdatedat",
    "timestamp ts eventtime eventtimestamp occurredat time datetime",
    "timezone tz",
    "event eventname eventtype",
    "traits usertraits attributes userattributes userproperties profile",
    "properties props eventproperties",
    "title jobtitle",
    "address streetaddress street address1 addressline1",
    "city town",
    "state region province",
    "country countrycode",
    "postalcode zip zipcode postcode",
    "website url homepage domain",
    "birthday dateofbirth dob birthdate",
    "currency currencycode",
    "quantity qty units",
    "avatar avatarurl photo photourl picture pictureurl image imageurl",
    "description desc summary",
    "plan subscriptionplan planname tier",
    "gender sex",
};

// Concepts that are not the same but often stand in for each other, as single terms.
struct Relation {
    const char *a;
    const char *b;
    double score;
};
constexpr Relation kRelations[] = {
    {"#userid", "id", 0.75},        {"#userid", "uuid", 0.7},
    {"#groupid", "id", 0.7},        {"#timestamp", "#createdat", 0.7},
    {"#timestamp", "#updatedat", 0.7}, {"#traits", "#properties", 0.6},
};

// Tokens that say little about what a name means, and entity words that say
// whose it is rather than what: both count for less in the overlap, so
// "user_email" is not suggested for userId.
double term_weight(const std::string &term) {
    static const char *const kWeak[] = {"id",   "at",   "on",  "is", "has", "number", "no",
                                        "num",  "code", "key", "date", "type", "by",  "of",
                                        "the",  "flag"};
    static const char *const kEntity[] = {"user",   "customer", "account", "contact",
                                          "person", "member",   "client"};
    for (const char *weak : kWeak)
        if (term == weak)
            return 0.4;
    for (const char *entity : kEntity)
        if (term == entity)
            return 0.6;
    return 1.0;
}

// "traits" -> "trait", "properties" -> "property"; leaves "address", "status".
std::string singular(std::string word) {
    const auto ends_with = [&word](const char *suffix) {
        const std::string s(suffix);
        return word.size() >= s.size() && word.compare(word.size() - s.size(), s.size(), s) == 0;
    };
    if (word.size() > 4 && ends_with("ies"))
        return word.substr(0, word.size() - 3) + "y";
    if (word.size() > 3 && ends_with("s") && !ends_with("ss") && !ends_with("us") &&
        !ends_with("is"))
        word.pop_back();
    return word;
}

// Singular compact spelling -> "#" + the group's first name.
const std::unordered_map<std::string, std::string> &synonym_index() {
    static const std::unordered_map<std::string, std::string> index = [] {
        std::unordered_map<std::string, std::string> built;
        for (const char *group : kSynonymGroups) {
            std::istringstream names(group);
            std::string name;
            std::string group_term;
            while (names >> name) {
                if (group_term.empty())
                    group_term = "#" + name;
                built.emplace(singular(name), group_term);
            }
        }
        return built;
    }();
    return index;
}

// The terms of a name: tokens singularised, longest synonym runs replaced.
std::vector<std::string> name_terms(const std::string &name) {
    std::vector<std::string> tokens = name_tokens(name);
    for (std::string &token : tokens)
        token = singular(token);
    const auto &index = synonym_index();
    std::vector<std::string> terms;
    for (std::size_t begin = 0; begin < tokens.size();) {
        std::size_t end = tokens.size();
        for (; end > begin; --end) {
            const std::vector<std::string> run(tokens.begin() + begin, tokens.begin() + end);
            const auto group = index.find(join(run));
            if (group != index.end()) {
                terms.push_back(group->second);
                break;
            }
        }
        if (end == begin) {   // no synonym starts here
            terms.push_back(tokens[begin]);
            end = begin + 1;
        }
        begin = end;
    }
    return terms;
}

struct NameInfo {
    std::string compact;
    std::vector<std::string> terms;
};

NameInfo describe(const std::string &name) { return {compact(name), name_terms(name)}; }

double total_weight(const std::vector<std::string> &terms) {
    double total = 0;
    for (const std::string &term : terms)
        total += term_weight(term);
    return total;
}

// How much of a term `b` gives to `a`: all when equal, most for a one-letter
// typo in a long plain word ("adress"), nothing otherwise.
double term_credit(const std::string &a, const std::string &b) {
    if (a == b)
        return term_weight(a);
    const bool plain = a[0] != '#' && b[0] != '#';
    if (plain && a.size() >= 5 && b.size() >= 5 && edit_distance(a, b) == 1)
        return 0.8 * std::min(term_weight(a), term_weight(b));
    return 0;
}

// Weighted Dice coefficient of the two term lists, each term used once.
double overlap(const std::vector<std::string> &a, const std::vector<std::string> &b) {
    const double total = total_weight(a) + total_weight(b);
    if (total == 0)
        return 0;
    std::vector<bool> used(b.size(), false);
    double shared = 0;
    for (const std::string &term : a) {
        double best = 0;
        std::size_t best_index = b.size();
        for (std::size_t j = 0; j < b.size(); ++j) {
            const double credit = used[j] ? 0 : term_credit(term, b[j]);
            if (credit > best) {
                best = credit;
                best_index = j;
            }
        }
        if (best_index < b.size()) {
            used[best_index] = true;
            shared += best;
        }
    }
    return 2 * shared / total;
}

double relation_score(const std::vector<std::string> &a, const std::vector<std::string> &b) {
    if (a.size() != 1 || b.size() != 1)
        return 0;
    for (const Relation &relation : kRelations)
        if ((a[0] == relation.a && b[0] == relation.b) || (a[0] == relation.b && b[0] == relation.a))
            return relation.score;
    return 0;
}

// A one-letter slip in a name of five or more characters ("adress").
double typo_score(const NameInfo &field, const NameInfo &column) {
    const bool long_enough = field.compact.size() >= 5 && column.compact.size() >= 5;
    return long_enough && edit_distance(field.compact, column.compact) == 1 ? 0.8 : 0;
}

double pair_score(const NameInfo &field, const NameInfo &column) {
    if (!field.compact.empty() && field.compact == column.compact)
        return 1.0;
    if (!field.terms.empty() && field.terms == column.terms)
        return 0.9;
    return std::max({relation_score(field.terms, column.terms), typo_score(field, column),
                     0.85 * overlap(field.terms, column.terms)});
}

// Two decimals keep the scores readable and stable in test output.
double rounded(double score) { return std::round(score * 100) / 100; }

}  // namespace

std::vector<std::string> name_tokens(const std::string &name) {
    std::vector<std::string> tokens;
    std::string current;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const bool word_char = is_word_char(name[i]);
        if (!current.empty() && (!word_char || starts_word(name, i))) {
            tokens.push_back(current);
            current.clear();
        }
        if (word_char)
            current += to_lower(name[i]);
    }
    if (!current.empty())
        tokens.push_back(current);
    return tokens;
}

std::optional<std::string> closest_name(const std::string &name,
                                        const std::vector<std::string> &candidates) {
    const std::string wanted = compact(name);
    if (wanted.empty())
        return std::nullopt;
    const std::vector<std::string> wanted_words = sorted(name_tokens(name));
    const std::size_t limit = allowed_edits(wanted.size());

    // (edits, raw edits, position): smaller is closer.
    std::optional<std::tuple<std::size_t, std::size_t, std::size_t>> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        std::size_t edits = edit_distance(wanted, compact(candidates[i]));
        if (edits > 1 && wanted_words.size() > 1 && wanted_words == sorted(name_tokens(candidates[i])))
            edits = 1;   // same words, another order
        if (edits > limit)
            continue;
        const auto key = std::make_tuple(edits, edit_distance(lower(name), lower(candidates[i])), i);
        if (!best || key < *best)
            best = key;
    }
    if (!best)
        return std::nullopt;
    return candidates[std::get<2>(*best)];
}

std::vector<ColumnSuggestion> suggest_columns(const std::vector<std::string> &fields,
                                              const std::vector<std::string> &columns) {
    std::vector<NameInfo> column_info;
    column_info.reserve(columns.size());
    for (const std::string &column : columns)
        column_info.push_back(describe(column));

    struct Candidate {
        double score;
        std::size_t field;
        std::size_t column;
    };
    std::vector<Candidate> candidates;
    for (std::size_t f = 0; f < fields.size(); ++f) {
        const NameInfo field = describe(fields[f]);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const double score = rounded(pair_score(field, column_info[c]));
            if (score >= 0.5)
                candidates.push_back({score, f, c});
        }
    }
    // Best pairs first; ties to the earlier field, then the earlier column.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate &a, const Candidate &b) {
        return std::make_tuple(-a.score, a.field, a.column) < std::make_tuple(-b.score, b.field, b.column);
    });

    std::vector<std::optional<Candidate>> chosen(fields.size());
    std::vector<bool> column_taken(columns.size(), false);
    for (const Candidate &candidate : candidates) {
        if (chosen[candidate.field] || column_taken[candidate.column])
            continue;
        chosen[candidate.field] = candidate;
        column_taken[candidate.column] = true;
    }

    std::vector<ColumnSuggestion> suggestions;
    for (const auto &pick : chosen)
        if (pick)
            suggestions.push_back({fields[pick->field], columns[pick->column], pick->score});
    return suggestions;
}

}  // namespace reverse_etl::catalog
