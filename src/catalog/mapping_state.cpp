#include "catalog/mapping_state.hpp"

#include "pg/spi.hpp"

namespace reverse_etl::catalog {

std::string checkpoint_table(int64_t mapping_id) {
    return "reverse_etl_state.checkpoint_" + std::to_string(mapping_id);
}

void create_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("CREATE TABLE " + checkpoint_table(mapping_id) +
                        " (record_id text PRIMARY KEY, hash bigint NOT NULL)");
}

void reset_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("TRUNCATE " + checkpoint_table(mapping_id));
}

void drop_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("DROP TABLE IF EXISTS " + checkpoint_table(mapping_id));
}

}  // namespace reverse_etl::catalog
