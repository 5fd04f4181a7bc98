#include "http/crypto.hpp"

#include <algorithm>
#include <climits>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/error.hpp"

namespace reverse_etl::http {
namespace {

std::string to_hex(const unsigned char *bytes, size_t length) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (size_t i = 0; i < length; ++i) {
        hex.push_back(kDigits[bytes[i] >> 4]);
        hex.push_back(kDigits[bytes[i] & 0x0f]);
    }
    return hex;
}

const unsigned char *bytes_of(const std::string &text) {
    return reinterpret_cast<const unsigned char *>(text.data());
}

}  // namespace

std::string sha256_hex(const std::string &data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (!EVP_Digest(data.data(), data.size(), digest, &digest_length, EVP_sha256(), nullptr))
        throw Error(sqlstate::kInternalError, "could not compute SHA-256");
    return to_hex(digest, digest_length);
}

std::string md5_hex(const std::string &data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (!EVP_Digest(data.data(), data.size(), digest, &digest_length, EVP_md5(), nullptr))
        throw Error(sqlstate::kInternalError, "could not compute MD5");
    return to_hex(digest, digest_length);
}

std::string hmac_sha256(const std::string &key, const std::string &data) {
    // HMAC() takes the key length as an int.
    if (key.size() > static_cast<size_t>(INT_MAX))
        throw Error(sqlstate::kInvalidParameterValue, "signing secret is too long");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
              digest, &digest_length))
        throw Error(sqlstate::kInternalError, "could not compute HMAC-SHA256");
    return std::string(reinterpret_cast<const char *>(digest), digest_length);
}

std::string hmac_sha256_hex(const std::string &key, const std::string &data) {
    const std::string digest = hmac_sha256(key, data);
    return to_hex(bytes_of(digest), digest.size());
}

std::string base64_encode(const std::string &bytes) {
    // EVP_EncodeBlock counts in int, so large inputs go in slices; a slice a
    // multiple of 3 bytes long encodes without padding, so slices concatenate.
    // Each call writes a NUL after its output: the +1 leaves room for the last.
    constexpr size_t kSlice = 3 * 1024 * 1024;
    std::string encoded((bytes.size() + 2) / 3 * 4 + 1, '\0');
    size_t used = 0;
    for (size_t offset = 0; offset < bytes.size(); offset += kSlice) {
        const size_t length = std::min(kSlice, bytes.size() - offset);
        auto *out = reinterpret_cast<unsigned char *>(&encoded[used]);
        used += static_cast<size_t>(EVP_EncodeBlock(out, bytes_of(bytes) + offset, static_cast<int>(length)));
    }
    encoded.resize(used);
    return encoded;
}

std::string base64url_encode(const std::string &bytes) {
    std::string encoded = base64_encode(bytes);
    while (!encoded.empty() && encoded.back() == '=')
        encoded.pop_back();
    for (char &c : encoded) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return encoded;
}

std::optional<std::string> base64_decode(const std::string &text) {
    // EVP_DecodeBlock skips surrounding whitespace and decodes '=' as zero bits,
    // so the text is checked first and the padding's bytes cut off after.
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() % 4 != 0 || text.size() > static_cast<size_t>(INT_MAX))
        return std::nullopt;
    const size_t data_end = text.find_last_not_of('=') + 1;   // 0 when all '=' (npos + 1)
    const size_t padding = text.size() - data_end;
    if (padding > 2 || text.find_first_not_of(kAlphabet) < data_end)
        return std::nullopt;
    std::string bytes(text.size() / 4 * 3, '\0');
    const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(bytes.data()), bytes_of(text),
                                        static_cast<int>(text.size()));
    if (decoded < 0 || static_cast<size_t>(decoded) != bytes.size())
        return std::nullopt;
    bytes.resize(bytes.size() - padding);
    return bytes;
}

}  // namespace reverse_etl::http
