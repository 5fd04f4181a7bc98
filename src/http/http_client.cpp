#include "http/http_client.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <mutex>
#include <new>
#include <optional>
#include <random>

#include <sys/socket.h>

#include <curl/curl.h>

#include "common/error.hpp"
#include "common/text.hpp"
#include "http/curl_handles.hpp"
#include "http/host_allowlist.hpp"
#include "http/http_text.hpp"
#include "http/rate_limit_headers.hpp"

namespace reverse_etl::http {
namespace {

constexpr const char *kQueryCanceled = "57014";
constexpr const char *kProgramLimitExceeded = "54000";
// The longest the client waits without asking should_stop(), and so the
// longest a cancel can go unnoticed.
constexpr long kStopCheckIntervalMs = 100;

using Clock = std::chrono::steady_clock;

Error curl_failure(const std::string &what, const char *reason) {
    return Error(sqlstate::kInternalError, what, reason);
}

template <typename Value>
void set_option(CURL *easy, CURLoption option, Value value) {
    const CURLcode code = curl_easy_setopt(easy, option, value);
    if (code != CURLE_OK)
        throw curl_failure("could not configure an HTTP request", curl_easy_strerror(code));
}

template <typename Value>
void set_multi_option(CURLM *multi, CURLMoption option, Value value) {
    const CURLMcode code = curl_multi_setopt(multi, option, value);
    if (code != CURLM_OK)
        throw curl_failure("could not configure the HTTP client", curl_multi_strerror(code));
}

void check_multi(CURLMcode code, const char *what) {
    if (code != CURLM_OK)
        throw curl_failure(what, curl_multi_strerror(code));
}

// One request across all its attempts. Heap-allocated and never moved:
// libcurl keeps pointers into it (callback data, error buffer, request body).
struct Transfer {
    uint64_t tag = 0;
    HttpRequest request;
    int max_attempts = 1;
    bool synchronous = false;  // perform_once's: its answer is returned, not a Completion
    int attempts = 0;
    size_t max_body_bytes = 0;
    HttpResponse response;     // of the current attempt
    Clock::time_point started_at{};
    bool filled_limit = false;     // this attempt took the last slot ConcurrencyLimit allowed when it started
    Clock::time_point ready_at{};  // a retry waits until then
    std::array<char, CURL_ERROR_SIZE> error_buffer{};
    std::string host;  // as check_url read it, for a refusal's message
    // Checked against every address a connection is opened to; null when
    // allowed_hosts names the host exactly, or nothing is blocked.
    const NetworkBlocklist *blocklist = nullptr;
    // The last address on_open_socket refused in this attempt, and its network.
    const std::string *blocked_network = nullptr;
    AddressText blocked_address{};
    SlistPtr header_list;  // declared before `easy`, so freed after the handle that uses it
    EasyPtr easy;          // created at the first attempt, reused by retries
};

void record_header_line(Headers &headers, const std::string &line) {
    // Every response (a 100 Continue, then the real one) starts with a status
    // line; only the last response's headers are kept.
    if (line.rfind("HTTP/", 0) == 0) {
        headers.clear();
        return;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0)
        return;  // the blank line that ends the headers
    headers.emplace_back(trimmed(line.substr(0, colon)), trimmed(line.substr(colon + 1)));
}

// libcurl calls these from C frames, so nothing may escape them. Returning a
// short count makes libcurl fail the transfer (reported as a transport error).
size_t on_body(char *data, size_t size, size_t count, void *user) noexcept {
    auto &transfer = *static_cast<Transfer *>(user);
    const size_t bytes = size * count;
    std::string &body = transfer.response.body;
    const size_t room = transfer.max_body_bytes > body.size() ? transfer.max_body_bytes - body.size() : 0;
    try {
        body.append(data, std::min(bytes, room));
    } catch (...) {
        return 0;
    }
    return bytes;
}

size_t on_header(char *data, size_t size, size_t count, void *user) noexcept {
    auto &transfer = *static_cast<Transfer *>(user);
    const size_t bytes = size * count;
    try {
        record_header_line(transfer.response.headers, std::string(data, bytes));
    } catch (...) {
        return 0;
    }
    return bytes;
}

// libcurl calls this instead of socket(2) for each address it tries, after
// DNS resolution and before connecting: the address checked is the one the
// connection would go to, whatever name led there (DNS rebinding included).
// Refused, libcurl tries the host's next address, and fails the transfer
// with CURLE_COULDNT_CONNECT when none is left.
curl_socket_t on_open_socket(void *user, curlsocktype purpose, curl_sockaddr *address) noexcept {
    auto &transfer = *static_cast<Transfer *>(user);
    if (transfer.blocklist != nullptr) {
        if (const std::string *network = transfer.blocklist->find(&address->addr, address->addrlen)) {
            transfer.blocked_network = network;
            transfer.blocked_address = address_text(&address->addr, address->addrlen);
            return CURL_SOCKET_BAD;
        }
    }
    return socket(address->family, address->socktype, address->protocol);  // what libcurl does without us
}

void validate_request(const HttpRequest &request) {
    if (!is_token(request.method))
        throw Error(sqlstate::kInvalidParameterValue, "invalid HTTP method \"" + request.method + "\"");
    for (const auto &[name, value] : request.headers) {
        if (!is_token(name))
            throw Error(sqlstate::kInvalidParameterValue, "invalid HTTP header name \"" + name + "\"");
        // The value is not quoted: header values are secrets.
        if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
            throw Error(sqlstate::kInvalidParameterValue,
                        "value of HTTP header \"" + name + "\" contains a line break or NUL");
    }
}

void append_line(SlistPtr &list, const std::string &line) {
    curl_slist *const grown = curl_slist_append(list.get(), line.c_str());
    if (!grown)
        throw std::bad_alloc();
    (void)list.release();  // `grown` is the same list, or a new one when it was empty
    list.reset(grown);
}

SlistPtr header_list_for(const HttpRequest &request) {
    SlistPtr list;
    // "Name:" would tell libcurl to remove the header; "Name;" sends it empty.
    for (const auto &[name, value] : request.headers)
        append_line(list, value.empty() ? name + ";" : name + ": " + value);
    // Otherwise libcurl labels every body as a form, and for large bodies
    // waits a round trip for a 100 Continue that many APIs never send.
    if (!find_header(request.headers, "Content-Type"))
        append_line(list, "Content-Type:");
    if (!find_header(request.headers, "Expect"))
        append_line(list, "Expect:");
    return list;
}

void set_method_and_body(CURL *easy, const HttpRequest &request) {
    if (request.method == "GET" && request.body.empty())
        return set_option(easy, CURLOPT_HTTPGET, 1L);
    if (request.method == "HEAD" && request.body.empty())
        return set_option(easy, CURLOPT_NOBODY, 1L);
    // POSTFIELDS is not copied: it points into the Transfer's request, which
    // outlives the handle. The explicit size lets the body contain NULs.
    set_option(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set_option(easy, CURLOPT_POSTFIELDS, request.body.data());
    if (request.method != "POST")
        set_option(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
}

void allow_only_http(CURL *easy) {
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
    set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    set_option(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

bool libcurl_has_http2() {
    static const bool has_http2 = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) != 0;
    return has_http2;
}

void set_transport_options(CURL *easy, const ClientOptions &options) {
    set_option(easy, CURLOPT_NOSIGNAL, 1L);        // no SIGALRM: the backend owns its signals
    allow_only_http(easy);
    // A redirect could leave allowed_hosts (blocked_networks would still be
    // checked, at on_open_socket).
    set_option(easy, CURLOPT_FOLLOWLOCATION, 0L);
    set_option(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    set_option(easy, CURLOPT_TIMEOUT_MS, options.request_timeout_ms);
    // HTTP/2 where TLS negotiates it (one connection, many streams), else HTTP/1.1.
    if (libcurl_has_http2())
        set_option(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    set_option(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
    set_option(easy, CURLOPT_USERAGENT, "reverse_etl");
}

EasyPtr new_easy_handle(Transfer &transfer, const ClientOptions &options) {
    EasyPtr easy(curl_easy_init());
    if (!easy)
        throw curl_failure("could not create an HTTP request", "curl_easy_init failed");
    CURL *const handle = easy.get();
    set_option(handle, CURLOPT_URL, transfer.request.url.c_str());
    set_transport_options(handle, options);
    set_option(handle, CURLOPT_ERRORBUFFER, transfer.error_buffer.data());
    set_option(handle, CURLOPT_WRITEFUNCTION, &on_body);
    set_option(handle, CURLOPT_WRITEDATA, static_cast<void *>(&transfer));
    set_option(handle, CURLOPT_HEADERFUNCTION, &on_header);
    set_option(handle, CURLOPT_HEADERDATA, static_cast<void *>(&transfer));
    set_option(handle, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
    set_option(handle, CURLOPT_OPENSOCKETDATA, static_cast<void *>(&transfer));
    set_method_and_body(handle, transfer.request);
    transfer.header_list = header_list_for(transfer.request);
    set_option(handle, CURLOPT_HTTPHEADER, transfer.header_list.get());
    return easy;
}

// Our own words for the kind of failure come first, so that users (and tests)
// can rely on them whatever the libcurl version; libcurl's words, which name
// the host and port but never the path or query where tokens live, follow in
// parentheses.
const char *failure_class(CURLcode code) {
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_CONNECT:
        return "could not connect";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "could not resolve host";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "connection lost";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "TLS failure";
    default:
        return "transport error";
    }
}

std::string describe_failure(CURLcode code, const char *detail) {
    const std::string generic = curl_easy_strerror(code);
    const std::string specific(trimmed(std::string_view(detail)));
    std::string words = generic;
    if (!specific.empty())
        words = specific.find(generic) != std::string::npos ? specific : generic + ": " + specific;
    return std::string(failure_class(code)) + " (libcurl: " + words + ")";
}

// Names the host and the address, never the URL's path or query (tokens).
Error blocked_address_error(const Transfer &transfer) {
    const std::string address = transfer.blocked_address.data();
    const std::string &host = transfer.host;
    const bool literal = host == address || host == "[" + address + "]";
    return Error(sqlstate::kInsufficientPrivilege,
                 "destination host \"" + host + "\"" + (literal ? " is" : " resolves to " + address + ",") +
                     " in reverse_etl.blocked_networks",
                 "Address " + address + " is in network " + *transfer.blocked_network + ".",
                 literal ? "To reach this address on purpose, add \"" + host +
                               "\" itself (not a pattern) to reverse_etl.allowed_hosts."
                         : "To reach it on purpose, use its IP address in the URL and add that address (not a name or "
                           "a pattern) to reverse_etl.allowed_hosts, or take the network out of "
                           "reverse_etl.blocked_networks.");
}

void record_outcome(Transfer &transfer, CURLcode result) {
    HttpResponse &response = transfer.response;
    response.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - transfer.started_at).count();
    if (result == CURLE_OK) {
        curl_easy_getinfo(transfer.easy.get(), CURLINFO_RESPONSE_CODE, &response.status);
        return;
    }
    // Half an answer is no answer: status 0 makes it a retryable transport error.
    response.status = 0;
    response.headers.clear();
    response.body.clear();
    if (transfer.blocked_network != nullptr) {
        response.refused = blocked_address_error(transfer);
        response.transport_error = response.refused->message();
        return;
    }
    response.transport_error = describe_failure(result, transfer.error_buffer.data());
}

ClientOptions checked(ClientOptions options) {
    if (options.max_concurrent < 1 || options.max_attempts < 1 || options.connect_timeout_ms < 1 ||
        options.request_timeout_ms < 1)
        throw Error(sqlstate::kInvalidParameterValue, "invalid HTTP client options",
                    "max_concurrent, max_attempts and the timeouts must be at least 1.");
    if (!options.random)
        options.random = [engine = std::mt19937_64(std::random_device{}())]() mutable { return engine(); };
    return options;
}

MultiPtr new_multi_handle(const ClientOptions &options) {
    http_global_init();
    MultiPtr multi(curl_multi_init());
    if (!multi)
        throw curl_failure("could not create the HTTP client", "curl_multi_init failed");
    const long limit = options.max_concurrent;
    set_multi_option(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, limit);
    set_multi_option(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, limit);
    set_multi_option(multi.get(), CURLMOPT_MAXCONNECTS, limit);  // idle connections kept for reuse
    return multi;
}

}  // namespace

void http_global_init() {
    static std::once_flag once;
    // If the init fails, call_once lets a later call try again.
    std::call_once(once, [] {
        const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK)
            throw curl_failure("could not initialize libcurl", curl_easy_strerror(code));
    });
}

struct HttpClient::Impl {
    explicit Impl(ClientOptions client_options)
        : options(checked(std::move(client_options))), allowlist(options.allowed_hosts),
          blocklist(options.blocked_networks), multi(new_multi_handle(options)),
          limit(options.initial_concurrent, options.max_concurrent, options.adaptive_concurrency) {}
    ~Impl() { abort_all(); }

    const ClientOptions options;
    const HostAllowlist allowlist;
    const NetworkBlocklist blocklist;
    const MultiPtr multi;  // declared before the transfers; abort_all detaches them first
    ConcurrencyLimit limit;
    std::deque<std::unique_ptr<Transfer>> queued;        // not started yet, in order
    std::vector<std::unique_ptr<Transfer>> backing_off;  // failed, waiting for ready_at
    std::vector<std::unique_ptr<Transfer>> running;      // attached to `multi`
    std::vector<Completion> finished;                    // done while perform_once drove
    std::optional<HttpResponse> synchronous_answer;
    Clock::time_point hold_until{};  // a server's Retry-After: no attempt starts before it
    Clock::time_point pace_until{};  // the pacer's last refusal: ask it again then
    std::optional<std::string> exhausted;  // see RateLimitNotice::exhausted

    std::unique_ptr<Transfer> new_transfer(uint64_t tag, HttpRequest request, int max_attempts,
                                           bool synchronous) const;
    void step(std::vector<Completion> &out);
    void check_stop();
    void abort_all() noexcept;
    void start_ready();
    bool has_ready(Clock::time_point now) const;
    bool paced(Clock::time_point now);
    // `retryable`: the request's retry_also took the answer (its Retry-After
    // then holds the destination's requests as a 429's does).
    void take_notice(const HttpResponse &response, bool retryable);
    static bool retried_anyway(const Transfer &transfer) {
        return transfer.request.retry_also && !transfer.response.refused && transfer.response.status != 0 &&
               transfer.request.retry_also(transfer.response);
    }
    void tell_limit(const Transfer &transfer);
    std::unique_ptr<Transfer> next_ready(Clock::time_point now);
    void start_attempt(std::unique_ptr<Transfer> transfer);
    void drive();
    void harvest(std::vector<Completion> &out);
    std::unique_ptr<Transfer> detach(CURL *easy);
    void settle(std::unique_ptr<Transfer> transfer, std::vector<Completion> &out);
    void schedule_retry(std::unique_ptr<Transfer> transfer);
    std::optional<Clock::time_point> next_start_time() const;
    void wait(Clock::time_point deadline);
    size_t pending() const { return queued.size() + backing_off.size() + running.size() + finished.size(); }
};

std::unique_ptr<Transfer> HttpClient::Impl::new_transfer(uint64_t tag, HttpRequest request, int max_attempts,
                                                         bool synchronous) const {
    const UrlTarget target = check_url(request.url, allowlist);
    validate_request(request);
    auto transfer = std::make_unique<Transfer>();
    transfer->host = target.host;
    // A host named exactly was chosen on purpose (a service on this machine,
    // say); "*" or "*.example.com" say nothing about where names resolve.
    if (!blocklist.empty() && !allowlist.names(target.host, target.port))
        transfer->blocklist = &blocklist;
    transfer->tag = tag;
    transfer->request = std::move(request);
    transfer->max_attempts = max_attempts;
    transfer->synchronous = synchronous;
    transfer->max_body_bytes = options.max_response_body_bytes;
    return transfer;
}

// One turn: check for cancel, start what may start, let libcurl work, collect.
void HttpClient::Impl::step(std::vector<Completion> &out) {
    check_stop();
    start_ready();
    drive();
    harvest(out);
}

void HttpClient::Impl::check_stop() {
    if (exhausted) {
        const std::string reason = *exhausted;
        exhausted.reset();
        abort_all();
        throw Error(kProgramLimitExceeded, reason,
                    "Requests sent now would be refused until the destination's allowance is renewed.");
    }
    if (!options.should_stop || !options.should_stop())
        return;
    abort_all();
    throw Error(kQueryCanceled, "sync canceled");
}

void HttpClient::Impl::abort_all() noexcept {
    for (const auto &transfer : running)
        curl_multi_remove_handle(multi.get(), transfer->easy.get());
    running.clear();
    queued.clear();
    backing_off.clear();
    finished.clear();
    synchronous_answer.reset();
    hold_until = {};
    pace_until = {};
}

void HttpClient::Impl::start_ready() {
    const auto now = Clock::now();
    if (now < hold_until)
        return;
    while (running.size() < static_cast<size_t>(limit.current()) && has_ready(now)) {
        if (paced(now))
            return;
        start_attempt(next_ready(now));
    }
}

bool HttpClient::Impl::has_ready(Clock::time_point now) const {
    return !queued.empty() ||
           std::any_of(backing_off.begin(), backing_off.end(), [now](const auto &t) { return t->ready_at <= now; });
}

// Asks the pacer for the right to start one attempt now; true when it says
// to wait (until pace_until). Runs sharing a destination's limit are told
// the same time, and the one whose wait happens to end first (its timer's
// phase) took every turn, run after run: a small random delay, at most a
// tenth of the wait and 2 ms, makes each turn anyone's, and costs a fast
// limit's pace nothing it would notice.
bool HttpClient::Impl::paced(Clock::time_point now) {
    if (!options.pacer)
        return false;
    const std::optional<Clock::time_point> later = options.pacer->admit(now);
    if (!later)
        return false;
    const auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(*later - now).count();
    const auto jitter_bound = static_cast<uint64_t>(std::clamp<int64_t>(wait_us / 10, 0, 2000));
    pace_until = *later + std::chrono::microseconds(jitter_bound > 0 ? options.random() % (jitter_bound + 1) : 0);
    return true;
}

// An answer that says the destination's limit is used up concerns every
// later request, this client's and other runs' (through a shared pacer).
void HttpClient::Impl::take_notice(const HttpResponse &response, bool retryable) {
    const RateLimitNotice notice = read_rate_limit_notice(response, std::chrono::system_clock::now(),
                                                          options.backoff.max_retry_after_ms, retryable);
    if (notice.pause_ms && options.pacer)
        options.pacer->hold(Clock::now() + std::chrono::milliseconds(*notice.pause_ms));
    if (notice.exhausted && !exhausted)
        exhausted = notice.exhausted;
}

// What the attempt's answer says of the destination's load. A connection
// blocked_networks refused never reached it, and perform_once's request (an
// OAuth token's, often from another host) is not one of the destination's
// batches: they say nothing.
void HttpClient::Impl::tell_limit(const Transfer &transfer) {
    const HttpResponse &response = transfer.response;
    if (response.refused || transfer.synchronous)
        return;
    const bool overloaded = is_retryable(response) || retried_anyway(transfer);
    limit.on_answer(overloaded ? ConcurrencyLimit::Signal::Overloaded : ConcurrencyLimit::Signal::Answered,
                    response.duration_ms, transfer.filled_limit, transfer.started_at, Clock::now());
}

// Due retries go first: they were submitted before anything still queued.
std::unique_ptr<Transfer> HttpClient::Impl::next_ready(Clock::time_point now) {
    const auto due = std::min_element(backing_off.begin(), backing_off.end(),
                                      [](const auto &a, const auto &b) { return a->ready_at < b->ready_at; });
    if (due != backing_off.end() && (*due)->ready_at <= now) {
        std::unique_ptr<Transfer> transfer = std::move(*due);
        backing_off.erase(due);
        return transfer;
    }
    if (queued.empty())
        return nullptr;
    std::unique_ptr<Transfer> transfer = std::move(queued.front());
    queued.pop_front();
    return transfer;
}

namespace {

// The request's attempt_headers, made now. A retry reuses its handle, which
// is detached from the multi handle while it waits: its header list can change.
void refresh_headers(Transfer &transfer) {
    HttpRequest &request = transfer.request;
    for (auto &[name, value] : request.attempt_headers(request))
        replace_header(request.headers, std::move(name), std::move(value));
    validate_request(request);
    if (!transfer.easy)
        return;  // new_easy_handle makes the list from these headers
    SlistPtr list = header_list_for(request);
    set_option(transfer.easy.get(), CURLOPT_HTTPHEADER, list.get());
    transfer.header_list = std::move(list);  // the old list is freed once the handle no longer points to it
}

}  // namespace

void HttpClient::Impl::start_attempt(std::unique_ptr<Transfer> transfer) {
    Transfer &attempt = *transfer;
    if (attempt.request.attempt_headers)
        refresh_headers(attempt);
    if (!attempt.easy)
        attempt.easy = new_easy_handle(attempt, options);
    attempt.response = HttpResponse{};
    attempt.error_buffer[0] = '\0';
    attempt.blocked_network = nullptr;
    ++attempt.attempts;
    attempt.started_at = Clock::now();
    // Owned by `running` before libcurl sees it, so no path leaves it attached and unowned.
    running.push_back(std::move(transfer));
    attempt.filled_limit = running.size() >= static_cast<size_t>(limit.current());
    const CURLMcode code = curl_multi_add_handle(multi.get(), attempt.easy.get());
    if (code != CURLM_OK) {
        running.pop_back();
        throw curl_failure("could not start an HTTP request", curl_multi_strerror(code));
    }
}

void HttpClient::Impl::drive() {
    int still_running = 0;
    check_multi(curl_multi_perform(multi.get(), &still_running), "HTTP transfer failed");
}

void HttpClient::Impl::harvest(std::vector<Completion> &out) {
    int messages_left = 0;
    while (CURLMsg *message = curl_multi_info_read(multi.get(), &messages_left)) {
        if (message->msg != CURLMSG_DONE)
            continue;
        // Copied first: the message does not survive curl_multi_remove_handle.
        CURL *const easy = message->easy_handle;
        const CURLcode result = message->data.result;
        std::unique_ptr<Transfer> transfer = detach(easy);
        record_outcome(*transfer, result);
        take_notice(transfer->response, retried_anyway(*transfer));
        tell_limit(*transfer);
        settle(std::move(transfer), out);
    }
}

std::unique_ptr<Transfer> HttpClient::Impl::detach(CURL *easy) {
    const auto found = std::find_if(running.begin(), running.end(),
                                    [easy](const auto &transfer) { return transfer->easy.get() == easy; });
    curl_multi_remove_handle(multi.get(), easy);
    if (found == running.end())
        throw curl_failure("HTTP transfer failed", "libcurl reported a transfer the client does not know");
    std::unique_ptr<Transfer> transfer = std::move(*found);
    running.erase(found);
    return transfer;
}

void HttpClient::Impl::settle(std::unique_ptr<Transfer> transfer, std::vector<Completion> &out) {
    if ((is_retryable(transfer->response) || retried_anyway(*transfer)) && transfer->attempts < transfer->max_attempts)
        return schedule_retry(std::move(transfer));
    if (transfer->synchronous)
        synchronous_answer = std::move(transfer->response);
    else
        out.push_back(Completion{transfer->tag, std::move(transfer->response), transfer->attempts});
}

void HttpClient::Impl::schedule_retry(std::unique_ptr<Transfer> transfer) {
    const auto wall_now = std::chrono::system_clock::now();
    const int64_t delay_ms =
        retry_delay_ms(transfer->attempts, transfer->response, options.random(), options.backoff, wall_now);
    transfer->ready_at = Clock::now() + std::chrono::milliseconds(delay_ms);
    // Retry-After is about this client, not one request: sending others now
    // would only collect more 429s and burn their attempts.
    if (retry_after_ms(transfer->response, wall_now, options.backoff.max_retry_after_ms))
        hold_until = std::max(hold_until, transfer->ready_at);
    backing_off.push_back(std::move(transfer));
}

// When a waiting request may next start; nullopt if none waits or no slot is free.
std::optional<Clock::time_point> HttpClient::Impl::next_start_time() const {
    if (running.size() >= static_cast<size_t>(limit.current()))
        return std::nullopt;
    std::optional<Clock::time_point> earliest;
    if (!queued.empty())
        earliest = Clock::now();
    for (const auto &transfer : backing_off)
        earliest = earliest ? std::min(*earliest, transfer->ready_at) : transfer->ready_at;
    if (!earliest)
        return std::nullopt;
    return std::max({*earliest, hold_until, pace_until});
}

// Sleeps until libcurl has work, a retry is due, the deadline passes, or it
// is time to ask should_stop() again, whichever comes first.
void HttpClient::Impl::wait(Clock::time_point deadline) {
    const auto now = Clock::now();
    auto wake = std::min(deadline, now + std::chrono::milliseconds(kStopCheckIntervalMs));
    if (const auto start = next_start_time())
        wake = std::min(wake, *start);
    // Rounded up, so a due retry is not missed by a hair and the loop does not spin.
    const auto timeout = std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
    const bool slots_full = running.size() >= static_cast<size_t>(limit.current());
    check_multi(curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(timeout), nullptr),
                "waiting for HTTP responses failed");
    limit.on_wait(Clock::now() - now, slots_full);
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::submit(uint64_t tag, HttpRequest request) {
    impl_->queued.push_back(impl_->new_transfer(tag, std::move(request), impl_->options.max_attempts, false));
}

std::vector<Completion> HttpClient::poll(long timeout_ms) {
    Impl &client = *impl_;
    std::vector<Completion> out = std::move(client.finished);
    client.finished.clear();
    const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(0L, timeout_ms));
    for (;;) {
        client.step(out);
        if (!out.empty() || client.pending() == 0 || Clock::now() >= deadline)
            break;
        client.wait(deadline);
    }
    // Refill the slots just freed, so they work while the caller handles `out`.
    client.start_ready();
    client.drive();
    return out;
}

size_t HttpClient::pending() const { return impl_->pending(); }

const ConcurrencyLimit &HttpClient::concurrency() const { return impl_->limit; }

void HttpClient::abandon() { impl_->abort_all(); }

HttpResponse HttpClient::perform_once(HttpRequest request) {
    Impl &client = *impl_;
    // At the head of the queue: the caller is waiting for this one alone.
    client.queued.push_front(client.new_transfer(0, std::move(request), 1, true));
    client.synchronous_answer.reset();
    for (;;) {
        client.step(client.finished);
        if (client.synchronous_answer) {
            HttpResponse answer = std::move(*client.synchronous_answer);
            client.synchronous_answer.reset();
            if (answer.refused)
                throw *answer.refused;
            return answer;
        }
        client.wait(Clock::time_point::max());
    }
}

}  // namespace reverse_etl::http
