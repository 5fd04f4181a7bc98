// Owners of libcurl's handles and strings, so each is freed exactly once.
#pragma once

#include <memory>

#include <curl/curl.h>

namespace reverse_etl::http {

struct EasyCleanup {
    void operator()(CURL *easy) const noexcept { curl_easy_cleanup(easy); }
};
using EasyPtr = std::unique_ptr<CURL, EasyCleanup>;

struct MultiCleanup {
    void operator()(CURLM *multi) const noexcept { curl_multi_cleanup(multi); }
};
using MultiPtr = std::unique_ptr<CURLM, MultiCleanup>;

struct SlistFree {
    void operator()(curl_slist *list) const noexcept { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistFree>;

struct CurlUrlCleanup {
    void operator()(CURLU *url) const noexcept { curl_url_cleanup(url); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlCleanup>;

// A string libcurl allocated (curl_url_get, curl_easy_escape).
struct CurlFree {
    void operator()(char *text) const noexcept { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlFree>;

}  // namespace reverse_etl::http
