#include "http/http_text.hpp"

#include <algorithm>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace reverse_etl::http {

bool is_token(const std::string &text) {
    static const std::string kSymbols = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kSymbols.find(c) != std::string::npos;
    });
}

namespace {

constexpr bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

// A byte that a form field's value carries as it is (see
// append_form_value_encoded): printable ASCII but the bytes a form decoder
// reads as syntax ('%' escapes, '&' and ';' separators, '+' a space, '='
// between name and value, '#' a fragment to careless parsers).
constexpr bool is_form_value_byte(unsigned char c) {
    return c > 0x20 && c < 0x7F && c != '%' && c != '&' && c != '+' && c != '=' && c != ';' && c != '#';
}

// Each byte's percent-encoding, four bytes wide so that it is written with
// one unaligned store whatever its length: a branch per byte on whether it is
// escaped mispredicts on JSON text percent-encoded (a query parameter's
// elements), which escapes a third of its bytes in no pattern. A form value
// escapes few: append_form_value_encoded copies runs instead.
struct EncodedByte {
    char text[3];
    unsigned char length;
};
static_assert(sizeof(EncodedByte) == 4);

struct EncodingTable {
    EncodedByte bytes[256] = {};
    constexpr explicit EncodingTable(bool (*kept)(unsigned char)) {
        constexpr char kHex[] = "0123456789ABCDEF";
        for (int c = 0; c < 256; ++c) {
            const auto byte = static_cast<unsigned char>(c);
            if (kept(byte))
                bytes[c] = EncodedByte{{static_cast<char>(byte), 0, 0}, 1};
            else
                bytes[c] = EncodedByte{{'%', kHex[c >> 4], kHex[c & 0x0F]}, 3};
        }
    }
};
constexpr EncodingTable kEncoding(is_unreserved);
constexpr EncodingTable kFormValueEncoding(is_form_value_byte);

void append_encoded(std::string &out, std::string_view text, const EncodingTable &table) {
    const size_t start = out.size();
    // At most three bytes for one, and one more: the last store is four wide.
    out.resize(start + 3 * text.size() + 1);
    char *at = out.data() + start;
    for (const char ch : text) {
        const EncodedByte &encoded = table.bytes[static_cast<unsigned char>(ch)];
        std::memcpy(at, &encoded, sizeof encoded);
        at += encoded.length;
    }
    out.resize(static_cast<size_t>(at - out.data()));
}

}  // namespace

// Written here rather than with curl_easy_escape, which appends each escaped
// byte with a formatted print: form bodies (Amplitude's) escape most of a
// JSON array, and that print was the largest cost of building them.
void append_percent_encoded(std::string &out, std::string_view text) { append_encoded(out, text, kEncoding); }

// A form value escapes few bytes (JSON's punctuation is kept: Amplitude's
// bodies escape a space or a '+' now and then), so the runs of bytes kept
// are found and copied whole: a store per byte was the largest cost of
// building those bodies.
// The length of the run of bytes from `at` on that a form value keeps
// (is_form_value_byte), at most `size`. JSON text is mostly long such runs,
// where a test and a branch a byte were most of the time spent encoding a
// body: with SSE2 (every x86-64), sixteen bytes are tested at once.
size_t kept_run(const char *at, size_t size) {
    size_t run = 0;
#ifdef __SSE2__
    for (; run + 16 <= size; run += 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(at + run));
        // Signed bytes: those from 0x80 up are negative, so below 0x21 too.
        const auto is = [&bytes](char c) { return _mm_cmpeq_epi8(bytes, _mm_set1_epi8(c)); };
        const __m128i escaped = _mm_or_si128(
            _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(bytes, _mm_set1_epi8(0x21)), is(0x7F)),
                         _mm_or_si128(is('%'), is('&'))),
            _mm_or_si128(_mm_or_si128(is('+'), is('=')), _mm_or_si128(is(';'), is('#'))));
        if (const int mask = _mm_movemask_epi8(escaped); mask != 0)
            return run + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
#endif
    while (run < size && kFormValueEncoding.bytes[static_cast<unsigned char>(at[run])].length == 1)
        ++run;
    return run;
}

void append_form_value_encoded(std::string &out, std::string_view text) {
    out.reserve(out.size() + text.size() + text.size() / 8 + 16);
    size_t at = 0;
    while (at < text.size()) {
        const size_t run = at + kept_run(text.data() + at, text.size() - at);
        out.append(text.data() + at, run - at);
        if (run == text.size())
            break;
        const EncodedByte &encoded = kFormValueEncoding.bytes[static_cast<unsigned char>(text[run])];
        out.append(encoded.text, encoded.length);
        at = run + 1;
    }
}

std::string percent_encode(std::string_view text) {
    std::string encoded;
    append_percent_encoded(encoded, text);
    return encoded;
}

size_t percent_encoded_size(std::string_view text) {
    size_t size = 0;
    for (const char ch : text)
        size += kEncoding.bytes[static_cast<unsigned char>(ch)].length;
    return size;
}

}  // namespace reverse_etl::http
