#include "common/status.h"

#include <cstring>

namespace kubepp {

Status::Status(Code code, std::string message, std::vector<StatusCause> causes) {
  if (code != Code::kOk) {
    rep_ = std::make_unique<Rep>(Rep{code, std::move(message), std::move(causes), nullptr});
  }
}

Status Status::WithDetails(StatusDetails details) const {
  if (ok()) return Status();
  Status s(*this);
  s.rep_->details = std::make_shared<const StatusDetails>(std::move(details));
  return s;
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const std::vector<StatusCause>& Status::causes() const {
  static const std::vector<StatusCause> kNone;
  return rep_ ? rep_->causes : kNone;
}

int Status::HttpCode() const {
  switch (code()) {
    case Code::kOk: return 200;
    case Code::kBadRequest: return 400;
    case Code::kUnauthorized: return 401;
    case Code::kForbidden: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kNotAcceptable: return 406;
    case Code::kAlreadyExists:
    case Code::kConflict: return 409;
    case Code::kGone:
    case Code::kExpired: return 410;
    case Code::kRequestEntityTooLarge: return 413;
    case Code::kUnsupportedMediaType: return 415;
    case Code::kInvalid: return 422;
    case Code::kTooManyRequests: return 429;
    case Code::kServiceUnavailable: return 503;
    case Code::kTimeout: return 504;
    case Code::kInternal:
    case Code::kIOError:
    case Code::kCorruption:
    case Code::kCancelled: return 500;
  }
  return 500;
}

std::string_view Status::Reason() const {
  switch (code()) {
    case Code::kOk: return "";
    case Code::kIOError:
    case Code::kCorruption:
    case Code::kCancelled:
    case Code::kInternal: return "InternalError";
    default: return CodeName(code());
  }
}

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kBadRequest: return "BadRequest";
    case Code::kUnauthorized: return "Unauthorized";
    case Code::kForbidden: return "Forbidden";
    case Code::kNotFound: return "NotFound";
    case Code::kMethodNotAllowed: return "MethodNotAllowed";
    case Code::kNotAcceptable: return "NotAcceptable";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kConflict: return "Conflict";
    case Code::kGone: return "Gone";
    case Code::kExpired: return "Expired";
    case Code::kRequestEntityTooLarge: return "RequestEntityTooLarge";
    case Code::kUnsupportedMediaType: return "UnsupportedMediaType";
    case Code::kInvalid: return "Invalid";
    case Code::kTooManyRequests: return "TooManyRequests";
    case Code::kInternal: return "InternalError";
    case Code::kServiceUnavailable: return "ServiceUnavailable";
    case Code::kTimeout: return "Timeout";
    case Code::kIOError: return "IOError";
    case Code::kCorruption: return "Corruption";
    case Code::kCancelled: return "Cancelled";
  }
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string msg(context);
  msg += ": ";
  msg += rep_->message;
  Status s(rep_->code, std::move(msg), rep_->causes);
  s.rep_->details = rep_->details;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(rep_->code));
  s += ": ";
  s += rep_->message;
  return s;
}

bool Status::operator==(const Status& o) const {
  if (ok() || o.ok()) return ok() == o.ok();
  return rep_->code == o.rep_->code && rep_->message == o.rep_->message &&
         rep_->causes == o.rep_->causes;
}

Status ErrnoStatus(std::string_view op, std::string_view path, int err) {
  std::string msg(op);
  if (!path.empty()) {
    msg += ' ';
    msg += path;
  }
  msg += ": ";
  msg += std::strerror(err);
  return Status::IOError(std::move(msg));
}

}  // namespace kubepp
