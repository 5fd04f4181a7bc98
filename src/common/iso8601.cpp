#include "common/iso8601.hpp"

namespace reverse_etl {

namespace {

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's
// days_from_civil algorithm).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
    year -= month <= 2;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : kDays[month - 1];
}

class Reader {
  public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool done() const { return pos_ == text_.size(); }
    bool next_is(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
    bool take(char c) {
        if (!next_is(c))
            return false;
        ++pos_;
        return true;
    }
    // Exactly `width` digits.
    std::optional<int> digits(size_t width) {
        if (text_.size() - pos_ < width)
            return std::nullopt;
        int value = 0;
        for (size_t i = 0; i < width; ++i) {
            const char c = text_[pos_ + i];
            if (c < '0' || c > '9')
                return std::nullopt;
            value = value * 10 + (c - '0');
        }
        pos_ += width;
        return value;
    }
    // One or more digits, as milliseconds (the first three count).
    std::optional<int> fraction_millis() {
        int millis = 0;
        size_t count = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            if (count < 3)
                millis = millis * 10 + (text_[pos_] - '0');
            ++count;
            ++pos_;
        }
        if (count == 0)
            return std::nullopt;
        for (size_t i = count; i < 3; ++i)
            millis *= 10;
        return millis;
    }

  private:
    std::string_view text_;
    size_t pos_ = 0;
};

// The offset east of UTC in minutes; Reader positioned after the time.
std::optional<int> read_offset(Reader &in) {
    if (in.done())
        return 0;
    if (in.take('Z'))
        return in.done() ? std::optional<int>(0) : std::nullopt;
    const bool east = in.next_is('+');
    if (!in.take('+') && !in.take('-'))
        return std::nullopt;
    const std::optional<int> hours = in.digits(2);
    if (!hours || *hours > 15)
        return std::nullopt;
    int minutes = 0;
    if (!in.done()) {
        in.take(':');
        const std::optional<int> m = in.digits(2);
        if (!m || *m > 59)
            return std::nullopt;
        minutes = *m;
    }
    if (!in.done())
        return std::nullopt;
    const int total = *hours * 60 + minutes;
    return east ? total : -total;
}

}  // namespace

std::optional<int64_t> iso8601_epoch_millis(std::string_view text) {
    Reader in(text);
    const std::optional<int> year = in.digits(4);
    if (!year || *year < 1 || !in.take('-'))
        return std::nullopt;
    const std::optional<int> month = in.digits(2);
    if (!month || *month < 1 || *month > 12 || !in.take('-'))
        return std::nullopt;
    const std::optional<int> day = in.digits(2);
    if (!day || *day < 1 || *day > days_in_month(*year, *month))
        return std::nullopt;
    int64_t millis = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400000;
    if (in.done())
        return millis;
    if (!in.take('T') && !in.take(' '))
        return std::nullopt;
    const std::optional<int> hour = in.digits(2);
    if (!hour || *hour > 23 || !in.take(':'))
        return std::nullopt;
    const std::optional<int> minute = in.digits(2);
    if (!minute || *minute > 59)
        return std::nullopt;
    int second = 0, fraction = 0;
    if (in.take(':')) {
        const std::optional<int> s = in.digits(2);
        if (!s || *s > 59)   // no leap seconds: PostgreSQL never renders one
            return std::nullopt;
        second = *s;
        if (in.take('.')) {
            const std::optional<int> f = in.fraction_millis();
            if (!f)
                return std::nullopt;
            fraction = *f;
        }
    }
    const std::optional<int> offset = read_offset(in);
    if (!offset)
        return std::nullopt;
    millis += ((static_cast<int64_t>(*hour) * 60 + *minute - *offset) * 60 + second) * 1000 + fraction;
    return millis;
}

}  // namespace reverse_etl
