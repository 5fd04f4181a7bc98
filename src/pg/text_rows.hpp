// Rows of values in PostgreSQL's text format, as a remote sent them: what a
// remote stream hands over and a table loader stores, without copying.
#pragma once

#include <cstddef>
#include <vector>

namespace reverse_etl::pg {

struct TextRows {
    size_t rows = 0;
    size_t width = 0;
    // Row after row, `width` a row: NUL-terminated text, nullptr for NULL;
    // the text belongs to whoever filled this (a remote's result).
    std::vector<const char *> values;

    const char *at(size_t row, size_t column) const { return values[row * width + column]; }
};

}  // namespace reverse_etl::pg
