// A destination type as declared by its definition file
// (src/destinations/<type>.json). Pure C++; catalog_store.hpp keeps each
// backend's parsed types (cached_destination_type).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace reverse_etl::catalog {

// Types a setting may have. "interval" settings are strings PostgreSQL's
// interval input accepts; "object" settings map names to strings (headers).
enum class SettingType { String, Integer, Boolean, Object, Interval };

struct SettingSpec {
    std::string key;
    SettingType type = SettingType::String;
    bool required = false;
    bool secret = false;             // write-only: shown as "********" everywhere
    std::string description;
    std::optional<std::string> default_json;     // JSON text of the default, if any
    // "default_from": a string setting's default made from another setting's value:
    // the text after its last `after_last` between `prefix` and `suffix`
    // (Mailchimp: the data center "us6" of an API key "...-us6" makes
    // https://us6.api.mailchimp.com/3.0). Only letters and digits are taken, so a
    // value cannot name another host; anything else leaves the setting unset.
    struct DefaultFrom {
        std::string setting, after_last, prefix, suffix;
    };
    std::optional<DefaultFrom> default_from;
    std::vector<std::string> allowed_values;     // for strings: the only values accepted
    std::optional<long long> minimum, maximum;   // for integers
};

// Field types as the SPEC names them.
enum class FieldType { String, Number, Integer, Boolean, Datetime, Object, Array, Any };

struct FieldSpec {
    std::string key;
    FieldType type = FieldType::String;
    bool required = false;
    std::string description;
    // Fixed objects: the only properties the object may carry. Empty = free object.
    std::vector<std::string> properties;
};

// ---- how requests are built: the definition's "request" block ----
// Parsed and checked once with the definition, so a type that fits these shapes
// needs no C++ (SPEC section 3). src/destinations/request_builder.cpp renders them.

// One piece of a text with {{...}} placeholders.
struct RequestTemplatePart {
    enum class Kind {
        Text,       // literal text
        Setting,    // {{settings.KEY}}: `text` is the setting key
        ActionSetting,  // {{action_settings.KEY}}: `text` is the key of a setting the
                        // action declares, given per mapping (catalog/action_settings.hpp
                        // replaces these parts with the mapping's values)
        RecordId,   // {{record_id}}
        Field,      // {{fields.NAME}}: `text` is the field name (a key of the payload)
        MessageId,  // {{message_id}}: the record's deterministic dedup id
        MessageUuid,  // {{message_uuid}}: the same id as a UUID (36 characters of hex and
                      // dashes) for APIs that limit their dedup ids (Mixpanel $insert_id)
        ObjectId,     // {{object_id}}: the destination's id of the record, as an earlier
                      // answer gave it (RecordOutcomeSpec::object_id); a record without
                      // one cannot be sent where an element needs it
        KeyField,     // {{key_field}}: the name of the action's key field, and
        Key,          // {{key}}: the record's value of it. Both become Text and Field
                      // parts once the key field is known (catalog/key_field_binding.hpp):
                      // as the definition is read, or per mapping when an action
                      // setting names it (HubSpot's id_property).
    };
    // Applied to a record value (Field, Key) as a URL is built; the parser allows
    // one only in URLs. Md5Lower: the lower-case hex MD5 of the value with ASCII
    // letters lower-cased ({{fields.email_address|md5_lower}}, Mailchimp's
    // subscriber hash).
    enum class Filter { None, Md5Lower };
    Kind kind = Kind::Text;
    std::string text;
    Filter filter = Filter::None;
};

struct RequestTemplate {
    std::string source;                // as written, for messages
    std::vector<RequestTemplatePart> parts;   // in order; adjacent Text parts never occur

    bool uses(RequestTemplatePart::Kind kind) const;
    std::vector<std::string> setting_keys() const;   // in order of appearance, repeats kept
};

// Splits `text` at its placeholders ({{record_id}}, {{message_id}}, {{message_uuid}},
// {{settings.KEY}}, {{action_settings.KEY}}, {{fields.NAME}}; spaces inside the
// braces are ignored). Which kinds are allowed, and whether a setting exists, is
// the caller's business. nullopt with `problem` set when the braces do not close
// or a placeholder is not one of those.
std::optional<RequestTemplate> parse_request_template(const std::string &text, std::string &problem);

// A request property that is either fixed by the definition or read from a setting.
template <typename T>
struct Configurable {
    std::string setting;        // empty: the value is `fallback`
    std::optional<T> fallback;  // used when the setting is unset and has no default
};

enum class BodyShape {
    RecordOrArray,   // one record per request: the object; else a JSON array
    Array,           // always a JSON array
    Record,          // always one record's object (one record per request)
    Wrapped,         // {"<wrap_key>": [records]}
    Form,            // <members>&<wrap_key>=<JSON array of records>, form-encoded (Amplitude's /identify)
    None,            // no body: one record per request, addressed by its URL
                     // (Intercom's DELETE /contacts/{{object_id}})
    QueryList,       // no body: the elements (ids) comma-separated in query parameter <wrap_key>
                     // (Salesforce's DELETE /composite/sobjects?ids=a,b), or inside a
                     // text around them (QueryListSpec: Salesforce's SOQL lookup)
};

// How each element is written in a QueryList parameter whose text is given.
enum class QueryQuote {
    None,   // its text as it is
    Soql,   // a SOQL string literal: in single quotes, with \ ' and the control
            // characters SOQL names (\n \r \t \b \f) backslash-escaped
};

// BodyShape::QueryList with a "value": the parameter's text is `before`, the
// elements (quoted as `quote` says) joined by commas, then `after`, the whole
// percent-encoded (Salesforce's GET /query?q=SELECT ... IN ('a','b')).
struct QueryListSpec {
    bool templated = false;          // false: the elements alone, each percent-encoded
    RequestTemplate before, after;   // settings and action settings only
    QueryQuote quote = QueryQuote::None;
    // The whole URL at most this many bytes (0: no limit): a request carries
    // fewer records rather than be refused for its length.
    int max_url_bytes = 0;
};

// OAuthRefresh: an OAuth 2 refresh token grant (RFC 6749 section 6) gets the
// access token, sent as a bearer token; the engine fetches and caches it
// (http/oauth_token.hpp), the request builder only says where and with what.
// SPEC section 3: every type has a base-URL setting, so tests and proxies can
// point it anywhere: "url" or "endpoint", or "instance_url" (Salesforce, whose
// orgs each have their own host), or "webhook_url" (Slack: the incoming
// webhook's whole URL, a secret, is the only setting).
inline bool is_base_url_setting(const std::string &key) {
    return key == "url" || key == "endpoint" || key == "instance_url" || key == "webhook_url";
}

// JwtBearer: a service account's JSON key (a secret setting) signs a JWT that
// the key's token_uri exchanges for an access token (RFC 7523; Google), sent
// as a bearer token and cached as OAuthRefresh's is.
enum class AuthKind { Bearer, Basic, Header, Query, OAuthRefresh, JwtBearer };

struct AuthSpec {
    AuthKind kind = AuthKind::Bearer;
    std::string header;        // the header it sets: "Authorization" for bearer, basic and
                               // oauth_refresh; for Query, the query parameter's name
    RequestTemplate value;        // bearer: the token; basic: the user name; header: its value;
                                  // oauth_refresh: the client id; jwt_bearer: the JSON key
    RequestTemplate password;     // basic: the password; oauth_refresh: the client secret
    RequestTemplate refresh_token;   // oauth_refresh only
    RequestTemplate token_url;       // oauth_refresh only: where the grant is posted
    std::string scope;               // jwt_bearer only: the scope the token is asked for
};

// How requests are signed, named as definitions (and the settings that choose
// one) write it.
enum class SigningAlgorithm {
    HmacSha256Hex,      // "hmac-sha256-hex": `header` carries `prefix` + the lower-case hex
                        // of HMAC-SHA256(secret, the exact body bytes)
    StandardWebhooks,   // "standard-webhooks" (standardwebhooks.com): webhook-id,
                        // webhook-timestamp and webhook-signature "v1,<base64 of
                        // HMAC-SHA256(key, id "." timestamp "." body)>", the secret
                        // "whsec_<base64 of the key>" (catalog/request_rules.hpp)
};
inline constexpr const char *kSigningAlgorithms[] = {"hmac-sha256-hex", "standard-webhooks"};
std::optional<SigningAlgorithm> signing_algorithm_named(const std::string &name);

struct SigningSpec {
    Configurable<std::string> algorithm;   // one of kSigningAlgorithms, or the setting giving one
    RequestTemplate secret;
    // hmac-sha256-hex only (Standard Webhooks fixes its header names):
    Configurable<std::string> header;   // e.g. "X-Signature", or a setting naming it
    std::string prefix;                 // e.g. "sha256="
};

// ---- how answers are read: the request's "response" block ----

// A path into a JSON answer, e.g. {"errors", "0", "message"}; empty = the answer itself.
using JsonPath = std::vector<std::string>;
// A path step that is the action's key field's name ("properties.{{key_field}}"),
// put in with the {{key_field}} placeholders (catalog/key_field_binding.hpp).
inline constexpr const char *kKeyFieldStep = "{{key_field}}";

// Where an answer says which records of the request failed (SPEC section 3:
// one bad record never fails its batch).
enum class RecordOutcomeKind {
    None,            // the status speaks for every record of the request
    ErrorsByIndex,   // a list of errors, each naming its record's index in the request
    ResultsInOrder,  // one result per record, in request order, each with a success flag
    IndexLists,      // objects of field -> [indexes of the records that field failed]
    Single,          // one record per request: the answer (a listed status) is its result
                     // (Intercom answers a created contact with the contact object)
    KeyedResults,    // results and errors in any order, each naming its record by a key
                     // (HubSpot: the upsert's email, the create's objectWriteTraceId)
    KeyLists,        // lists of the keys of the records that failed, each list a reason
                     // (Iterable's failedUpdates.invalidEmails, ...), in a 2xx answer
};

// KeyLists: one list of an answer, and the key its entries name records by.
struct KeyList {
    JsonPath path;          // where the list is, e.g. failedUpdates.invalidEmails
    size_t key = 0;         // which of RecordOutcomeSpec::list_keys its entries are
};

struct RecordOutcomeSpec {
    RecordOutcomeKind kind = RecordOutcomeKind::None;
    std::vector<long> statuses;          // the answers that carry per-record outcomes
    JsonPath list;                       // ErrorsByIndex, ResultsInOrder: the array
    JsonPath index;                      // ErrorsByIndex: the index inside an error
    std::vector<JsonPath> message;       // the error's text: the values found, joined by ": "
    JsonPath success;                    // ResultsInOrder: the boolean inside a result
    // ResultsInOrder, KeyedResults, Single: the destination's id of the record inside
    // a result (Salesforce "id"), kept in the checkpoint for the record's
    // later updates and deletion; empty: the answer gives none.
    JsonPath object_id;
    // KeyedResults: each record's key as sent ({{fields.email}}, {{record_id}});
    // inside a result, where its key is; the list of errors and, inside an
    // error, the list of the keys it concerns. Keys compare ignoring ASCII
    // case (HubSpot answers emails in lower case).
    RequestTemplate record_key;
    JsonPath key;
    // Set when a lookup's keyed_results leaves record_key and key out: the
    // key is the record's value of the action's key field, and a result
    // names it in the member named as that field (Salesforce's SOQL rows).
    // The request builder fills record_key and key in once the key field is
    // known (it may be an action setting).
    bool keyed_by_key_field = false;
    JsonPath errors;
    JsonPath error_keys;
    std::vector<std::string> objects;    // IndexLists: members of the answer, e.g.
                                         // "events_with_invalid_fields"
    // KeyLists: the lists read (those the definition names; others are not
    // failures, or unknown) and the distinct record keys they name records
    // by ({{fields.email}}, {{fields.userId}}): a record may be named by any.
    std::vector<KeyList> key_lists;
    std::vector<RequestTemplate> list_keys;
    // The records an answer does not name: delivered (false), or not accepted
    // and to be sent again without the named ones (true: Amplitude drops the
    // whole request when one event is invalid).
    bool others_retry = false;
};

// An answer that means the credentials are wrong though its status is not 401
// or 403 (Amplitude answers a bad API key with 400): the run fails.
struct FatalAnswer {
    long status = 0;
    JsonPath path;          // a string in the answer; empty: the answer itself, JSON or text
    std::string prefix;     // ... that starts with this
};

// An API that answers a request with a job to poll (Klaviyo's bulk profile
// import: 202 and a job id), whose errors name the records that failed once
// it is done (catalog/job_definition.hpp reads the "job" block). The job's
// records are neither delivered nor failed until then.
struct JobSpec {
    std::vector<long> statuses;          // the answers that start a job (202)
    JsonPath id;                         // the job's id in such an answer
    // The job's URL: the text before {{job_id}} (settings only, starting with
    // the base URL setting), the id percent-encoded, then `status_after`.
    RequestTemplate status_url;
    std::string status_after;
    JsonPath state;                      // the job's state in the job's answer
    std::vector<std::string> done;       // states of a job that ran: its errors are read
    std::vector<std::string> failed;     // states of a job that did not: its records fail
    JsonPath failed_count;               // optional: how many of its records failed
    // Where its errors are (built like status_url), the list in an answer,
    // the link to the next page (a URL under the errors URL), each error's
    // keys (path inside an error -> the record key it is: {{fields.email}})
    // and message.
    RequestTemplate errors_url;
    std::string errors_after;
    JsonPath errors_list;
    JsonPath errors_next;
    std::vector<std::pair<JsonPath, RequestTemplate>> error_keys;
    std::vector<JsonPath> message;
    // How long a run waits for its jobs (an interval setting), and between
    // polls of one job (milliseconds, doubled up to poll_max_ms).
    Configurable<std::string> wait;
    int poll_ms = 1000;
    int poll_max_ms = 30000;
};

struct ResponseSpec {
    RecordOutcomeSpec records;
    std::optional<JobSpec> job;   // absent: answers are final
    // Not empty: a 2xx answer whose body (spaces trimmed) is none of these
    // failed (Mixpanel's /engage answers 200 with "0").
    std::vector<std::string> success_bodies;
    std::vector<FatalAnswer> fatal;
    // Matched like `fatal`. `exhausted`: the destination's daily allowance is
    // used up: the run fails (54000) and its records go in a later run
    // (Salesforce's 403 "TotalRequests Limit exceeded."). `retry`: a refusal
    // for now, retried with backoff like a 429, Retry-After honoured
    // (Salesforce's 403 REQUEST_LIMIT_EXCEEDED for concurrent requests).
    // `exhausted` is checked first.
    std::vector<FatalAnswer> exhausted;
    std::vector<FatalAnswer> retry;
};

// The vendor's request rate for these requests (the request block's
// "rate_limit"): at most `requests` per `per_seconds`, `burst` of them at
// once. Every run sending to one destination under one `scope` shares the
// limit (engine/request_pacing.hpp): requests to different endpoints that
// the vendor limits separately name different scopes.
struct RateLimitSpec {
    Configurable<int> requests;   // from a setting left unset, with no fallback: no limit
    int per_seconds = 1;
    Configurable<int> burst;      // unset: 1 (evenly spaced); never above requests
    std::string scope;            // "" : the destination as a whole
};

struct RequestSpec {
    Configurable<std::string> method;        // POST, PUT, PATCH or DELETE
    RequestTemplate url;                        // starts with the url or endpoint setting
    Configurable<int> batch_size;            // neither set: the action's max_batch_records
    BodyShape body = BodyShape::RecordOrArray;
    std::string wrap_key;                    // BodyShape::Wrapped, Form and QueryList
    QueryListSpec query_list;                // BodyShape::QueryList
    // BodyShape::Wrapped and Form: members written before the records' array
    // (Amplitude's "api_key"); a member built from an unset setting is left out.
    std::vector<std::pair<std::string, RequestTemplate>> body_members;
    // Members written as JSON true/false in the definition, sent as that literal
    // (their template is its text): Mailchimp's "update_existing": true.
    std::set<std::string> literal_body_members;
    // Query parameters appended to the URL, percent-encoded; one built from an
    // unset setting is left out.
    std::vector<std::pair<std::string, RequestTemplate>> query;
    std::vector<std::pair<std::string, RequestTemplate>> headers;   // in definition order
    std::string headers_setting;             // an object setting of extra user headers
    std::vector<AuthSpec> auth;              // alternatives: the first whose settings are set
    std::optional<SigningSpec> signing;
    Configurable<std::string> timeout;       // interval text; unset: the GUC applies
    std::optional<RateLimitSpec> rate_limit;  // absent: no declared limit
    ResponseSpec response;
};

// ---- elements: what one record becomes in a request body ----

// The action's "element" block: a JSON shape whose strings may be placeholders
// over the record's payload (the mapped fields). Without one, the element is
// the payload plus the action's "record" extras.
struct ElementNode {
    enum class Kind {
        Literal,   // JSON sent as written (`json`)
        Field,     // "{{fields.NAME}}": the field's value; left out when not in the payload
        Fields,    // "{{fields}}", "{{fields|except:a,b}}": the payload's members
        Text,      // a string with {{record_id}}, {{message_id}}, {{message_uuid}}, {{settings.KEY}}
        Object,    // keys[i] -> values[i], after the members of `merge` when set
        Array,     // values, in order
    };
    // How a Field's value is written: as the payload has it, or a date and
    // time (ISO 8601 text) as milliseconds since 1970 (Mixpanel, Amplitude).
    enum class Format { AsIs, EpochMillis, EpochSeconds };

    Kind kind = Kind::Literal;
    std::string json;                   // Literal
    std::string field;                  // Field
    bool key = false;                   // Field written "{{key}}": `field` is the action's
                                        // key field, filled in once it is known
    Format format = Format::AsIs;       // Field
    std::vector<std::string> except;    // Fields
    // Fields written "{{fields|values}}", only as an array's element: the
    // fields' values, in payload order, spread into the array (a row of
    // cells: Google Sheets); a null is written "" and an object or array as
    // its JSON text, since a cell holds neither.
    bool spread = false;
    RequestTemplate text;               // Text
    std::vector<std::string> keys;      // Object
    // Object: each key as JSON text with its colon, written by the renderer
    // that resolves the node (empty until then), so that a record's element
    // does not escape the same keys again.
    std::vector<std::string> key_json;
    std::vector<ElementNode> values;    // Object, Array
    // Object: "$merge": a Field (an object) or Fields node whose members come
    // first; the object's own keys override them. Empty or one node.
    std::vector<ElementNode> merge;
};

// A property the definition adds to every record element (Segment's "type" and
// "messageId"). Strings are templates; any other JSON value is sent as written.
struct RecordExtra {
    std::string key;
    std::optional<RequestTemplate> text;   // set for string values
    std::string json;                   // compact JSON text for other values
};

// What an action sends for one kind of change (SPEC section 4: upsert, update,
// add, delete), where that differs from the action's own request and element
// (Braze deletes go to /users/delete as a list of ids).
// Finds the destination's ids of records whose checkpoint has none, before an
// operation whose elements need them ({{object_id}}): HubSpot archives by id,
// so a deletion of a contact known by its email first reads the id
// (batch/read with idProperty). The answer is read as KeyedResults.
struct LookupDef {
    RequestSpec request;                 // the operation's request with the lookup's over it
    // Absent: the record's value of the action's key field (a lookup finds
    // records by their key).
    std::optional<ElementNode> element;
    // A record the answer does not list: delivered (a deletion of a record
    // the destination no longer has is done), rejected, or created: sent
    // through the action's "add" operation instead (Intercom's upsert of a
    // contact it does not have: there is no upsert endpoint).
    enum class Missing { Delivered, Rejected, Add };
    Missing missing = Missing::Delivered;
};

// What an operation sends instead when the mapping's key field is a given
// one (the operation's "by_key_field"): Iterable deletes a user known by
// email at /api/users/{email}, one known by userId at
// /api/users/byUserId/{userId}. Only for a key field an action setting names.
struct OperationVariant {
    RequestSpec request;                 // the operation's request with the variant's over it
    std::optional<ElementNode> element;  // the variant's, else the operation's
};

struct OperationDef {
    RequestSpec request;                 // the action's request with the operation's over it
    std::optional<ElementNode> element;  // the operation's, else the action's
    std::optional<LookupDef> lookup;
    // By key field name; bind_action_settings puts the one for the mapping's
    // key field in place of `request` and `element`, and drops them all.
    std::map<std::string, OperationVariant> by_key_field;
};

struct ActionDef {
    std::string key;                 // e.g. "identify"
    std::string name;                // display name, e.g. "Identify User": the mapping's default name
    std::string description;
    std::vector<std::string> sync_modes;
    std::string default_sync_mode;
    bool free_fields = false;        // any key is a field (webhook "send")
    // With free fields: suggest_mappings proposes each column no declared
    // field matched under its own name (a custom attribute). Off where a
    // name must already exist at the destination (a CRM property), as a
    // column's name rarely is one.
    bool suggest_other_columns = true;
    std::vector<FieldSpec> fields;   // in definition order
    // Each inner list: at least one of these fields must be mapped (and non-null at sync time).
    std::vector<std::vector<std::string>> required_one_of;
    int max_batch_records = 1;
    int max_batch_bytes = 0;         // 0: no byte limit (the file omits max_batch_bytes)
    int max_record_bytes = 0;        // 0: no per-record limit beyond max_batch_bytes
    bool nulls_allowed = true;
    std::vector<RecordExtra> record_extras;   // the action's "record" block, in order
    std::optional<ElementNode> element;       // the action's "element" block
    // How this action's requests are built: the type's "request" block with
    // the action's own "request" block over it, key by key.
    RequestSpec request;
    // The field that identifies a record at the destination (Braze
    // external_id). An action that deletes by this key needs it mapped to a
    // whole column, whose value as sent the checkpoint keeps for the
    // record's deletion (check_delete_key).
    std::string key_field;
    // Set when the definition names the key field by an action setting
    // ("key_field": "{{action_settings.id_property}}"): the field is that
    // setting's value for each mapping, and key_field is empty until
    // bind_action_settings (catalog/action_settings.hpp) fills it in.
    std::string key_field_setting;
    std::map<std::string, OperationDef> operations;   // by operation name
    // Settings given per mapping (create_mapping's action_settings), such as the
    // object a many-object action writes to (HubSpot's object_type). Never
    // secret; of type string, integer or boolean; in definition order.
    std::vector<SettingSpec> settings;
    // "row_index": records are rows of a grid (Google Sheets). The engine
    // keeps, per mapping, a row number for each record id
    // (engine/sheet_rows.hpp), reserved and committed before a request
    // carries the record, and gives it to requests as {{object_id}}: an
    // update rewrites the record's row, a resend after a crash finds the
    // same row, and a delete clears it. Deletes need no key_field then.
    bool row_index = false;

    const FieldSpec *find_field(const std::string &field_key) const;
    const SettingSpec *find_setting(const std::string &setting_key) const;
    // The request and element of the operation (operation_for), or the
    // action's own when it declares none for it.
    const RequestSpec &request_for(const std::string &operation) const;
    const std::optional<ElementNode> &element_for(const std::string &operation) const;
};

struct DestinationType {
    std::string type;                // e.g. "segment"
    std::string name;                // display name
    std::string description;
    std::vector<SettingSpec> settings;   // in definition order
    std::vector<ActionDef> actions;      // in definition order
    RequestSpec request;                 // the type's request block; actions may override it
    // "one_of_settings": groups of settings of which exactly one must be set
    // (Google Sheets: a service account key or an access token, not both,
    // which would leave which one applies to the order of the auth entries).
    std::vector<std::vector<std::string>> one_of_settings;

    const SettingSpec *find_setting(const std::string &setting_key) const;
    const ActionDef *find_action(const std::string &action_key) const;
};

// The destination operation a change is sent as under a sync mode: "delete"
// for deleted records, "add" for added ones in mode add, "update" for updated
// ones in mode update, else "upsert". Actions without operations of their own
// send every change with their own request.
std::string operation_for(const std::string &sync_mode, const std::string &change);

// Parses a definition file's JSON text. Throws reverse_etl::Error (XX000) naming the
// file's problem: definitions ship with the extension, so a bad one is a bug.
DestinationType parse_destination_type(const std::string &definition_json);

const char *field_type_name(FieldType type);
const char *setting_type_name(SettingType type);

}  // namespace reverse_etl::catalog
