// A query's rows streamed from a background worker of its own (the model
// reader, worker/model_reader.cpp) to the process that started it, through a
// shared-memory queue: the reader runs the query while the starting process
// stores and uses the rows it has received, so that reading a model and
// delivering its records overlap (docs/performance.md, "the pipeline").
//
// The rows are sent as PostgreSQL sends a parallel worker's rows to its
// leader (minimal tuples), and the receiving end appends the first five
// columns of each row to a table as it takes them (the run's selection log,
// engine/delivery_log.hpp), in the order they came, at increasing TIDs. No
// PostgreSQL headers for the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reverse_etl::pg {

// What the reader runs. The query returns (record_id text, chg text,
// hash bigint, version bigint, dest_key text, vals text): the first five
// are the log table's columns, in its order.
struct StreamedQuery {
    std::string sql;
    // When not 0, the query's dest_key is NULL and the log's is the field of
    // this number (from 1) of vals, NULL when empty: what the outbox's
    // split_part gives (engine::outbox_destination_key_sql). Rendering the
    // key's column a second time in the reader cost a sync to Amplitude
    // (user_id from the email) a third more of PostgreSQL's JSON escaping.
    int dest_key_field = 0;
    // Runs as this role with this search_path, as a security-restricted,
    // read-only operation (RoleScope), in a REPEATABLE READ transaction.
    unsigned int role = 0;
    std::string search_path;
    // After the last row the reader proves the model's identifier unique
    // again (model_key_is_unique), as a run that reads the model itself does.
    std::string model_query;
    std::string key_column;
    // Put before the message of every error of the reader ("model \"m\": ").
    std::string error_prefix;
};

// One row received, as stored in the log table: views into the stream's
// memory, valid until its next take().
struct StreamedRow {
    std::string_view tid;   // "(block,offset)" of its row in the log table
    std::string_view record_id;
    std::string_view change;
    std::string_view version;
    std::optional<std::string_view> dest_key;
    std::optional<std::string_view> values;
};

class QueryStream {
  public:
    // Starts the reader. nullptr when no background worker slot is free
    // (max_worker_processes): the caller reads the model itself.
    static std::unique_ptr<QueryStream> start(const StreamedQuery &query);
    // Detaches from the queue and stops the reader, if it still runs.
    ~QueryStream();
    QueryStream(const QueryStream &) = delete;
    QueryStream &operator=(const QueryStream &) = delete;

    // Whether a take() would find something now (a row, the end, an error,
    // the reader gone), without waiting; needs no transaction.
    bool ready();
    // In a transaction: takes up to `max_rows` rows (at most 1,000) the
    // reader has sent, and none more once their text passed `max_bytes`
    // (waiting for the first one when `wait`), appends them to the log
    // table `schema`.`table_name` and returns them. Returns what it has when
    // the queue is empty, and nothing once the stream has ended (finished()).
    // Throws the reader's error (with its SQLSTATE, message, detail and
    // hint), and an error when the reader exited before the end of the rows.
    const std::vector<StreamedRow> &take(size_t max_rows, size_t max_bytes, bool wait, const std::string &schema,
                                         const std::string &table_name);
    // The reader sent its last row and proved the identifier unique.
    bool finished() const { return finished_; }

    struct Shared;   // the queue's end and the reader, in PostgreSQL's terms

  private:
    explicit QueryStream(Shared *shared) : shared_(shared) {}

    Shared *shared_;
    bool finished_ = false;
    uint64_t rows_taken_ = 0;
    uint64_t last_tid_key_ = 0;   // of the last row stored, (block << 16) | offset: TIDs must increase
    std::string text_;            // what the rows taken last view
    std::vector<StreamedRow> rows_;
};

// The reader's end (worker/model_reader.cpp), in its background worker:
// attaches to the segment the starting process made, connects to its
// database as its role and streams the query's rows, then the end of the
// stream or the error that stopped it. `configure_session` runs once
// connected, before the query. Returns when the reader may exit.
void serve_query_stream(uint32_t segment_handle, const std::function<void()> &configure_session);

}  // namespace reverse_etl::pg
