#include "common/sql_text.hpp"

namespace reverse_etl {

std::string quote_identifier(const std::string &name) {
    std::string quoted = "\"";
    for (const char c : name) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

std::string quote_literal(const std::string &text) {
    const bool has_backslash = text.find('\\') != std::string::npos;
    std::string quoted = has_backslash ? "E'" : "'";
    for (const char c : text) {
        if (c == '\'' || (c == '\\' && has_backslash))
            quoted += c;
        quoted += c;
    }
    return quoted + "'";
}

std::string text_array_literal(const std::vector<std::optional<std::string>> &items) {
    std::string literal = "{";
    for (size_t i = 0; i < items.size(); i++) {
        if (i > 0)
            literal += ',';
        if (!items[i]) {
            literal += "NULL";
            continue;
        }
        literal += '"';
        for (const char c : *items[i]) {
            if (c == '"' || c == '\\')
                literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    return literal + "}";
}

}  // namespace reverse_etl
