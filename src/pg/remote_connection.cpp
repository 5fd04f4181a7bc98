#include "pg/remote_connection.hpp"

#include <algorithm>
#include <chrono>
#include <new>
#include <optional>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"
#include "pg/error_crossing.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/transaction.hpp"

extern "C" {
#include "access/transam.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "storage/latch.h"
#include "utils/wait_event.h"
}

namespace reverse_etl::pg {

namespace {

using Clock = std::chrono::steady_clock;

// Options with which libpq reads files (or asks for a key's passphrase): the
// server process's files are not a less privileged role's to read.
const std::set<std::string> kSuperuserOnlyOptions = {"passfile", "service", "sslcert", "sslkey", "sslrootcert",
                                                     "sslcrl", "sslcrldir", "sslpassword"};
const std::set<std::string> kSecretOptions = {"password", "sslpassword"};
constexpr int64_t kDefaultConnectTimeoutMs = 30000;

struct OptionsDeleter {
    void operator()(PQconninfoOption *options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;
struct ResultDeleter {
    void operator()(PGresult *result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

Options parse(const std::string &conninfo, std::string *problem) {
    char *message = nullptr;
    Options options(PQconninfoParse(conninfo.c_str(), &message));
    if (!options) {
        if (message == nullptr)
            throw std::bad_alloc();
        *problem = trimmed(message);
        PQfreemem(message);
    }
    return options;
}

std::string quoted_value(const char *value) {
    std::string text = "'";
    for (const char *c = value; *c; ++c) {
        if (*c == '\'' || *c == '\\')
            text += '\\';
        text += *c;
    }
    return text + "'";
}

}  // namespace

std::string local_type_name(unsigned int remote_oid, int type_modifier) {
    if (remote_oid == InvalidOid || remote_oid >= FirstNormalObjectId)
        return "text";
    const char *name = pg_guard([&]() -> const char * {
        const char kind = get_typtype(remote_oid);
        if (kind != TYPTYPE_BASE && kind != TYPTYPE_ENUM && kind != TYPTYPE_RANGE && kind != TYPTYPE_MULTIRANGE)
            return nullptr;
        return format_type_with_typemod(remote_oid, type_modifier);
    });
    return name != nullptr ? std::string(name) : "text";
}

ConninfoCheck check_conninfo(const std::string &subject, const std::string &conninfo, bool superuser) {
    std::string problem;
    const Options options = parse(conninfo, &problem);
    if (!options)
        throw Error(sqlstate::kInvalidParameterValue, subject + ": invalid connection string", problem);
    ConninfoCheck check;
    for (const PQconninfoOption *option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr)
            continue;
        const std::string keyword = option->keyword;
        if (keyword == "password" && *option->val != '\0')
            check.has_password = true;
        if (!superuser && kSuperuserOnlyOptions.count(keyword) > 0)
            throw Error(sqlstate::kInsufficientPrivilege,
                        subject + ": only superusers may set connection option " + quoted(keyword),
                        "With it, libpq would read files of the database server's own account.");
    }
    if (!superuser && !check.has_password)
        throw Error(sqlstate::kInsufficientPrivilege, subject + ": a password is required", "",
                    "Give password=... in the connection string. Without one, the server's own trust or peer "
                    "authentication could let the connection in as another role.");
    return check;
}

std::string mask_conninfo(const std::string &conninfo) {
    std::string problem;
    const Options options = parse(conninfo, &problem);
    if (!options)
        return "********";
    std::string masked;
    for (const PQconninfoOption *option = options.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr)
            continue;
        masked += (masked.empty() ? "" : " ") + std::string(option->keyword) + "=" +
                  (kSecretOptions.count(option->keyword) > 0 ? "********" : quoted_value(option->val));
    }
    return masked;
}

struct RemoteConnection::Impl {
    RemoteOptions options;
    PGconn *conn = nullptr;

    ~Impl() {
        if (conn != nullptr)
            PQfinish(conn);
    }

    // libpq's own words (the remote's FATAL included) are the message: they
    // are what a run's error, which keeps no detail, must say.
    [[noreturn]] void fail(const std::string &sqlstate, const std::string &what) const {
        const std::string reason = conn != nullptr ? trimmed(PQerrorMessage(conn)) : std::string();
        throw Error(sqlstate, options.subject + ": " + what + (reason.empty() ? "" : ": " + reason));
    }

    // Waits for the socket (or the latch, or `deadline`); a cancel or a
    // shutdown request interrupts the remote statement and raises here.
    void wait(bool for_write, Clock::time_point deadline) {
        long timeout_ms = -1;
        int events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE);
        if (deadline != Clock::time_point::max()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0)
                throw Error(sqlstate::kConnectionFailure, options.subject + ": timeout expired while connecting");
            timeout_ms = static_cast<long>(left);
            events |= WL_TIMEOUT;
        }
        const int rc = WaitLatchOrSocket(MyLatch, events, PQsocket(conn), timeout_ms, PG_WAIT_EXTENSION);
        if (rc & WL_LATCH_SET)
            ResetLatch(MyLatch);
        if (cancel_requested() || termination_requested() || InterruptPending) {
            cancel_remote();
            pg_guard([] { CHECK_FOR_INTERRUPTS(); });
        }
    }

    // Asks the remote to stop the statement in progress (best effort: the
    // connection is closed next anyway).
    void cancel_remote() {
        if (conn == nullptr || PQtransactionStatus(conn) != PQTRANS_ACTIVE)
            return;
        PGcancel *cancel = PQgetCancel(conn);
        if (cancel == nullptr)
            return;
        char message[256];
        (void) PQcancel(cancel, message, sizeof message);
        PQfreeCancel(cancel);
    }

    void connect(const std::string &conninfo, int64_t connect_timeout_ms) {
        std::string problem;
        const Options parsed = parse(conninfo, &problem);
        if (!parsed)
            throw Error(sqlstate::kInvalidParameterValue, options.subject + ": invalid connection string", problem);
        std::vector<const char *> keywords, values;
        for (const PQconninfoOption *option = parsed.get(); option->keyword != nullptr; ++option) {
            const std::string keyword = option->keyword;
            if (option->val == nullptr || keyword == "application_name" || keyword == "client_encoding")
                continue;
            keywords.push_back(option->keyword);
            values.push_back(option->val);
        }
        // Values come back in this database's encoding; the remote sees who we are.
        keywords.push_back("application_name");
        values.push_back("reverse_etl");
        keywords.push_back("client_encoding");
        values.push_back(GetDatabaseEncodingName());
        keywords.push_back(nullptr);
        values.push_back(nullptr);
        conn = PQconnectStartParams(keywords.data(), values.data(), 0);
        if (conn == nullptr)
            throw std::bad_alloc();
        if (PQstatus(conn) == CONNECTION_BAD)
            fail(sqlstate::kUnableToConnect, "could not connect");
        // libpq honours connect_timeout only in its blocking calls.
        const auto deadline = Clock::now() + std::chrono::milliseconds(connect_timeout_ms);
        PostgresPollingStatusType status = PGRES_POLLING_WRITING;
        while (status != PGRES_POLLING_OK) {
            if (status == PGRES_POLLING_FAILED)
                fail(sqlstate::kUnableToConnect, "could not connect");
            wait(status == PGRES_POLLING_WRITING, deadline);
            status = PQconnectPoll(conn);
        }
        if (options.require_password_use && !PQconnectionUsedPassword(conn))
            throw Error(sqlstate::kInsufficientPrivilege,
                        options.subject + ": the server did not ask for the password", "",
                        "A role that is not a superuser may only use a source whose server authenticates it "
                        "by password.");
    }

    // The last result of `sql` (sent as one simple query), errors raised.
    Result run(const std::string &sql) {
        if (!PQsendQuery(conn, sql.c_str()))
            fail(sqlstate::kConnectionFailure, "could not send a statement");
        return last_result();
    }

    Result last_result() {
        Result last;
        std::optional<Error> error;
        for (;;) {
            while (PQisBusy(conn)) {
                wait(false, Clock::time_point::max());
                if (!PQconsumeInput(conn))
                    fail(sqlstate::kConnectionFailure, "lost the connection");
            }
            Result result(PQgetResult(conn));
            if (!result)
                break;
            const ExecStatusType status = PQresultStatus(result.get());
            if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && !error)
                error = remote_error(result.get());
            last = std::move(result);
        }
        if (error)
            throw *error;
        if (!last)
            fail(sqlstate::kConnectionFailure, "no answer");
        return last;
    }

    Error remote_error(const PGresult *result) const {
        const auto field = [&](int code) {
            const char *value = PQresultErrorField(result, code);
            return value != nullptr ? std::string(value) : std::string();
        };
        std::string sqlstate = field(PG_DIAG_SQLSTATE);
        if (sqlstate.size() != 5)
            sqlstate = sqlstate::kConnectionFailure;
        // The remote's operator intervention (its statement timeout, 57014;
        // its shutdown, 57P01...) is not a cancel of this process: raised
        // with its own code, a run would record it as canceled here.
        if (sqlstate.compare(0, 2, "57") == 0)
            sqlstate = sqlstate::kExternalSystemError;
        std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
        if (message.empty())
            message = trimmed(PQresultErrorMessage(result));
        if (message.empty())
            message = trimmed(PQerrorMessage(conn));
        return Error(sqlstate, options.subject + ": " + message, field(PG_DIAG_MESSAGE_DETAIL),
                     field(PG_DIAG_MESSAGE_HINT));
    }
};

RemoteConnection::RemoteConnection(const std::string &conninfo, RemoteOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    int64_t connect_timeout_ms = kDefaultConnectTimeoutMs;
    std::string problem;
    if (const Options parsed = parse(conninfo, &problem)) {
        for (const PQconninfoOption *option = parsed.get(); option->keyword != nullptr; ++option)
            if (option->val != nullptr && std::string(option->keyword) == "connect_timeout")
                connect_timeout_ms = std::max<int64_t>(2, std::atoll(option->val)) * 1000;
    }
    impl_->connect(conninfo, connect_timeout_ms);
    if (impl_->options.statement_timeout_ms > 0)
        impl_->run("SET statement_timeout = " + std::to_string(impl_->options.statement_timeout_ms));
}

RemoteConnection::~RemoteConnection() = default;

std::string RemoteConnection::server_version() const {
    const char *version = PQparameterStatus(impl_->conn, "server_version");
    return version != nullptr ? version : "";
}

void RemoteConnection::command(const std::string &sql) { impl_->run(sql); }

std::vector<RemoteColumn> RemoteConnection::describe(const std::string &query) {
    if (!PQsendPrepare(impl_->conn, "", query.c_str(), 0, nullptr))
        impl_->fail(sqlstate::kConnectionFailure, "could not send the query");
    impl_->last_result();
    if (!PQsendDescribePrepared(impl_->conn, ""))
        impl_->fail(sqlstate::kConnectionFailure, "could not describe the query");
    const Result described = impl_->last_result();
    std::vector<RemoteColumn> columns;
    for (int i = 0; i < PQnfields(described.get()); ++i)
        columns.push_back(RemoteColumn{PQfname(described.get(), i), PQftype(described.get(), i),
                                       PQfmod(described.get(), i)});
    return columns;
}

void RemoteConnection::stream(const std::string &query, size_t chunk_rows,
                              const std::function<void(const TextRows &rows)> &visit) {
    // Written for PostgreSQL and Redshift alike: no NO SCROLL, no WITH HOLD.
    impl_->run("BEGIN READ ONLY");
    impl_->run("DECLARE reverse_etl_rows CURSOR FOR " + query);
    const std::string fetch = "FETCH FORWARD " + std::to_string(chunk_rows) + " FROM reverse_etl_rows";
    const auto send_fetch = [&] {
        if (!PQsendQuery(impl_->conn, fetch.c_str()))
            impl_->fail(sqlstate::kConnectionFailure, "could not send a statement");
    };
    TextRows rows;
    send_fetch();
    for (;;) {
        const Result result = impl_->last_result();
        if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
            impl_->fail(sqlstate::kConnectionFailure, "unexpected answer to FETCH");
        const int count = PQntuples(result.get());
        if (count == 0)
            break;
        // The remote reads the next chunk while this one is stored: on a
        // remote of its own, or a second core, the two overlap.
        send_fetch();
        const int width = PQnfields(result.get());
        rows.rows = static_cast<size_t>(count);
        rows.width = static_cast<size_t>(width);
        rows.values.clear();
        rows.values.reserve(rows.rows * rows.width);
        for (int r = 0; r < count; ++r)
            for (int c = 0; c < width; ++c)
                rows.values.push_back(PQgetisnull(result.get(), r, c) ? nullptr : PQgetvalue(result.get(), r, c));
        visit(rows);
    }
    impl_->run("CLOSE reverse_etl_rows");
    impl_->run("COMMIT");
}

}  // namespace reverse_etl::pg
