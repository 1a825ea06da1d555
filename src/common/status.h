// Status and Result<T>: errors as values.
//
// Codes follow the Kubernetes API's Status reasons (and HTTP codes) so that an
// error raised anywhere can become an API `Status` reply without translation.
// Storage adds IOError and Corruption, which the API reports as InternalError.
// errno is translated once, at the OS edge (ErrnoStatus).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kubepp {

enum class Code : uint8_t {
  kOk = 0,
  kBadRequest,             // 400 BadRequest
  kUnauthorized,           // 401 Unauthorized
  kForbidden,              // 403 Forbidden
  kNotFound,               // 404 NotFound
  kMethodNotAllowed,       // 405 MethodNotAllowed
  kNotAcceptable,          // 406 NotAcceptable
  kAlreadyExists,          // 409 AlreadyExists
  kConflict,               // 409 Conflict
  kGone,                   // 410 Gone
  kExpired,                // 410 Expired (resourceVersion too old)
  kRequestEntityTooLarge,  // 413 RequestEntityTooLarge
  kUnsupportedMediaType,   // 415 UnsupportedMediaType
  kInvalid,                // 422 Invalid, with field causes
  kTooManyRequests,        // 429 TooManyRequests
  kInternal,               // 500 InternalError
  kServiceUnavailable,     // 503 ServiceUnavailable
  kTimeout,                // 504 Timeout
  kIOError,                // 500: the OS refused a read, write or sync
  kCorruption,             // 500: stored data failed a check
  kCancelled,              // the operation was stopped by its owner
};

// One entry of an Invalid status' details.causes (metav1.StatusCause).
struct StatusCause {
  std::string type;     // "FieldValueRequired", "FieldValueInvalid", ...
  std::string message;  // "Required value"
  std::string field;    // "spec.containers[0].image"
  bool operator==(const StatusCause&) const = default;
};

// metav1.StatusDetails apart from causes: what object a failure concerns.
struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;  // the resource (NotFound, AlreadyExists, Conflict) or the Kind (Invalid)
  std::string uid;
  int retry_after_seconds = 0;
  bool operator==(const StatusDetails&) const = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::vector<StatusCause> causes = {});
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status BadRequest(std::string msg) { return {Code::kBadRequest, std::move(msg)}; }
  static Status Unauthorized(std::string msg) { return {Code::kUnauthorized, std::move(msg)}; }
  static Status Forbidden(std::string msg) { return {Code::kForbidden, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status Gone(std::string msg) { return {Code::kGone, std::move(msg)}; }
  static Status Expired(std::string msg) { return {Code::kExpired, std::move(msg)}; }
  static Status TooLarge(std::string msg) { return {Code::kRequestEntityTooLarge, std::move(msg)}; }
  static Status Invalid(std::string msg, std::vector<StatusCause> causes = {}) {
    return {Code::kInvalid, std::move(msg), std::move(causes)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kServiceUnavailable, std::move(msg)}; }
  static Status Timeout(std::string msg) { return {Code::kTimeout, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {Code::kCancelled, std::move(msg)}; }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const;
  const std::vector<StatusCause>& causes() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsAlreadyExists() const { return code() == Code::kAlreadyExists; }
  bool IsConflict() const { return code() == Code::kConflict; }
  bool IsGone() const { return code() == Code::kGone || code() == Code::kExpired; }
  bool IsInvalid() const { return code() == Code::kInvalid; }

  // The HTTP status code and the Kubernetes `reason` for this status.
  int HttpCode() const;
  std::string_view Reason() const;

  // A copy carrying `details`. No-op on OK.
  Status WithDetails(StatusDetails details) const;
  const StatusDetails* details() const { return rep_ ? rep_->details.get() : nullptr; }

  // Prepends context: "open wal: <message>". No-op on OK.
  Status WithContext(std::string_view context) const;

  // "NotFound: key /a not found".
  std::string ToString() const;

  bool operator==(const Status& o) const;

 private:
  struct Rep {
    Code code;
    std::string message;
    std::vector<StatusCause> causes;
    std::shared_ptr<const StatusDetails> details;
  };
  std::unique_ptr<Rep> rep_;
};

std::string_view CodeName(Code code);

// An IOError for a failed system call, with strerror(err): "write /x: No space left".
Status ErrnoStatus(std::string_view op, std::string_view path, int err);

// A value or the error that prevented it.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT: implicit
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    if (std::get<0>(v_).ok()) v_.template emplace<0>(Status::Internal("Result built from OK status"));
  }

  bool ok() const { return v_.index() == 1; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<0>(v_);
  }
  Status TakeStatus() && { return ok() ? Status() : std::move(std::get<0>(v_)); }

  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::get<1>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace kubepp

#define KUBEPP_CONCAT_INNER(a, b) a##b
#define KUBEPP_CONCAT(a, b) KUBEPP_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    ::kubepp::Status _st = (expr);                    \
    if (!_st.ok()) return _st;                        \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())`: x = F().value(), or return its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(KUBEPP_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return std::move(tmp).TakeStatus(); \
  lhs = std::move(tmp).value()
