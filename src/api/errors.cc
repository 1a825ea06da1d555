#include "api/errors.h"

#include <boost/json.hpp>

namespace kubepp::api {
namespace bj = boost::json;

std::string FormatValue(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::string:
      return bj::serialize(v);
    case bj::kind::int64:
      return std::to_string(v.get_int64());
    case bj::kind::uint64:
      return std::to_string(v.get_uint64());
    case bj::kind::double_: {
      std::string s = bj::serialize(v);
      return s;
    }
    case bj::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case bj::kind::null:
      return "null";
    default:
      return bj::serialize(v);
  }
}

std::string FieldError::Message() const {
  std::string m;
  switch (type) {
    case Type::kRequired:
      m = "Required value";
      break;
    case Type::kInvalid:
      m = "Invalid value";
      break;
    case Type::kNotSupported:
      m = "Unsupported value";
      break;
    case Type::kDuplicate:
      m = "Duplicate value";
      break;
    case Type::kForbidden:
      m = "Forbidden";
      break;
    case Type::kTooLong:
      m = "Too long";
      break;
    case Type::kTooMany:
      m = "Too many";
      break;
    case Type::kNotFound:
      m = "Not found";
      break;
    case Type::kInternal:
      m = "Internal error";
      break;
  }
  if (has_value) m += ": " + value;
  if (!detail.empty()) m += ": " + detail;
  return m;
}

std::string FieldError::Error() const { return field.empty() ? Message() : field + ": " + Message(); }

std::string_view FieldError::Reason() const {
  switch (type) {
    case Type::kRequired: return "FieldValueRequired";
    case Type::kInvalid: return "FieldValueInvalid";
    case Type::kNotSupported: return "FieldValueNotSupported";
    case Type::kDuplicate: return "FieldValueDuplicate";
    case Type::kForbidden: return "FieldValueForbidden";
    case Type::kTooLong: return "FieldValueTooLong";
    case Type::kTooMany: return "FieldValueTooMany";
    case Type::kNotFound: return "FieldValueNotFound";
    case Type::kInternal: return "InternalError";
  }
  return "FieldValueInvalid";
}

FieldError Required(std::string field, std::string detail) {
  return FieldError{FieldError::Type::kRequired, std::move(field), "", false, std::move(detail)};
}

FieldError Invalid(std::string field, const bj::value& value, std::string detail) {
  return FieldError{FieldError::Type::kInvalid, std::move(field), FormatValue(value), true, std::move(detail)};
}

FieldError InvalidString(std::string field, std::string_view value, std::string detail) {
  return Invalid(std::move(field), bj::value(bj::string(value)), std::move(detail));
}

FieldError NotSupported(std::string field, const bj::value& value, const std::vector<std::string>& supported) {
  std::string detail;
  if (!supported.empty()) {
    detail = "supported values: ";
    for (size_t i = 0; i < supported.size(); ++i) {
      if (i) detail += ", ";
      detail += bj::serialize(bj::value(bj::string(supported[i])));
    }
  }
  return FieldError{FieldError::Type::kNotSupported, std::move(field), FormatValue(value), true, detail};
}

FieldError Duplicate(std::string field, const bj::value& value) {
  return FieldError{FieldError::Type::kDuplicate, std::move(field), FormatValue(value), true, ""};
}

FieldError Forbidden(std::string field, std::string detail) {
  return FieldError{FieldError::Type::kForbidden, std::move(field), "", false, std::move(detail)};
}

FieldError TooLong(std::string field, int64_t max) {
  return FieldError{FieldError::Type::kTooLong, std::move(field), "", false,
                    "must have at most " + std::to_string(max) + " bytes"};
}

FieldError TooMany(std::string field, int64_t actual, int64_t max) {
  return FieldError{FieldError::Type::kTooMany, std::move(field), std::to_string(actual), true,
                    "must have at most " + std::to_string(max) + " items"};
}

Status NewNotFound(const GroupResource& gr, std::string_view name) {
  return Status::NotFound(gr.String() + " \"" + std::string(name) + "\" not found")
      .WithDetails({std::string(name), gr.group, gr.resource, "", 0});
}

Status NewAlreadyExists(const GroupResource& gr, std::string_view name) {
  return Status::AlreadyExists(gr.String() + " \"" + std::string(name) + "\" already exists")
      .WithDetails({std::string(name), gr.group, gr.resource, "", 0});
}

Status NewConflict(const GroupResource& gr, std::string_view name, std::string_view reason) {
  return Status::Conflict("Operation cannot be fulfilled on " + gr.String() + " \"" + std::string(name) +
                          "\": " + std::string(reason))
      .WithDetails({std::string(name), gr.group, gr.resource, "", 0});
}

Status NewInvalid(std::string_view group, std::string_view kind, std::string_view name, const FieldErrors& errs) {
  std::vector<StatusCause> causes;
  for (const auto& e : errs) causes.push_back({std::string(e.Reason()), e.Message(), e.field});
  // Upstream names the kind qualified by its group: Deployment.apps "web".
  std::string qualified = group.empty() ? std::string(kind) : std::string(kind) + "." + std::string(group);
  std::string msg = qualified + " \"" + std::string(name) + "\" is invalid: ";
  if (errs.size() == 1) {
    msg += errs[0].Error();
  } else {
    msg += "[";
    for (size_t i = 0; i < errs.size(); ++i) {
      if (i) msg += ", ";
      msg += errs[i].Error();
    }
    msg += "]";
  }
  return Status::Invalid(std::move(msg), std::move(causes))
      .WithDetails({std::string(name), std::string(group), std::string(kind), "", 0});
}

Status NewBadRequest(std::string message) { return Status::BadRequest(std::move(message)); }

Status NewMethodNotSupported(const GroupResource& gr, std::string_view action) {
  return Status(Code::kMethodNotAllowed, std::string(action) + " is not supported on resources of kind \"" +
                                             gr.String() + "\"")
      .WithDetails({"", gr.group, gr.resource, "", 0});
}

Status NewInternalError(std::string_view message) {
  return Status::Internal("Internal error occurred: " + std::string(message));
}

Status NewGenericNotFound(std::string message) { return Status::NotFound(std::move(message)); }

bj::value StatusObject(const Status& st) {
  bj::object o;
  o["kind"] = "Status";
  o["apiVersion"] = "v1";
  o["metadata"] = bj::object();
  o["status"] = st.ok() ? "Success" : "Failure";
  if (!st.ok()) {
    std::string message = st.message();
    if (st.code() == Code::kIOError || st.code() == Code::kCorruption || st.code() == Code::kCancelled) {
      message = "Internal error occurred: " + message;
    }
    o["message"] = message;
    o["reason"] = std::string(st.Reason());
    const StatusDetails* d = st.details();
    if (d != nullptr || !st.causes().empty()) {
      bj::object det;
      if (d != nullptr) {
        if (!d->name.empty()) det["name"] = d->name;
        if (!d->group.empty()) det["group"] = d->group;
        if (!d->kind.empty()) det["kind"] = d->kind;
        if (!d->uid.empty()) det["uid"] = d->uid;
        if (d->retry_after_seconds > 0) det["retryAfterSeconds"] = d->retry_after_seconds;
      }
      if (!st.causes().empty()) {
        bj::array causes;
        for (const auto& c : st.causes()) {
          bj::object co;
          if (!c.type.empty()) co["reason"] = c.type;
          if (!c.message.empty()) co["message"] = c.message;
          if (!c.field.empty()) co["field"] = c.field;
          causes.push_back(std::move(co));
        }
        det["causes"] = std::move(causes);
      }
      o["details"] = std::move(det);
    }
  }
  o["code"] = st.HttpCode();
  return o;
}

bj::value SuccessStatusObject(const StatusDetails* details) {
  bj::object o;
  o["kind"] = "Status";
  o["apiVersion"] = "v1";
  o["metadata"] = bj::object();
  o["status"] = "Success";
  if (details != nullptr) {
    bj::object det;
    if (!details->name.empty()) det["name"] = details->name;
    if (!details->group.empty()) det["group"] = details->group;
    if (!details->kind.empty()) det["kind"] = details->kind;
    if (!details->uid.empty()) det["uid"] = details->uid;
    o["details"] = std::move(det);
  }
  return o;
}

}  // namespace kubepp::api
