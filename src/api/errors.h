// Kubernetes API errors, shaped as upstream's apimachinery/pkg/api/errors and
// util/validation/field: the message, reason, code and details kubectl and the
// client libraries print.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"

namespace kubepp::api {

// A group and resource ("deployments.apps") as errors name them.
struct GroupResource {
  std::string group;
  std::string resource;
  std::string String() const { return group.empty() ? resource : resource + "." + group; }
};

// One field validation error (field.Error).
struct FieldError {
  enum class Type { kRequired, kInvalid, kNotSupported, kDuplicate, kForbidden, kTooLong, kTooMany, kNotFound, kInternal };
  Type type = Type::kInvalid;
  std::string field;   // "spec.containers[0].image"
  std::string value;   // already formatted ("\"abc\"", "5"); empty when omitted
  bool has_value = false;
  std::string detail;

  // "Required value", "Invalid value: \"x\": detail"
  std::string Message() const;
  // "spec.x: Required value"
  std::string Error() const;
  // "FieldValueRequired"
  std::string_view Reason() const;
};
using FieldErrors = std::vector<FieldError>;

// Formats a JSON value as upstream prints it in field errors (%#v-ish):
// strings quoted, numbers and bools bare.
std::string FormatValue(const boost::json::value& v);

FieldError Required(std::string field, std::string detail = "");
FieldError Invalid(std::string field, const boost::json::value& value, std::string detail);
FieldError InvalidString(std::string field, std::string_view value, std::string detail);
FieldError NotSupported(std::string field, const boost::json::value& value, const std::vector<std::string>& supported);
FieldError Duplicate(std::string field, const boost::json::value& value);
FieldError Forbidden(std::string field, std::string detail);
FieldError TooLong(std::string field, int64_t max);
FieldError TooMany(std::string field, int64_t actual, int64_t max);

Status NewNotFound(const GroupResource& gr, std::string_view name);
Status NewAlreadyExists(const GroupResource& gr, std::string_view name);
Status NewConflict(const GroupResource& gr, std::string_view name, std::string_view reason);
// `kind` is the Kind ("Pod"), `group` its group.
Status NewInvalid(std::string_view group, std::string_view kind, std::string_view name, const FieldErrors& errs);
Status NewBadRequest(std::string message);
Status NewMethodNotSupported(const GroupResource& gr, std::string_view action);
Status NewInternalError(std::string_view message);
Status NewGenericNotFound(std::string message);

// The metav1.Status JSON document for a failure.
boost::json::value StatusObject(const Status& st);
// The metav1.Status for success ({"status":"Success"}), with optional details.
boost::json::value SuccessStatusObject(const StatusDetails* details = nullptr);

}  // namespace kubepp::api
