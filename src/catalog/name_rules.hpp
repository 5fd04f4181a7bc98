// What the name of a model, destination or mapping may contain. Names are free
// text (SPEC: spaces allowed, 1 to 128 characters), shown in views, logs and
// error messages: characters that hide, reorder or break that text are refused.
// Pure C++ over UTF-8 (the boundary converts from the database encoding).
#pragma once

#include <string>

namespace reverse_etl::catalog {

// Throws Error 22023 "<kind> name ..." when the name:
// - has fewer than 1 or more than 128 characters;
// - contains a control character (Unicode general category Cc: U+0000..U+001F,
//   U+007F..U+009F, so newline, tab, DEL and the C1 controls) or a line or
//   paragraph separator (U+2028, U+2029);
// - contains an invisible or direction-changing format character (general
//   category Cf: soft hyphen, zero-width space and joiners, the bidirectional
//   marks, embeddings, overrides and isolates, the byte order mark, ...);
// - consists only of whitespace, or begins or ends with whitespace (the Unicode
//   White_Space property: space, no-break space, ideographic space, ...).
// Messages name the character as U+XXXX and its position (1-based, in
// characters). Letters, marks, digits, punctuation and symbols of any script
// are fine. Bytes that are not valid UTF-8 (a SQL_ASCII database may hold
// them) count as one ordinary character each.
void check_name_text(const std::string &kind, const std::string &utf8_name);

}  // namespace reverse_etl::catalog
