// Finds a destination's secrets in text that came back from it or went to it,
// in any form they travel in, and masks them as "********": what run history,
// record errors and send_test_record keep or show (SPEC section 9: secrets are
// never written to logs or run history). Pure C++: no libcurl, no PostgreSQL.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_text.hpp"

namespace reverse_etl::destinations {

class SecretMasker {
  public:
    SecretMasker() = default;
    // `secrets` are the texts to hide as they are before any encoding (a
    // token, a password, the base64 of a Basic auth pair); empty ones are
    // ignored.
    explicit SecretMasker(std::vector<std::string> secrets);

    // This masker's secrets and one more (an access token fetched at run time).
    SecretMasker with(std::string secret) const;

    // The text with every occurrence of a secret replaced by "********".
    // An occurrence may be written raw or with any mix, character by
    // character, of percent-encoding (%XX in either case, '+' for a space) and
    // JSON string escapes (\" \\ \/ \n ..., \uXXXX in either case, surrogate
    // pairs included). Overlapping occurrences become one mask.
    std::string mask(std::string_view text) const;

    // At most the first `limit` bytes of `text` (cut back to a UTF-8
    // character boundary), masked. An occurrence that starts before the cut
    // is masked whole, so no part of a secret is left at the end. Reads no
    // further than the longest occurrence could reach past the cut.
    std::string mask_prefix(std::string_view text, size_t limit) const;

    // Whether `text` holds an occurrence: a scan, no copy.
    bool occurs_in(std::string_view text) const;

    // A copy of a JSON value whose strings (member names included) are
    // masked; a number that is a secret becomes the string "********". The
    // structure is kept, which masking its text could break.
    JsonValue mask_json(const JsonValue &value) const;

    // JSON text with its strings masked: the text itself when nothing
    // occurs in it (the common case, one scan), else parsed, masked and
    // written compact. nullopt when it must be masked and is not JSON.
    std::optional<std::string> mask_json_text(std::string_view json) const;

  private:
    // [begin, end) byte ranges of `text` that hold secrets, merged, in order;
    // only occurrences starting before `starts_before` are looked for.
    std::vector<std::pair<size_t, size_t>> occurrences(std::string_view text, size_t starts_before) const;
    // The end of the longest occurrence that starts at `at`, or `at` if none.
    size_t longest_at(std::string_view text, size_t at) const;

    std::vector<std::string> secrets_;
    std::array<bool, 256> may_start_{};   // bytes an occurrence can start with
    size_t max_span_ = 0;                 // the most bytes one occurrence can take in text
};

}  // namespace reverse_etl::destinations
