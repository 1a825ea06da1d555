// Discovery documents, built once from the resource registry: aggregated
// discovery (apidiscovery.k8s.io v2 and v2beta1) for /api and /apis, and the
// legacy APIVersions / APIGroupList / APIGroup / APIResourceList documents.
#pragma once

#include <map>
#include <string>

#include "apiserver/registry/resource.h"

namespace kubepp::apiserver {

class Discovery {
 public:
  Discovery(const ResourceRegistry& registry, std::string server_address);
  // /api or /apis as aggregated discovery in apidiscovery.k8s.io/`version`.
  const std::string& Aggregated(bool core, std::string_view version) const;
  const std::string& LegacyApi() const { return legacy_api_; }
  const std::string& LegacyApis() const { return legacy_apis_; }
  // /apis/<group>, /api/v1 or /apis/<group>/<version>; null if not served.
  const std::string* LegacyGroup(const std::string& group) const;
  const std::string* LegacyResources(const std::string& group, const std::string& version) const;

 private:
  std::string agg_core_v2_, agg_apis_v2_, agg_core_v2beta1_, agg_apis_v2beta1_;
  std::string legacy_api_, legacy_apis_;
  std::map<std::string, std::string> legacy_group_;      // group -> APIGroup
  std::map<std::string, std::string> legacy_resources_;  // "group/version" -> APIResourceList
};

}  // namespace kubepp::apiserver
