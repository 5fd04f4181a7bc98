// The HTTP client a sync run delivers through: one libcurl multi handle for the
// client's life (so keep-alive connections are reused), many transfers in
// flight, retries with backoff, all driven by the caller's thread. No threads
// of its own and no PostgreSQL calls: the caller decides when to poll, and its
// should_stop callback is how a query cancel or SIGTERM gets in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/concurrency_limit.hpp"
#include "http/http_types.hpp"
#include "http/network_blocklist.hpp"
#include "http/rate_limiter.hpp"
#include "http/retry_policy.hpp"

namespace reverse_etl::http {

// curl_global_init, exactly once per process (call it from _PG_init; the client
// constructor calls it too). Throws Error XX000 if libcurl cannot initialise.
void http_global_init();

struct ClientOptions {
    int max_concurrent = 8;          // transfers in flight at once; also the connection limits
    // Adapt the transfers in flight between 1 and max_concurrent to the
    // destination's answers, starting at initial_concurrent (ConcurrencyLimit).
    bool adaptive_concurrency = false;
    int initial_concurrent = 8;
    long connect_timeout_ms = 10000;
    long request_timeout_ms = 30000; // whole transfer, per attempt
    int max_attempts = 5;            // per request, including the first
    std::vector<std::string> allowed_hosts = {"*"};  // reverse_etl.allowed_hosts patterns
    // reverse_etl.blocked_networks: no connection opens to an address in
    // them unless allowed_hosts names the host exactly.
    std::vector<std::string> blocked_networks = NetworkBlocklist::split(kDefaultBlockedNetworks);
    std::function<bool()> should_stop;   // polled at least every 100 ms while waiting; true cancels
    std::function<uint64_t()> random;    // jitter source; empty: a random_device-seeded mt19937_64
    BackoffSettings backoff;             // 1 s base, 60 s cap; tests shrink them
    size_t max_response_body_bytes = 1024 * 1024;  // longer bodies keep their start only
    // Asked before every attempt starts (retries included), and told when an
    // answer says the destination's limit is used up (http/rate_limit_headers.hpp).
    // Null: no pacing.
    std::shared_ptr<RequestPacer> pacer;
};

struct Completion {
    uint64_t tag;
    HttpResponse response;  // of the last attempt
    int attempts;
};

class HttpClient {
  public:
    // Throws Error 22023 for out-of-range options, a bad allowed_hosts
    // pattern or a bad blocked_networks network.
    explicit HttpClient(ClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    // Queues a request (FIFO; started when fewer than max_concurrent are in
    // flight). Throws before queuing if the URL fails check_url or a header
    // or the method could smuggle a line break into the request.
    void submit(uint64_t tag, HttpRequest request);

    // Drives transfers for up to timeout_ms and returns the requests that
    // finished: a final response (2xx, 3xx, 4xx other than 408/429, or one
    // whose connection blocked_networks refused: see HttpResponse::refused),
    // or a retryable one (network error, timeout, 408, 429, 5xx) after
    // max_attempts.
    // Returns as soon as anything finished, and at once when nothing is pending.
    // A retryable failure waits retry_delay_ms without holding a slot; a
    // Retry-After also holds back every new attempt until then (the server is
    // rate limiting this client, not that one request). With a pacer, no
    // attempt starts before the pacer admits it; the wait is checked for
    // should_stop() like any other. Throws Error 57014 "sync canceled" once
    // should_stop() is true, after aborting every transfer and dropping every
    // queued request (the client is then empty and usable). Throws Error
    // 54000, the same way, at the first call after an answer said the
    // destination's daily allowance is used up (RateLimitNotice::exhausted);
    // the answers that poll returned before it stand.
    std::vector<Completion> poll(long timeout_ms);

    // Submitted and not yet returned by poll().
    size_t pending() const;

    // How many transfers may be in flight now (max_concurrent unless
    // adaptive_concurrency), and how that limit has moved.
    const ConcurrencyLimit &concurrency() const;

    // Drops every queued and in-flight request without an answer (the
    // caller gives up on a destination). The client stays usable.
    void abandon();

    // One attempt at one request, synchronously (send_test_record): no retry,
    // whatever max_attempts says, so the caller sees the first answer at once.
    // Other pending requests keep moving meanwhile; what finishes is kept for
    // the next poll(). Same URL checks, options and cancel as poll(); a
    // connection refused by blocked_networks throws its Error (42501).
    HttpResponse perform_once(HttpRequest request);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace reverse_etl::http
