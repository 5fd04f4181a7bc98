#include "destinations/secret_masker.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "catalog/settings.hpp"
#include "common/json_text.hpp"

namespace reverse_etl::destinations {

namespace {

constexpr size_t kNoMatch = std::string_view::npos;
// The most text bytes one secret byte can take: a byte below 0x80 as \u00XX.
// (%XX takes 3; a character of 2 to 4 bytes as one or two \uXXXX takes at
// most 3 a byte.)
constexpr size_t kMaxBytesPerSecretByte = 6;

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// The number the hex digits text[at, at + digits) spell, or -1.
long hex_number(std::string_view text, size_t at, size_t digits) {
    if (at + digits > text.size())
        return -1;
    long value = 0;
    for (size_t i = at; i < at + digits; ++i) {
        const int digit = hex_digit(text[i]);
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

// One encoded unit of text read as secret bytes: how many bytes of each.
struct Step {
    size_t text_bytes = 0;     // 0: the text does not go on with the secret this way
    size_t secret_bytes = 0;
};

bool continues_with(std::string_view secret, size_t s, std::string_view bytes) {
    return secret.size() - s >= bytes.size() && secret.compare(s, bytes.size(), bytes) == 0;
}

// \uXXXX (or a surrogate pair of them) at text[t] standing for the secret's next character.
Step unicode_escape_step(std::string_view text, size_t t, std::string_view secret, size_t s) {
    const long unit = hex_number(text, t + 2, 4);
    if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
        return {};
    uint32_t code_point = static_cast<uint32_t>(unit);
    size_t used = 6;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (t + 12 > text.size() || text[t + 6] != '\\' || text[t + 7] != 'u')
            return {};
        const long low = hex_number(text, t + 8, 4);
        if (low < 0xDC00 || low > 0xDFFF)
            return {};
        code_point = 0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
        used = 12;
    }
    std::string bytes;
    append_utf8(bytes, code_point);
    if (!continues_with(secret, s, bytes))
        return {};
    return {used, bytes.size()};
}

// An escape at text[t] (percent-encoding, '+' for a space, a JSON string
// escape) that stands for the secret's next byte or character.
Step escape_step(std::string_view text, size_t t, std::string_view secret, size_t s) {
    const char c = text[t];
    if (c == '%') {
        const long byte = hex_number(text, t + 1, 2);
        return byte >= 0 && static_cast<char>(byte) == secret[s] ? Step{3, 1} : Step{};
    }
    if (c == '+')
        return secret[s] == ' ' ? Step{1, 1} : Step{};
    if (c != '\\' || t + 1 >= text.size())
        return {};
    char decoded;
    switch (text[t + 1]) {
    case '"': case '\\': case '/': decoded = text[t + 1]; break;
    case 'b': decoded = '\b'; break;
    case 'f': decoded = '\f'; break;
    case 'n': decoded = '\n'; break;
    case 'r': decoded = '\r'; break;
    case 't': decoded = '\t'; break;
    case 'u': return unicode_escape_step(text, t, secret, s);
    default: return {};
    }
    return decoded == secret[s] ? Step{2, 1} : Step{};
}

// Where in `text` the secret, from its byte `s` on, ends when it goes on at
// text[t]; kNoMatch if it does not. Where a byte could be read both raw and
// as the start of an escape ("%25" or "\\u" in a secret), both readings are
// tried; `dead_ends` remembers those that failed (as t * (secret size + 1)
// + s), so that a long run of such bytes costs linear time, not exponential,
// and looking one up costs constant time (a list made a 200-byte run of
// backslashes take seconds: the fuzzer found it).
size_t match_end(std::string_view text, size_t t, std::string_view secret, size_t s,
                 std::unordered_set<uint64_t> &dead_ends) {
    while (s < secret.size()) {
        if (t >= text.size())
            return kNoMatch;
        const Step escaped = escape_step(text, t, secret, s);
        const bool raw = text[t] == secret[s];
        if (escaped.text_bytes > 0 && raw) {
            const size_t next_t = t + escaped.text_bytes, next_s = s + escaped.secret_bytes;
            const uint64_t state = static_cast<uint64_t>(next_t) * (secret.size() + 1) + next_s;
            if (dead_ends.count(state) == 0) {
                const size_t end = match_end(text, next_t, secret, next_s, dead_ends);
                if (end != kNoMatch)
                    return end;
                dead_ends.insert(state);
            }
            ++t;
            ++s;
        } else if (escaped.text_bytes > 0) {
            t += escaped.text_bytes;
            s += escaped.secret_bytes;
        } else if (raw) {
            ++t;
            ++s;
        } else {
            return kNoMatch;
        }
    }
    return t;
}

void append_mask(std::string &out) { out += catalog::kMaskedValue; }

}  // namespace

SecretMasker::SecretMasker(std::vector<std::string> secrets) {
    for (std::string &secret : secrets) {
        if (secret.empty() || std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end())
            continue;
        may_start_[static_cast<unsigned char>(secret.front())] = true;
        if (secret.front() == ' ')
            may_start_['+'] = true;
        max_span_ = std::max(max_span_, secret.size() * kMaxBytesPerSecretByte);
        secrets_.push_back(std::move(secret));
    }
    if (!secrets_.empty()) {
        may_start_['%'] = true;
        may_start_['\\'] = true;
    }
}

size_t SecretMasker::longest_at(std::string_view text, size_t at) const {
    size_t longest = at;
    std::unordered_set<uint64_t> dead_ends;
    for (const std::string &secret : secrets_) {
        dead_ends.clear();
        const size_t end = match_end(text, at, secret, 0, dead_ends);
        if (end != kNoMatch)
            longest = std::max(longest, end);
    }
    return longest;
}

std::vector<std::pair<size_t, size_t>> SecretMasker::occurrences(std::string_view text,
                                                                 size_t starts_before) const {
    std::vector<std::pair<size_t, size_t>> ranges;
    const size_t last = std::min(text.size(), starts_before);
    for (size_t at = 0; at < last; ++at) {
        if (!may_start_[static_cast<unsigned char>(text[at])])
            continue;
        const size_t end = longest_at(text, at);
        if (end == at)
            continue;
        if (!ranges.empty() && at < ranges.back().second)
            ranges.back().second = std::max(ranges.back().second, end);
        else
            ranges.emplace_back(at, end);
    }
    return ranges;
}

bool SecretMasker::occurs_in(std::string_view text) const {
    for (size_t at = 0; at < text.size(); ++at)
        if (may_start_[static_cast<unsigned char>(text[at])] && longest_at(text, at) != at)
            return true;
    return false;
}

std::string SecretMasker::mask(std::string_view text) const {
    std::string out;
    size_t done = 0;
    for (const auto &[begin, end] : occurrences(text, text.size())) {
        out.append(text, done, begin - done);
        append_mask(out);
        done = end;
    }
    out.append(text, done, std::string_view::npos);
    return out;
}

std::string SecretMasker::mask_prefix(std::string_view text, size_t limit) const {
    if (text.size() <= limit)
        return mask(text);
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;   // not inside a UTF-8 character
    const std::string_view window = text.substr(0, cut + max_span_);
    std::string out;
    size_t done = 0;
    for (const auto &[begin, end] : occurrences(window, cut)) {
        out.append(text, done, begin - done);
        append_mask(out);
        done = end;
    }
    if (done < cut)
        out.append(text, done, cut - done);
    return out;
}

JsonValue SecretMasker::mask_json(const JsonValue &value) const {
    switch (value.kind()) {
    case JsonKind::String: return JsonValue::string(mask(value.string_value()));
    case JsonKind::Number:
        return occurs_in(value.number_text()) ? JsonValue::string(catalog::kMaskedValue) : value;
    case JsonKind::Array: {
        std::vector<JsonValue> elements;
        elements.reserve(value.elements().size());
        for (const JsonValue &element : value.elements())
            elements.push_back(mask_json(element));
        return JsonValue::array(std::move(elements));
    }
    case JsonKind::Object: {
        std::vector<JsonMember> members;
        members.reserve(value.members().size());
        for (const JsonMember &member : value.members())
            members.push_back({mask(member.key), mask_json(member.value)});
        return JsonValue::object(std::move(members));
    }
    default: return value;
    }
}

std::optional<std::string> SecretMasker::mask_json_text(std::string_view json) const {
    if (!occurs_in(json))
        return std::string(json);
    const std::optional<JsonValue> parsed = try_parse_json_text(json);
    if (!parsed)
        return std::nullopt;
    return to_json_text(mask_json(*parsed));
}

SecretMasker SecretMasker::with(std::string secret) const {
    std::vector<std::string> secrets = secrets_;
    secrets.push_back(std::move(secret));
    return SecretMasker(std::move(secrets));
}

}  // namespace reverse_etl::destinations
