#include "catalog/field_conversion.hpp"

#include <algorithm>
#include <string_view>

#include "common/json_text.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr std::size_t kNone = std::string::npos;

// The kind of a compact JSON value from its first character.

const char *value_phrase(JsonKind kind) {
    switch (kind) {
    case JsonKind::Null: return "null";
    case JsonKind::Boolean: return "a boolean";
    case JsonKind::Number: return "a number";
    case JsonKind::String: return "a string";
    case JsonKind::Array: return "a JSON array";
    case JsonKind::Object: return "a JSON object";
    }
    return "a value";
}

}  // namespace

const char *field_type_phrase(FieldType type) noexcept {
    switch (type) {
    case FieldType::String: return "a string";
    case FieldType::Number: return "a number";
    case FieldType::Integer: return "an integer";
    case FieldType::Boolean: return "a boolean";
    case FieldType::Datetime: return "a datetime";
    case FieldType::Object: return "an object";
    case FieldType::Array: return "an array";
    case FieldType::Any: return "any value";
    }
    return "a value";
}

namespace {

std::string cannot_send(JsonKind kind, FieldType type) {
    return std::string(value_phrase(kind)) + " cannot be sent as " + field_type_phrase(type);
}

// A value as a reason shows it: its JSON text, cut after 40 bytes (at a UTF-8
// character boundary: reasons are stored as text in the database's encoding).
constexpr std::size_t kShownBytes = 40;

std::string shown(std::string_view json) {
    if (json.size() <= kShownBytes)
        return std::string(json);
    std::size_t cut = kShownBytes;
    while (cut > 0 && (static_cast<unsigned char>(json[cut]) & 0xC0) == 0x80)
        --cut;
    return std::string(json.substr(0, cut)) + "...";
}

std::string_view value_at(const std::string &json, std::size_t start) {
    return std::string_view(json).substr(start);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ---------------------------------------------------------------------------
// Strings

// The content of the string value at `start`. A string written with escapes
// ("\u0034\u0032") is first rewritten with only the escapes JSON requires, so
// its content reads as it means ("42"). nullopt when the content still needs
// escapes (a quote, a backslash, a control character): such text is never a
// number, a boolean or a datetime.
std::optional<std::string_view> plain_content(std::string &json, std::size_t start) {
    if (value_at(json, start).find('\\') != kNone) {
        const std::optional<JsonValue> value = try_parse_json_text(value_at(json, start));
        if (!value || value->kind() != JsonKind::String)
            return std::nullopt;
        const std::string content = value->string_value();
        json.resize(start);
        append_json_string(json, content);
        if (value_at(json, start).find('\\') != kNone)
            return std::nullopt;
    }
    const std::string_view token = value_at(json, start);
    return token.substr(1, token.size() - 2);
}

void unquote(std::string &json, std::size_t start) {
    json.erase(start, 1);
    json.pop_back();
}

std::string the_string(const std::string &json, std::size_t start) {
    return "the string " + shown(value_at(json, start));
}

// ---------------------------------------------------------------------------
// Numbers

// A JSON number (RFC 8259 grammar exactly: no "+", no leading zeros, no bare
// "." or "5."), as offsets into its text.
struct NumberText {
    bool negative = false;
    std::size_t int_begin = 0, int_end = 0;
    std::size_t frac_begin = 0, frac_end = 0;   // empty without a fraction
    long long exponent = 0;                      // saturated at +-kExponentCap
};

constexpr long long kExponentCap = 1000000;

std::optional<NumberText> parse_number(std::string_view text) {
    NumberText number;
    std::size_t pos = 0;
    const auto skip_digits = [&text, &pos] {
        const std::size_t from = pos;
        while (pos < text.size() && is_digit(text[pos]))
            ++pos;
        return pos - from;
    };
    if (pos < text.size() && text[pos] == '-') {
        number.negative = true;
        ++pos;
    }
    number.int_begin = pos;
    const std::size_t int_digits = skip_digits();
    if (int_digits == 0 || (int_digits > 1 && text[number.int_begin] == '0'))
        return std::nullopt;
    number.int_end = pos;
    if (pos < text.size() && text[pos] == '.') {
        number.frac_begin = ++pos;
        if (skip_digits() == 0)
            return std::nullopt;
        number.frac_end = pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        bool negative_exponent = false;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
            negative_exponent = text[pos++] == '-';
        const std::size_t from = pos;
        if (skip_digits() == 0)
            return std::nullopt;
        long long exponent = 0;
        for (std::size_t i = from; i < pos; ++i)
            exponent = std::min(kExponentCap, exponent * 10 + (text[i] - '0'));
        number.exponent = negative_exponent ? -exponent : exponent;
    }
    if (pos != text.size())
        return std::nullopt;
    return number;
}

// An integer field takes any whole number, in plain digits: 42.00 and 4.2e1 are 42.
// Expanding an exponent is capped, so 1e999999 cannot make a megabyte of zeros.
constexpr std::size_t kMaxIntegerDigits = 1000;

enum class Whole { Written, Fraction, TooLong };

// Writes the number whose text starts at json[from] as plain integer digits
// from json[start] on (start <= from). Every digit moves left or stays, so it is
// copied in place; nothing is written unless the number is whole.
Whole write_integer(std::string &json, std::size_t start, std::size_t from, const NumberText &number) {
    const std::size_t int_count = number.int_end - number.int_begin;
    const std::size_t frac_count = number.frac_end - number.frac_begin;
    const std::size_t total = int_count + frac_count;
    // All the digits, as if the decimal point were not there.
    const auto digit = [&](std::size_t k) {
        return k < int_count ? json[from + number.int_begin + k]
                             : json[from + number.frac_begin + (k - int_count)];
    };
    std::size_t first = 0;
    while (first < total && digit(first) == '0')
        ++first;
    if (first == total) {
        json.resize(start);
        json += '0';
        return Whole::Written;
    }
    // The value is digits * 10^shift.
    const long long shift = number.exponent - static_cast<long long>(frac_count);
    std::size_t end = total;
    std::size_t zeros = 0;
    if (shift < 0) {
        const long long kept = static_cast<long long>(total) + shift;
        if (kept <= static_cast<long long>(first))
            return Whole::Fraction;
        end = static_cast<std::size_t>(kept);
        for (std::size_t k = end; k < total; ++k)
            if (digit(k) != '0')
                return Whole::Fraction;
    } else {
        zeros = static_cast<std::size_t>(shift);
    }
    if (end - first + zeros > kMaxIntegerDigits)
        return Whole::TooLong;
    std::size_t write = start;
    if (number.negative)
        json[write++] = '-';
    for (std::size_t k = first; k < end; ++k)
        json[write++] = digit(k);
    json.resize(write);
    json.append(zeros, '0');
    return Whole::Written;
}

// A number read from a string (`from` is past the quote) is named as "the string
// \"4.2\"" in a reason, built only then: write_integer leaves a refused value as it was.
std::optional<std::string> to_integer(std::string &json, std::size_t start, std::size_t from,
                                      const NumberText &number) {
    const Whole whole = write_integer(json, start, from, number);
    if (whole == Whole::Written)
        return std::nullopt;
    const std::string what = from > start ? the_string(json, start) : shown(value_at(json, start));
    switch (whole) {
    case Whole::Written: return std::nullopt;
    case Whole::Fraction: return what + " is not an integer";
    case Whole::TooLong:
        return what + " has more than " + std::to_string(kMaxIntegerDigits) + " digits as an integer";
    }
    return std::nullopt;
}

std::optional<std::string> number_to_integer(std::string &json, std::size_t start) {
    const std::string_view token = value_at(json, start);
    // PostgreSQL's integers need nothing: the common case costs one scan.
    if (token.find_first_of(".eE") == kNone)
        return std::nullopt;
    const std::optional<NumberText> number = parse_number(token);
    if (!number)   // the builder wrote it: cannot happen
        return shown(token) + " is not a JSON number";
    return to_integer(json, start, start, *number);
}

std::optional<std::string> string_to_number(std::string &json, std::size_t start, FieldType type) {
    const std::optional<std::string_view> content = plain_content(json, start);
    const std::optional<NumberText> number = content ? parse_number(*content) : std::nullopt;
    if (!number)
        return the_string(json, start) + " is not a number";
    if (type == FieldType::Number) {
        unquote(json, start);
        return std::nullopt;
    }
    return to_integer(json, start, start + 1, *number);
}

std::optional<std::string> string_to_boolean(std::string &json, std::size_t start) {
    const std::optional<std::string_view> content = plain_content(json, start);
    if (content && (*content == "true" || *content == "false")) {
        unquote(json, start);
        return std::nullopt;
    }
    return the_string(json, start) + " is not \"true\" or \"false\"";
}

// ---------------------------------------------------------------------------
// Datetimes

bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

// Reads `count` digits at `pos` as a number from `low` to `high`.
bool read_number(std::string_view text, std::size_t &pos, std::size_t count, int low, int high, int &value) {
    if (text.size() - pos < count)
        return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (!is_digit(text[pos + i]))
            return false;
        value = value * 10 + (text[pos + i] - '0');
    }
    pos += count;
    return value >= low && value <= high;
}

bool read_char(std::string_view text, std::size_t &pos, char expected) {
    if (pos >= text.size() || text[pos] != expected)
        return false;
    ++pos;
    return true;
}

// What turns an ISO 8601 date or date-time into an RFC 3339 date-time (offsets
// in the text, applied right to left so that each stays valid).
struct DatetimeEdits {
    std::size_t separator = kNone;      // a ' ' that becomes 'T'
    std::size_t seconds_at = kNone;     // where ":00" goes when the seconds are left out
    std::size_t offset_colon_at = kNone;  // where ':' goes in a +hhmm offset
    const char *suffix = "";            // appended: "T00:00:00Z", "Z" or ":00" (a +hh offset)
};

// YYYY-MM-DD, or YYYY-MM-DD(T| )hh:mm[:ss[.fraction]][Z|(+|-)hh[[:]mm]]: the
// extended form PostgreSQL renders timestamps, timestamptz and dates in (to_json
// with 'T', text output with ' '). Years are four digits: "infinity", BC dates
// and years past 9999 are not ISO 8601 as receivers read it.
std::optional<DatetimeEdits> parse_datetime(std::string_view text) {
    DatetimeEdits edits;
    std::size_t pos = 0;
    int year = 0, month = 0, day = 0, unused = 0;
    if (!read_number(text, pos, 4, 0, 9999, year) || !read_char(text, pos, '-') ||
        !read_number(text, pos, 2, 1, 12, month) || !read_char(text, pos, '-') ||
        !read_number(text, pos, 2, 1, days_in_month(year, month), day))
        return std::nullopt;
    if (pos == text.size()) {
        edits.suffix = "T00:00:00Z";
        return edits;
    }
    if (text[pos] == ' ')
        edits.separator = pos;
    else if (text[pos] != 'T')
        return std::nullopt;
    ++pos;
    if (!read_number(text, pos, 2, 0, 23, unused) || !read_char(text, pos, ':') ||
        !read_number(text, pos, 2, 0, 59, unused))
        return std::nullopt;
    if (read_char(text, pos, ':')) {
        if (!read_number(text, pos, 2, 0, 59, unused))
            return std::nullopt;
        if (read_char(text, pos, '.')) {
            const std::size_t digits = pos;
            while (pos < text.size() && is_digit(text[pos]))
                ++pos;
            if (pos == digits)
                return std::nullopt;
        }
    } else {
        edits.seconds_at = pos;
    }
    if (pos == text.size()) {
        edits.suffix = "Z";   // no offset: UTC, as the sync's session reads it (TimeZone is UTC)
        return edits;
    }
    if (read_char(text, pos, 'Z'))
        return pos == text.size() ? std::optional<DatetimeEdits>(edits) : std::nullopt;
    if (text[pos] != '+' && text[pos] != '-')
        return std::nullopt;
    ++pos;
    if (!read_number(text, pos, 2, 0, 23, unused))
        return std::nullopt;
    if (pos == text.size()) {
        edits.suffix = ":00";
        return edits;
    }
    if (!read_char(text, pos, ':'))
        edits.offset_colon_at = pos;
    if (!read_number(text, pos, 2, 0, 59, unused) || pos != text.size())
        return std::nullopt;
    return edits;
}

std::optional<std::string> string_to_datetime(std::string &json, std::size_t start) {
    const std::optional<std::string_view> content = plain_content(json, start);
    const std::optional<DatetimeEdits> edits = content ? parse_datetime(*content) : std::nullopt;
    if (!edits)
        return the_string(json, start) + " is not an ISO 8601 date or date-time";
    const std::size_t text = start + 1;
    json.insert(json.size() - 1, edits->suffix);
    if (edits->offset_colon_at != kNone)
        json.insert(text + edits->offset_colon_at, 1, ':');
    if (edits->seconds_at != kNone)
        json.insert(text + edits->seconds_at, ":00");
    if (edits->separator != kNone)
        json[text + edits->separator] = 'T';
    return std::nullopt;
}

}  // namespace

std::optional<std::string> convert_to_field_type(FieldType type, std::string &json, std::size_t start) {
    if (start >= json.size())
        return std::nullopt;
    const JsonKind kind = json_kind_of(std::string_view(json).substr(start));
    if (kind == JsonKind::Null)
        return std::nullopt;
    switch (type) {
    case FieldType::Any: return std::nullopt;
    case FieldType::String:
        if (kind == JsonKind::String)
            return std::nullopt;
        if (kind == JsonKind::Number || kind == JsonKind::Boolean) {
            // Digits exactly as rendered: 1.50 is "1.50", a 30-digit numeric all 30.
            json.insert(start, 1, '"');
            json += '"';
            return std::nullopt;
        }
        break;
    case FieldType::Number:
        if (kind == JsonKind::Number)
            return std::nullopt;
        if (kind == JsonKind::String)
            return string_to_number(json, start, type);
        break;
    case FieldType::Integer:
        if (kind == JsonKind::Number)
            return number_to_integer(json, start);
        if (kind == JsonKind::String)
            return string_to_number(json, start, type);
        break;
    case FieldType::Boolean:
        if (kind == JsonKind::Boolean)
            return std::nullopt;
        if (kind == JsonKind::String)
            return string_to_boolean(json, start);
        break;
    case FieldType::Datetime:
        if (kind == JsonKind::String)
            return string_to_datetime(json, start);
        break;
    case FieldType::Object:
        if (kind == JsonKind::Object)
            return std::nullopt;
        break;
    case FieldType::Array:
        if (kind == JsonKind::Array)
            return std::nullopt;
        break;
    }
    return cannot_send(kind, type);
}

}  // namespace reverse_etl::catalog
