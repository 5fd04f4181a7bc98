// Dates and times as ISO 8601 text (what payloads carry: timestamptz and date
// values as the extension renders them), read without the server's time code
// for APIs that want epoch milliseconds (Mixpanel, Amplitude).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace reverse_etl {

// "YYYY-MM-DD", or that followed by 'T' or ' ', "HH:MM[:SS[.fraction]]" and
// an optional offset ("Z", "+HH", "+HH:MM", "+HHMM"; none means UTC), as
// milliseconds since 1970-01-01 00:00 UTC; fractions below a millisecond are
// truncated. Years 0001-9999. nullopt when the text is anything else or names
// a day that does not exist.
std::optional<int64_t> iso8601_epoch_millis(std::string_view text);

}  // namespace reverse_etl
