// The four patch types of PATCH requests:
//   application/merge-patch+json           RFC 7386 JSON merge patch
//   application/json-patch+json            RFC 6902 JSON patch
//   application/strategic-merge-patch+json Kubernetes strategic merge patch,
//                                          driven by the schema's patch keys
//   application/apply-patch+yaml           server-side apply (see apply.h)
#pragma once

#include <boost/json/value.hpp>

#include "api/schema/schema.h"
#include "common/status.h"

namespace kubepp::api {

// RFC 7386. Never fails.
boost::json::value MergePatch(const boost::json::value& target, const boost::json::value& patch);

// RFC 6902. `patch` must be an array of operations. Invalid patches and
// operations that do not apply fail with Invalid (422), like upstream.
Result<boost::json::value> JsonPatch(const boost::json::value& target, const boost::json::value& patch);

// Strategic merge patch of `original` by `patch`, where `type` describes
// `original` (null: plain JSON merge semantics throughout). Understands
// $patch (replace, delete, merge), $retainKeys, $setElementOrder/<list>,
// $deleteFromPrimitiveList/<list>.
Result<boost::json::value> StrategicMergePatch(const boost::json::value& original, const boost::json::value& patch,
                                               const schema::Type* type);

}  // namespace kubepp::api
