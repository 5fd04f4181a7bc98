// The one error type C++ code throws. It carries everything PostgreSQL's
// ereport needs, so the boundary (src/pg/error_crossing.cpp) can re-raise it
// with the same SQLSTATE, detail and hint. Keeps postgres.h out of C++ code.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace reverse_etl {

// SQLSTATEs the catalog and engine raise, spelled as the five characters
// PostgreSQL documents, so they read the same in code and in test output.
namespace sqlstate {
inline constexpr const char *kInvalidParameterValue = "22023";
inline constexpr const char *kConnectionFailure = "08006";
inline constexpr const char *kUnableToConnect = "08001";
inline constexpr const char *kExternalSystemError = "58000";
inline constexpr const char *kNullValueNotAllowed = "22004";
inline constexpr const char *kUniqueViolation = "23505";
inline constexpr const char *kStringDataRightTruncation = "22001";
inline constexpr const char *kSyntaxError = "42601";
inline constexpr const char *kUndefinedObject = "42704";
inline constexpr const char *kUndefinedColumn = "42703";
inline constexpr const char *kDuplicateObject = "42710";
inline constexpr const char *kDuplicateColumn = "42701";
inline constexpr const char *kDuplicateTable = "42P07";
inline constexpr const char *kActiveSqlTransaction = "25001";
inline constexpr const char *kDatatypeMismatch = "42804";
inline constexpr const char *kInsufficientPrivilege = "42501";
inline constexpr const char *kInvalidAuthorizationSpecification = "28000";
inline constexpr const char *kDependentObjectsStillExist = "2BP01";
inline constexpr const char *kObjectInUse = "55006";
inline constexpr const char *kObjectNotInPrerequisiteState = "55000";
inline constexpr const char *kFeatureNotSupported = "0A000";
inline constexpr const char *kOutOfMemory = "53200";
inline constexpr const char *kProgramLimitExceeded = "54000";
inline constexpr const char *kQueryCanceled = "57014";
inline constexpr const char *kWrongObjectType = "42809";
inline constexpr const char *kInternalError = "XX000";
}  // namespace sqlstate

class Error : public std::exception {
  public:
    Error(std::string sqlstate, std::string message, std::string detail = {},
          std::string hint = {})
        : sqlstate_(std::move(sqlstate)), message_(std::move(message)),
          detail_(std::move(detail)), hint_(std::move(hint)) {}

    const char *what() const noexcept override { return message_.c_str(); }
    const std::string &sqlstate() const { return sqlstate_; }
    const std::string &message() const { return message_; }
    const std::string &detail() const { return detail_; }
    const std::string &hint() const { return hint_; }

    // PostgreSQL errors re-thrown as C++ keep their original SQLSTATE; this
    // lets a caller prefix the message (e.g. with the model name) and keep the rest.
    Error with_message(std::string message) const {
        return Error(sqlstate_, std::move(message), detail_, hint_);
    }

  private:
    std::string sqlstate_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

}  // namespace reverse_etl
