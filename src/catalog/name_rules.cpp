#include "catalog/name_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <optional>
#include <vector>

#include "common/error.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr size_t kMaxNameCharacters = 128;

const char *const kNameHint =
    "A name may contain letters of any script, digits, punctuation and spaces between words, but "
    "no control characters, invisible formatting characters, or whitespace at either end.";

struct Range {
    char32_t first;
    char32_t last;
};

// Unicode general category Cf (format characters), Unicode 15.1, from
// UnicodeData.txt. All are invisible; some reorder the text around them
// (U+200E/U+200F marks, U+202A..U+202E embeddings and overrides, U+2066..U+2069
// isolates), which makes a name display as something else.
constexpr Range kFormatCharacters[] = {
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
    {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
};

// The Unicode White_Space property (PropList.txt) minus its control characters,
// which are refused anywhere.
constexpr Range kWhitespace[] = {
    {0x0020, 0x0020}, {0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

template <size_t N>
bool in_ranges(const Range (&ranges)[N], char32_t c) {
    return std::any_of(std::begin(ranges), std::end(ranges),
                       [c](const Range &range) { return c >= range.first && c <= range.last; });
}

bool is_control(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }
bool is_whitespace(char32_t c) { return in_ranges(kWhitespace, c); }

// One character of the name; `code` is meaningless when `valid` is false (a
// byte that does not start a well-formed UTF-8 sequence).
struct Character {
    char32_t code = 0;
    bool valid = false;
};

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
size_t decode_one(const std::string &text, size_t at, Character &out) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    out = Character{lead, lead < 0x80};
    if (lead < 0x80)
        return 1;
    size_t length = 0;
    char32_t code = 0, minimum = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, code = lead & 0x1F, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, code = lead & 0x0F, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, code = lead & 0x07, minimum = 0x10000;
    } else {
        return 1;
    }
    if (at + length > text.size())
        return 1;
    for (size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80)
            return 1;
        code = (code << 6) | (byte(at + i) & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 1;
    out = Character{code, true};
    return length;
}

std::vector<Character> decode(const std::string &text) {
    std::vector<Character> characters;
    for (size_t at = 0; at < text.size();) {
        Character c;
        at += decode_one(text, at, c);
        characters.push_back(c);
    }
    return characters;
}

std::string code_point(char32_t c) {
    char text[16];
    std::snprintf(text, sizeof text, "U+%04X", static_cast<unsigned int>(c));
    return text;
}

// What kind of character must not appear anywhere in a name, if any.
std::optional<std::string> forbidden_kind(const Character &c) {
    if (!c.valid)
        return std::nullopt;
    if (is_control(c.code))
        return "control character";
    if (c.code == 0x2028)
        return "line separator";
    if (c.code == 0x2029)
        return "paragraph separator";
    if (in_ranges(kFormatCharacters, c.code))
        return "invisible formatting character";
    return std::nullopt;
}

bool is_blank(const Character &c) { return c.valid && is_whitespace(c.code); }

Error bad_name(const std::string &kind, const std::string &message, std::string detail = {}) {
    return Error(sqlstate::kInvalidParameterValue, kind + " name " + message, std::move(detail),
                 kNameHint);
}

}  // namespace

void check_name_text(const std::string &kind, const std::string &utf8_name) {
    const std::vector<Character> characters = decode(utf8_name);
    if (characters.empty() || characters.size() > kMaxNameCharacters)
        throw Error(sqlstate::kInvalidParameterValue, kind + " name must be 1 to 128 characters long",
                    "The name given has " + std::to_string(characters.size()) + " characters.");
    for (size_t i = 0; i < characters.size(); ++i)
        if (const std::optional<std::string> what = forbidden_kind(characters[i]))
            throw bad_name(kind, "contains " + *what + " " + code_point(characters[i].code) +
                                     " at position " + std::to_string(i + 1));
    if (std::all_of(characters.begin(), characters.end(), is_blank))
        throw bad_name(kind, "must not be blank", "The name consists only of whitespace.");
    if (is_blank(characters.front()))
        throw bad_name(kind, "begins with whitespace " + code_point(characters.front().code) +
                                 " at position 1");
    if (is_blank(characters.back()))
        throw bad_name(kind, "ends with whitespace " + code_point(characters.back().code) +
                                 " at position " + std::to_string(characters.size()));
}

}  // namespace reverse_etl::catalog
