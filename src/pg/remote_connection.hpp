// A connection to a remote source (SPEC section 10) through libpq: connection
// strings checked and masked, a connection that waits on the process latch
// (so a cancel, a shutdown or the postmaster's death interrupts it at once),
// and queries read through a cursor in bounded chunks.
//
// Lives in pg/ because waiting means WaitLatchOrSocket and CHECK_FOR_INTERRUPTS.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pg/text_rows.hpp"

namespace reverse_etl::pg {

// Connection options that libpq reads files or the environment with: a role
// that is not a superuser must not make the server's process read them (its
// ~/.pgpass, its client key), nor connect without a password (the server's
// own peer or trust authentication would let it in as someone else).
struct ConninfoCheck {
    bool has_password = false;
};

// Parses a connection string (key=value or URI) as libpq does; throws 22023
// with libpq's message when it cannot, and 42501 when a role that is not a
// superuser uses an option that reads the server's files (passfile, service,
// sslcert, sslkey, sslrootcert, sslcrl, sslcrldir, sslpassword) or gives no
// password. `subject` names the source in messages.
ConninfoCheck check_conninfo(const std::string &subject, const std::string &conninfo, bool superuser);

// The connection string with the password (and sslpassword) as "********",
// written back as key='value' pairs; unparseable text is masked whole.
std::string mask_conninfo(const std::string &conninfo);

struct RemoteOptions {
    std::string subject;                    // "source \"warehouse\"", for messages
    int64_t statement_timeout_ms = 0;       // 0: the remote's own
    bool require_password_use = true;       // a non-superuser's: the server must have asked for it
};

// The local name of a type the remote described by OID: built-in types keep
// their OIDs across PostgreSQL versions (and Redshift keeps PostgreSQL's), so
// a built-in OID that exists here is that type; anything else (the remote's
// own types and domains, pseudo-types) arrives as text.
std::string local_type_name(unsigned int remote_oid, int type_modifier);

struct RemoteColumn {
    std::string name;
    unsigned int type_oid = 0;   // the remote's type OID
    int type_modifier = -1;
};

class RemoteConnection {
  public:
    RemoteConnection(const std::string &conninfo, RemoteOptions options);
    ~RemoteConnection();
    RemoteConnection(const RemoteConnection &) = delete;
    RemoteConnection &operator=(const RemoteConnection &) = delete;

    // "15.4" style, from the server's server_version parameter.
    std::string server_version() const;

    // A statement without a result to read (SET, BEGIN, CLOSE...).
    void command(const std::string &sql);

    // The result columns of `query`, planned (not run) by the remote.
    std::vector<RemoteColumn> describe(const std::string &query);

    // Runs `query` in a read-only transaction through a cursor, `chunk_rows`
    // rows a fetch; visit() gets each fetched chunk, its values read in
    // place from the remote's answer (valid until visit returns). Memory
    // holds one chunk at a time, and the next one as it arrives.
    void stream(const std::string &query, size_t chunk_rows, const std::function<void(const TextRows &rows)> &visit);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace reverse_etl::pg
