#include "pg/guc.hpp"

#include "common/error.hpp"
#include "http/host_allowlist.hpp"
#include "http/network_blocklist.hpp"
#include "pg/history_retention.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace reverse_etl::pg {

namespace {

int max_concurrent_requests_setting = 64;
bool adaptive_concurrency_setting = true;
int request_timeout_setting = 30000;  // milliseconds (GUC_UNIT_MS)
int max_request_attempts_setting = 5;
char *allowed_hosts_setting = nullptr;
char *blocked_networks_setting = nullptr;
char *history_retention_setting = nullptr;
char *database_setting = nullptr;
int max_parallel_syncs_setting = 2;
int naptime_setting = 10000;  // milliseconds
int live_max_backlog_setting = 100000;
bool alert_details_setting = false;  // read in SQL by reverse_etl._notify_run_end
int give_up_after_setting = 0;  // seconds (GUC_UNIT_S); 0: never

// Why a check hook refused a value. Static, so that no object with a
// destructor lives in the frame that calls GUC_check_err*, which can ereport
// (out of memory).
struct CheckFailure {
    std::string message;
    std::string detail;
    std::string hint;
};
CheckFailure check_failure;

// Parses a new value as the HTTP client will read it; on failure keeps the
// reason (the parser's Error) in check_failure.
template <typename Parse>
bool parses(const char *value, Parse parse) noexcept {
    try {
        parse(std::string(value != nullptr ? value : ""));
        return true;
    } catch (const Error &error) {
        try {
            check_failure = CheckFailure{error.message(), error.detail(), error.hint()};
            return false;
        } catch (...) {
        }
    } catch (...) {
    }
    check_failure.message.clear();  // PostgreSQL's generic "invalid value for parameter" then
    check_failure.detail.clear();
    check_failure.hint.clear();
    return false;
}

bool refuse_value() {
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    if (!check_failure.message.empty())
        GUC_check_errmsg("%s", check_failure.message.c_str());
    if (!check_failure.detail.empty())
        GUC_check_errdetail("%s", check_failure.detail.c_str());
    if (!check_failure.hint.empty())
        GUC_check_errhint("%s", check_failure.hint.c_str());
    return false;
}

// A typo is refused by SET, ALTER SYSTEM and a reload, instead of failing
// every request later (allowed_hosts) or silently blocking something else.
bool check_allowed_hosts(char **newval, void **extra, GucSource source) {
    return parses(*newval, [](const std::string &value) { (void)http::HostAllowlist::parse(value); }) ||
           refuse_value();
}

bool check_blocked_networks(char **newval, void **extra, GucSource source) {
    return parses(*newval, [](const std::string &value) { (void)http::NetworkBlocklist::parse(value); }) ||
           refuse_value();
}

// A value runs cannot prune by would make the end of every run fail
// ("invalid input syntax for type interval", "timestamp out of range"), or,
// negative, delete the run that just ended, which sync() then cannot return.
bool check_history_retention(char **newval, void **extra, GucSource source) {
    switch (history_retention_problem(*newval, GetCurrentTimestamp())) {
    case RetentionProblem::None: return true;
    case RetentionProblem::NotInterval:
        GUC_check_errhint("Use an interval such as \"30 days\", \"12 hours\" or \"1 year\".");
        break;
    case RetentionProblem::Negative:
        GUC_check_errdetail("A negative retention would delete the run that just ended along with the rest "
                            "of the history.");
        GUC_check_errhint("Use 0 to keep no history beyond the run that ended last.");
        break;
    case RetentionProblem::OutOfRange:
        GUC_check_errdetail("Counted back from now, it goes beyond the range of timestamps (4713 BC to "
                            "294276 AD).");
        GUC_check_errhint("Use a shorter interval, such as \"100 years\".");
        break;
    }
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    return false;
}

}  // namespace

void define_settings() {
    DefineCustomIntVariable("reverse_etl.max_concurrent_requests",
                            "Most HTTP requests a sync keeps in flight at once.",
                            "With reverse_etl.adaptive_concurrency a sync starts at 8 (or this, if lower) and "
                            "adapts to the destination's answers; without it, it keeps this many.",
                            &max_concurrent_requests_setting, 64, 1, 256, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("reverse_etl.adaptive_concurrency",
                             "Whether a sync adapts the HTTP requests it keeps in flight to the destination.",
                             "On: more while answers come back as fast as before, half as many after a 429, "
                             "5xx or timeout (AIMD), never more than reverse_etl.max_concurrent_requests. "
                             "Off: always reverse_etl.max_concurrent_requests.",
                             &adaptive_concurrency_setting, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("reverse_etl.request_timeout", "Time limit of one HTTP request (connect: 10 s).",
                            nullptr, &request_timeout_setting, 30000, 100, 3600 * 1000, PGC_USERSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("reverse_etl.max_request_attempts",
                            "Attempts per HTTP request within a run, the first included.", nullptr,
                            &max_request_attempts_setting, 5, 1, 100, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Only superusers choose where data may go.
    DefineCustomStringVariable("reverse_etl.allowed_hosts",
                               "Comma-separated host patterns destinations may reach (* for any, *.example.com).",
                               "A host named exactly may be reached even at an address in "
                               "reverse_etl.blocked_networks.",
                               &allowed_hosts_setting, "*", PGC_SUSET, 0, check_allowed_hosts, nullptr, nullptr);
    DefineCustomStringVariable("reverse_etl.blocked_networks",
                               "Comma-separated networks (CIDR) destinations may not connect to.",
                               "Checked on the address each connection goes to, after DNS resolution; a host "
                               "named exactly in reverse_etl.allowed_hosts is exempt.",
                               &blocked_networks_setting, http::kDefaultBlockedNetworks, PGC_SUSET, 0,
                               check_blocked_networks, nullptr, nullptr);
    DefineCustomStringVariable("reverse_etl.history_retention", "How long run history is kept.", nullptr,
                               &history_retention_setting, "30 days", PGC_SUSET, 0, check_history_retention, nullptr,
                               nullptr);
    // Read by the trigger that sends run alerts (src/sql/40_runs.sql). Off
    // by default: every role connected to the database may LISTEN, and a
    // role sees only its own mappings and runs elsewhere.
    DefineCustomBoolVariable("reverse_etl.alert_details",
                             "Whether NOTIFY reverse_etl_alerts payloads name the mapping and carry the run's "
                             "counts and error.",
                             "Off: only the run's id, status and whether it is a recovery, which a listener "
                             "looks up in reverse_etl.sync_runs (where each role sees its own runs).",
                             &alert_details_setting, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    // Scheduled runs take it as their worker connects (postgresql.conf,
    // ALTER DATABASE/ROLE ... SET for the model's owner); sync() carries the
    // caller's. INT_MAX - 1: sync() passes it plus one (see SyncWorkerArgs).
    DefineCustomIntVariable("reverse_etl.give_up_after",
                            "How long runs keep resending a failed or rejected record that does not change.",
                            "Counted from its first failure; then the record is listed as given up "
                            "(record_errors.given_up_at) until it changes or retry_records() is called. "
                            "0: forever.",
                            &give_up_after_setting, 0, 0, INT_MAX - 1, PGC_USERSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("reverse_etl.max_parallel_syncs", "Syncs the launcher runs at once.", nullptr,
                            &max_parallel_syncs_setting, 2, 1, 64, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("reverse_etl.naptime", "How often the launcher checks for due work.",
                            "request_sync() and enabling a mapping wake it at once.", &naptime_setting, 10000,
                            100, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("reverse_etl.live_max_backlog",
                            "Changed records an incremental live mapping may have waiting.",
                            "Past it, the mapping's waiting records are forgotten and its next run diffs the "
                            "whole model, which finds every change anyway (mapping_status.live_next_run says so).",
                            &live_max_backlog_setting, 100000, 1, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr,
                            nullptr);
    // Read by the launcher, which starts with the postmaster; defined in every
    // process so that postgresql.conf may set it whether or not it is used.
    // Without shared_preload_libraries there is no launcher, and PostgreSQL
    // refuses (FATAL) a PGC_POSTMASTER setting defined by a library loaded
    // after startup: there it is a reloadable setting nothing reads.
    const GucContext database_context =
        process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP;
    DefineCustomStringVariable("reverse_etl.database", "Database whose mappings the launcher schedules.", nullptr,
                               &database_setting, "postgres", database_context, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("reverse_etl");
}

int max_concurrent_requests() { return max_concurrent_requests_setting; }
bool adaptive_concurrency() { return adaptive_concurrency_setting; }
long request_timeout_ms() { return request_timeout_setting; }
int max_request_attempts() { return max_request_attempts_setting; }
std::string allowed_hosts() { return allowed_hosts_setting ? allowed_hosts_setting : "*"; }
std::string blocked_networks() {
    return blocked_networks_setting ? blocked_networks_setting : http::kDefaultBlockedNetworks;
}
std::string history_retention() { return history_retention_setting ? history_retention_setting : "30 days"; }
std::string launcher_database() { return database_setting ? database_setting : "postgres"; }
int max_parallel_syncs() { return max_parallel_syncs_setting; }
int naptime_ms() { return naptime_setting; }
int live_max_backlog() { return live_max_backlog_setting; }
int give_up_after_seconds() { return give_up_after_setting; }

bool set_in_session(const std::string &name) {
    const Result source = execute("SELECT source IN ('session', 'client') FROM pg_catalog.pg_settings WHERE name = $1",
                                  {name});
    return !source.empty() && source.scalar() == "t";
}

}  // namespace reverse_etl::pg
