#include "common/setting_list.hpp"

#include <algorithm>
#include <utility>

namespace reverse_etl {

namespace {

constexpr const char *kBlanks = " \t\r\n";

std::string trimmed(const std::string &text) {
    const size_t first = text.find_first_not_of(kBlanks);
    if (first == std::string::npos)
        return {};
    return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

}  // namespace

std::vector<std::string> split_setting_list(const std::string &setting) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= setting.size()) {
        const size_t comma = std::min(setting.find(',', start), setting.size());
        std::string item = trimmed(setting.substr(start, comma - start));
        if (!item.empty())
            items.push_back(std::move(item));
        start = comma + 1;
    }
    return items;
}

}  // namespace reverse_etl
