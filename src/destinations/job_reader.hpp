// Reads the answers of an asynchronous job's requests as the definition's
// "job" block says (catalog::JobSpec): the job an answer started, the job's
// state, and the pages of its errors, each naming records by key. Pure C++:
// no libcurl, no PostgreSQL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/destination_type.hpp"

namespace reverse_etl::destinations {

// The id of the job an answer started; nullopt when the answer has none (a
// string or a number at JobSpec::id).
std::optional<std::string> job_id_of(const catalog::JobSpec &spec, std::string_view body);

struct JobState {
    enum class Phase {
        Running,     // not yet in a done or failed state: poll again
        Done,        // ran: its errors name the records that failed
        Failed,      // ended without running (cancelled): every record failed
        Unreadable,  // the answer is not a job
    };
    Phase phase = Phase::Unreadable;
    std::string state;                      // as the destination wrote it
    std::optional<long long> failed_count;  // when the definition and the answer give it
};

JobState read_job_state(const catalog::JobSpec &spec, std::string_view body);

struct JobError {
    // keys[i]: the error's value at JobSpec::error_keys[i]'s path; "" when absent.
    std::vector<std::string> keys;
    std::string message;
};

struct JobErrorsPage {
    bool readable = false;            // the answer has the list
    std::vector<JobError> errors;
    std::optional<std::string> next;  // the next page's URL, when there is one
};

JobErrorsPage read_job_errors(const catalog::JobSpec &spec, std::string_view body);

// Whether `next` may be fetched with the destination's credentials: only a
// URL under the job's own errors URL (a link elsewhere would carry the API
// key to another host).
bool next_page_allowed(const std::string &errors_url, const std::string &next);

}  // namespace reverse_etl::destinations
