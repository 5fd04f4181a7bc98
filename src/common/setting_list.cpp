#include "common/setting_list.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <utility>

namespace reverse_etl {

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
