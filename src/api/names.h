// Name and label validation with upstream's exact messages
// (k8s.io/apimachinery/pkg/util/validation).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kubepp::api {

// Each returns the list of problems (empty when valid).
std::vector<std::string> IsDNS1123Subdomain(std::string_view value);
std::vector<std::string> IsDNS1123Label(std::string_view value);
std::vector<std::string> IsDNS1035Label(std::string_view value);
// A qualified name: [prefix/]name, as label and annotation keys.
std::vector<std::string> IsQualifiedName(std::string_view value);
std::vector<std::string> IsValidLabelValue(std::string_view value);
// Path segment names (e.g. RBAC roles): may not be "." or ".." nor contain "/" or "%".
std::vector<std::string> IsValidPathSegmentName(std::string_view value);
// A C identifier-ish env var name rule is per kind; see validation.

}  // namespace kubepp::api
