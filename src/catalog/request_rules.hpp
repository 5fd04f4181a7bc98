// Rules on the setting values a destination's requests are built from: what may
// go into an HTTP header, which placeholders a URL may hold, how long a request
// may wait. One set of rules for both ends: validate_settings applies them when
// a destination is created or altered, and RequestBuilder (and the mapping plan,
// for the timeout) apply the same functions when requests are built, so a value
// is never accepted at create time and refused at send time, or the reverse.
// Pure C++. Every failure is Error 22023 naming the setting; secret values are
// never quoted.
#pragma once

#include <cstdint>
#include <string>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/interval_length.hpp"

namespace reverse_etl::catalog {

// Headers the HTTP client writes itself: Content-Length and Transfer-Encoding
// frame the body, Host names the server the URL (and reverse_etl.allowed_hosts)
// chose, and the connection-specific fields of RFC 9110 section 7.6.1
// (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade) manage the
// connection libcurl owns. Case-insensitive.
bool is_client_owned_header(const std::string &name);

// One entry of an object setting of extra headers (webhook "headers"): the name
// must be a non-empty RFC 9110 token that is not client-owned; the value must
// hold no control character but tab (no CR, LF or NUL above all: a line break
// would end the header and smuggle in more). Messages start with
// `setting "<setting>": `; they quote the name (escaped), never the value.
void check_user_header(const std::string &setting, const std::string &name,
                       const std::string &value);

// A setting whose text becomes (part of) header `header`, such as bearer_token
// in Authorization: the same rule as a header value. Never quotes the text.
void check_header_setting(const std::string &setting, const std::string &text,
                          const std::string &header);

// A setting that names the header a signature goes in (webhook
// "signature_header"): a non-empty RFC 9110 token that is not client-owned.
void check_header_name_setting(const std::string &setting, const std::string &name);

// The key of a Standard Webhooks secret given in setting `setting`: the bytes
// whose base64 follows "whsec_", as the reference libraries read it. Throws
// 22023 (never quoting the secret) without the prefix, with nothing after it,
// or when what follows is not standard base64.
std::string standard_webhooks_key(const std::string &setting, const std::string &secret);

// The base-URL setting (url or endpoint) as a template: its only placeholders
// are {{record_id}} and {{fields.NAME}}, written exactly so. Anything else in
// double braces, or "{{" without "}}", throws, naming the placeholder and what
// is allowed.
RequestTemplate parse_base_url(const std::string &setting, const std::string &url);

// The request timeout setting: an interval from 100 milliseconds to 1 hour,
// the range of reverse_etl.request_timeout. Returns its length in microseconds.
int64_t request_timeout_usec(const std::string &setting, const std::string &text,
                             const IntervalReader &read_interval);

// All of the above for a complete settings object of `type` (after the key by
// key checks of validate_settings): user headers, every setting a header of the
// definition or an auth entry is built from, the signing header's name and a
// Standard Webhooks secret (with the algorithm the settings choose), the
// request timeout. Settings that
// are unset or of the wrong JSON type are skipped (the key checks report those).
// The value of an asynchronous job's wait setting (JobSpec::wait), in
// microseconds: an interval from 0 to 1 hour. Throws Error 22023 naming the
// setting otherwise.
int64_t job_wait_usec(const std::string &setting, const std::string &text, const IntervalReader &read_interval);

void check_request_settings(const DestinationType &type, const json_t *settings,
                            const IntervalReader &read_interval);

}  // namespace reverse_etl::catalog
