#include "pg/messages.hpp"

#include "pg/error_crossing.hpp"

namespace reverse_etl::pg {

void notice(const std::string &message, const std::string &detail) {
    pg_guard([&] {
        ereport(NOTICE, (errmsg_internal("%s", message.c_str()),
                         detail.empty() ? 0 : errdetail_internal("%s", detail.c_str())));
    });
}

void warning(const std::string &message, const std::string &detail, const std::string &hint) {
    pg_guard([&] {
        ereport(WARNING, (errmsg_internal("%s", message.c_str()),
                          detail.empty() ? 0 : errdetail_internal("%s", detail.c_str()),
                          hint.empty() ? 0 : errhint("%s", hint.c_str())));
    });
}

}  // namespace reverse_etl::pg
