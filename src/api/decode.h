// Checks a decoded JSON object against the schema the way Go's decoding into
// the API types does: type mismatches are errors (400 whatever the field
// validation mode), unknown fields are reported (for Strict and Warn) and
// dropped, null members are dropped.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "api/schema/schema.h"
#include "common/status.h"

namespace kubepp::api {

struct DecodeIssues {
  // JSON paths of unknown fields, in document order: "spec.containers[0].imagePullPolicyy".
  std::vector<std::string> unknown_fields;
};

// Normalizes `obj` (a `type`) in place. Returns BadRequest with Go's wording
// ("json: cannot unmarshal string into Go struct field PodSpec.spec.containers
// of type []v1.Container") on a type mismatch.
Status NormalizeObject(boost::json::value& obj, const schema::Type* type, DecodeIssues* issues);

}  // namespace kubepp::api
