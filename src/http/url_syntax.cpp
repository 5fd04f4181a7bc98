#include "http/url_syntax.hpp"

#include <algorithm>

#include "http/curl_handles.hpp"

namespace reverse_etl::http {

namespace {

bool has_part(CURLU *url, CURLUPart part) {
    char *raw = nullptr;
    const CURLUcode code = curl_url_get(url, part, &raw, 0);
    const CurlString text(raw);
    return code == CURLUE_OK && text && *text;
}

}  // namespace

UrlSyntax check_url_syntax(const std::string &url) {
    if (std::any_of(url.begin(), url.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == '\x7f'; }))
        return UrlSyntax::Whitespace;
    // libcurl reads "https:///hook" and "http:/h/x" as host "hook" and "h";
    // an http URL has "//" and a host right after its scheme (RFC 9110 4.2.1).
    const size_t separator = url.find("://");
    if (separator == std::string::npos)
        return UrlSyntax::NotHttp;
    if (separator + 3 == url.size() || url[separator + 3] == '/')
        return UrlSyntax::NoHost;
    const CurlUrlPtr handle(curl_url());
    if (!handle)
        return UrlSyntax::Malformed;
    // Any scheme parses, so that "ftp://" is told apart from a malformed URL.
    switch (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME)) {
    case CURLUE_OK: break;
    case CURLUE_BAD_PORT_NUMBER: return UrlSyntax::BadPort;
    case CURLUE_NO_HOST: return UrlSyntax::NoHost;
    case CURLUE_BAD_SCHEME: return UrlSyntax::NotHttp;
    default: return UrlSyntax::Malformed;
    }
    char *raw_scheme = nullptr;
    const CURLUcode scheme_code = curl_url_get(handle.get(), CURLUPART_SCHEME, &raw_scheme, 0);
    const CurlString scheme(raw_scheme);
    if (scheme_code != CURLUE_OK || !scheme)
        return UrlSyntax::NotHttp;
    std::string lower(scheme.get());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    if (lower != "http" && lower != "https")
        return UrlSyntax::NotHttp;
    if (has_part(handle.get(), CURLUPART_USER) || has_part(handle.get(), CURLUPART_PASSWORD))
        return UrlSyntax::Credentials;
    if (!has_part(handle.get(), CURLUPART_HOST))
        return UrlSyntax::NoHost;
    char *raw_port = nullptr;
    const CURLUcode port_code = curl_url_get(handle.get(), CURLUPART_PORT, &raw_port, 0);
    const CurlString port(raw_port);
    if (port_code == CURLUE_OK && port && std::string(port.get()) == "0")
        return UrlSyntax::BadPort;
    return UrlSyntax::Ok;
}

}  // namespace reverse_etl::http
