// Turns records into HTTP requests as a destination type's definition says (its
// "request" block and the action's "record" extras), so a destination that fits
// the common request shapes needs no C++ (SPEC section 3). Pure C++: no libcurl,
// no PostgreSQL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "destinations/element_renderer.hpp"
#include "destinations/secret_masker.hpp"
#include "http/http_types.hpp"
#include "http/oauth_token.hpp"
#include "http/rate_limiter.hpp"

namespace reverse_etl::destinations {

struct OutgoingRecord {
    std::string record_id;
    std::string payload;      // the record's compact JSON object (engine::PayloadBuilder)
    std::string message_id;   // deterministic dedup id; must be set when needs_message_id()
    std::string object_id;    // the destination's id of the record, when an answer gave one
    // Where each member of `payload` lies, when its builder said
    // (BuiltPayload::members); empty: found by a scan when needed.
    std::vector<JsonMemberSpan> payload_members = {};
};

struct PlannedRequest {
    http::HttpRequest request;
    std::vector<size_t> records;   // indexes into the input vector, in body order
};

// What one record contributes to a request body.
struct ElementResult {
    bool valid = false;
    std::string element;          // compact JSON object; empty when invalid
    std::string invalid_reason;   // why the record cannot be sent; empty when valid
};

struct InvalidRecord {
    size_t index;                 // into the input vector
    std::string reason;
};

class RequestBuilder {
  public:
    // `settings` are the destination's real (unmasked) settings; nullptr counts as {}.
    // Everything that depends only on settings is resolved here, once per run. Throws
    // Error 22023 when the settings cannot make a request (a required value unset, or
    // what catalog/request_rules.hpp refuses, as validate_settings did: a header
    // value with a line break, a client-owned header, an unknown placeholder in the
    // URL setting).
    // `type` and `action` need not outlive the builder.
    // `operation`: the destination operation the requests carry (catalog::
    // operation_for); its request and element when the action declares them.
    RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action,
                   const json_t *settings, const std::string &operation = {});
    // The requests of an operation's lookup (catalog::LookupDef).
    RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action,
                   const json_t *settings, const catalog::LookupDef &lookup);

    // The batch size: the definition's (or its setting's), never above the action's
    // max_batch_records; 1 when the URL carries {{record_id}}, {{fields.NAME}} or
    // {{object_id}}, or the body is "none".
    size_t max_records_per_request() const { return max_records_; }
    // The action's max_batch_bytes; 0 = no limit.
    size_t max_bytes_per_request() const { return max_bytes_; }
    // Whether an element of this many bytes fits in a request on its own.
    bool fits_alone(size_t element_bytes) const {
        return max_bytes_ == 0 || body_open_.size() + element_bytes + body_close_.size() <= max_bytes_;
    }
    // The timeout setting's interval text, if the type has one and it is set; the
    // engine converts it (and falls back to reverse_etl.request_timeout).
    const std::optional<std::string> &timeout_interval() const { return timeout_; }
    // The definition's rate limit with its settings read; nullopt when none
    // is declared or its requests setting is unset. The scope names which
    // requests to the destination share it.
    const std::optional<http::RateLimit> &rate_limit() const { return rate_limit_; }
    const std::string &rate_limit_scope() const { return rate_limit_scope_; }
    // How this operation's answers are read (the definition's "response" block).
    const catalog::ResponseSpec &response() const { return response_; }
    // The record's key as the answers name it (the response block's
    // record_key: a field's text, the record id); "" for answers not read by keys.
    std::string record_key(const OutgoingRecord &record) const;
    // The record's key as an answer read by key lists names it in the lists
    // whose key is response().records.list_keys[index]; "" without a value.
    std::string list_key(const OutgoingRecord &record, size_t index) const;
    // The record's key as an asynchronous job's errors name it in the
    // members whose key is response().job->error_keys[index].second.
    std::string job_error_key(const OutgoingRecord &record, size_t index) const;
    // A job's requests (response().job): its state, and the first page of
    // its errors, with every request's headers (auth included); the job id
    // percent-encoded into the URL. A later page of errors is `url` itself.
    http::HttpRequest job_status_request(const std::string &job_id) const;
    std::string job_errors_url(const std::string &job_id) const;
    http::HttpRequest job_get_request(std::string url) const;
    // True if elements carry {{message_id}}, or requests a webhook-id made of
    // them (standard-webhooks signing): records then need a message_id.
    bool needs_message_id() const { return needs_message_id_; }
    // Whether an element is rendered from each record's payload members:
    // then OutgoingRecord::payload_members spares a scan of each payload.
    bool reads_payload_members() const { return element_ && element_->reads_payload_members(); }
    // Every payload this builder is given from now on has only members of
    // these keys (engine::PayloadBuilder::member_keys): what rendering its
    // element can skip is decided once (ElementRenderer::declare_payload_keys).
    void declare_payload_keys(const std::vector<std::string> &keys) {
        if (element_)
            element_->declare_payload_keys(keys);
    }

    // The record's payload plus the action's "record" extras. Invalid when over the
    // action's max_record_bytes, when a request carrying it alone would be over
    // max_bytes_per_request(), or when a {{fields.NAME}} of the URL has no usable
    // value. Throws Error XX000 for caller bugs (payload not a JSON object, missing
    // message_id).
    ElementResult element(const OutgoingRecord &record) const;

    // Groups the records into requests, in input order, each within the batch size
    // and max_bytes_per_request. Invalid records (element()) go in no request; they
    // are appended to `invalid` when given. `after_each`, when given, is called
    // after each request is assembled (the delivery loop serves its requests
    // in flight meanwhile); it must not plan with this builder.
    std::vector<PlannedRequest> plan(const std::vector<OutgoingRecord> &records,
                                     std::vector<InvalidRecord> *invalid = nullptr,
                                     const std::function<void()> &after_each = {}) const;

    // Exactly records[indexes...] in one request, in that order: for splitting a
    // rejected batch in halves. Throws Error XX000 if an index is out of range, there
    // are none or more than max_records_per_request(), or a record is invalid.
    PlannedRequest build(const std::vector<OutgoingRecord> &records,
                         const std::vector<size_t> &indexes) const;

    // The request as a user may see it (send_test_record): values of headers that
    // carry credentials (auth, user headers, headers built from secret settings)
    // become "********", and secrets in the URL or other headers are masked. The
    // body is left to the caller (secrets()): definitions cannot put secret
    // settings in bodies.
    http::HttpRequest masked(const http::HttpRequest &request) const;
    // Finds the secret settings' values, and the base64 of Basic auth pairs, in
    // any text in any form they travel in (raw, percent-encoded, JSON-escaped):
    // for what a destination echoes back, which run history, record errors and
    // send_test_record keep or show.
    const SecretMasker &secrets() const { return secrets_; }
    // The refresh token grant when the auth entry that applies is
    // oauth_refresh: requests then carry no Authorization header, and the
    // caller puts the access token in (set_bearer_token, http::AccessToken).
    const std::optional<http::OAuthGrant> &oauth() const { return oauth_; }

  private:
    RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action, const json_t *settings,
                   const catalog::RequestSpec &spec, const std::optional<catalog::ElementNode> &element);

    struct Extra {
        std::string member;                 // the key as JSON text followed by ':'
        catalog::RequestTemplate text;         // settings resolved; string values only
        std::optional<std::string> json;    // set for non-string values
    };
    struct Signing {
        catalog::SigningAlgorithm algorithm = catalog::SigningAlgorithm::HmacSha256Hex;
        std::string header;    // hmac-sha256-hex only
        std::string prefix;
        // The HMAC key: the secret's bytes, or a Standard Webhooks secret's
        // decoded key. Shared with every request's attempt_headers.
        std::shared_ptr<const std::string> key;
    };
    struct RecordUrl {
        std::string url;
        std::string problem;                // why the record cannot make a URL; empty if fine
    };

    // `members`: a wrapped body's members before the records (body_members_text).
    void init_body(const catalog::RequestSpec &spec, const std::string &members);
    std::string with_extras(const OutgoingRecord &record) const;
    // The record's element for a request body: a view of its payload when the
    // destination adds nothing to it, else of the text appended to `storage`
    // (valid until `storage` changes). Sets `invalid_reason` (and returns
    // nothing) instead when the record cannot be sent; what it appended is
    // then the caller's to cut off.
    std::string_view element_text(const OutgoingRecord &record, std::string &storage,
                                  std::string &invalid_reason) const;
    RecordUrl record_url(const OutgoingRecord &record) const;
    std::string body_of(const std::vector<std::string_view> &elements) const;
    // A query list: one element's text in the parameter (quoted as the
    // definition says), before percent-encoding; the parameter's value.
    std::string query_piece(std::string_view element) const;
    std::string query_list_value(const std::vector<std::string_view> &elements) const;
    // What one more element adds to a query list's URL, in bytes (its
    // separator included when it is not the first).
    size_t query_cost(std::string_view element, bool first) const;
    bool fits(size_t count, size_t body_bytes, size_t element_bytes, size_t url_bytes, size_t url_cost) const;
    PlannedRequest assemble(const std::vector<OutgoingRecord> &records, std::vector<size_t> indexes,
                            const std::vector<std::string_view> &elements) const;
    bool is_masked_header(const std::string &name) const;

    catalog::ResponseSpec response_;
    // response_.job's URLs before the job id, settings put in.
    std::string job_status_base_, job_errors_base_;
    // Every request's HttpRequest::retry_also: the response block's retry answers.
    std::function<bool(const http::HttpResponse &)> retry_also_;
    std::string method_;
    catalog::RequestTemplate url_;       // settings resolved: only Text, RecordId and Field remain
    bool url_per_record_ = false;
    bool url_reads_fields_ = false;
    bool url_reads_object_id_ = false;   // {{object_id}}: a record without one cannot be sent
    bool no_body_ = false;               // BodyShape::None: the URL says it all
    size_t max_records_ = 1;
    // Where plan() renders elements (a builder plans for one thread at a time).
    mutable std::string rendered_;
    std::string action_key_;         // for messages
    size_t max_bytes_ = 0;
    size_t max_record_bytes_ = 0;
    bool single_record_body_ = false; // the body is the record's object, not a list
    std::string body_open_, body_close_;
    std::optional<std::string> form_prefix_;   // a form body: "<members>&<wrap key>="
    std::optional<std::string> query_list_;    // no body: the elements go in this query parameter
    catalog::QueryQuote query_quote_ = catalog::QueryQuote::None;
    // A query list's text around the elements (settings put in), when the
    // definition gives one: then the whole value is percent-encoded.
    std::optional<std::pair<std::string, std::string>> query_around_;
    size_t max_url_bytes_ = 0;     // 0: no limit
    size_t url_base_bytes_ = 0;    // a query list's URL without its elements
    http::Headers headers_;           // every request's headers except the signature
    std::optional<Signing> signing_;
    std::optional<std::string> timeout_;
    std::optional<http::RateLimit> rate_limit_;
    std::string rate_limit_scope_;
    std::vector<Extra> extras_;
    std::optional<ElementRenderer> element_;   // the action's "element" block, if any
    bool needs_message_id_ = false;
    std::vector<std::string> masked_headers_;   // names whose values are credentials
    std::optional<http::OAuthGrant> oauth_;
    SecretMasker secrets_;
};

// Standard Webhooks' headers for `body` sent at `timestamp` (Unix seconds):
// webhook-id `id`, webhook-timestamp, and webhook-signature "v1," + the base64
// of HMAC-SHA256(key, id "." timestamp "." body).
http::Headers standard_webhooks_headers(const std::string &key, const std::string &id, int64_t timestamp,
                                        const std::string &body);

// The webhook-id of a request carrying records with these message ids, in
// body order: "msg_" + the first 32 hex digits of the SHA-256 of the ids,
// each followed by a line feed. The message ids are deterministic per
// (mapping, record, record version), so a retried request, in this run or a
// later one, carries the same id, and receivers can drop the repeat.
std::string webhook_id(const std::vector<std::string> &message_ids);

// Sets the request's Authorization header to the bearer token (an OAuth access
// token), replacing any.
void set_bearer_token(http::HttpRequest &request, const std::string &token);

}  // namespace reverse_etl::destinations
