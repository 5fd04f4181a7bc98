#include "test_support.hpp"

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "common/parse_number.hpp"

namespace reverse_etl::test {

std::string repository_file(const std::string &relative_path) {
    const std::string path = std::string(REVERSE_ETL_SOURCE_DIR) + "/" + relative_path;
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        ADD_FAILURE() << "cannot read " << path;
        return {};
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

const catalog::DestinationType &shipped_type(const std::string &type) {
    static std::map<std::string, std::unique_ptr<catalog::DestinationType>> types;
    std::unique_ptr<catalog::DestinationType> &parsed = types[type];
    if (!parsed)
        parsed = std::make_unique<catalog::DestinationType>(
            catalog::parse_destination_type(repository_file("src/destinations/" + type + ".json")));
    return *parsed;
}

JsonPtr json(const std::string &text) {
    json_error_t error;
    JsonPtr value(json_loadb(text.data(), text.size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &error));
    if (!value)
        ADD_FAILURE() << "bad JSON in a test: " << error.text << " in " << text;
    return value;
}

std::optional<IntervalLength> read_test_interval(const std::string &text) {
    constexpr int64_t kSecond = 1000000;
    std::istringstream words(text);
    std::vector<std::string> tokens;
    for (std::string word; words >> word;)
        tokens.push_back(word);
    if (tokens.empty() || tokens.size() % 2 != 0)
        return std::nullopt;
    int64_t months = 0, days = 0, time = 0;
    for (size_t i = 0; i < tokens.size(); i += 2) {
        const std::optional<int64_t> count = parse_integer<int64_t>(tokens[i]);
        if (!count)
            return std::nullopt;
        std::string unit = tokens[i + 1];
        if (unit.size() > 1 && unit.back() == 's')
            unit.pop_back();
        if (unit == "microsecond")
            time += *count;
        else if (unit == "millisecond")
            time += *count * 1000;
        else if (unit == "second")
            time += *count * kSecond;
        else if (unit == "minute")
            time += *count * 60 * kSecond;
        else if (unit == "hour")
            time += *count * 3600 * kSecond;
        else if (unit == "day")
            days += *count;
        else if (unit == "week")
            days += *count * 7;
        else if (unit == "month")
            months += *count;
        else if (unit == "year")
            months += *count * 12;
        else
            return std::nullopt;
    }
    return interval_length(static_cast<int32_t>(months), static_cast<int32_t>(days), time);
}

}  // namespace reverse_etl::test
