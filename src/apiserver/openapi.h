// OpenAPI v3 documents generated from the schema model and the resource
// registry: /openapi/v3 (the root listing every group-version with a content
// hash) and one document per group-version with paths (carrying the GVK and
// fieldValidation that kubectl's validation probe looks for) and component
// schemas (with the patch-merge-key/strategy and list-type extensions that
// apply and explain read).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "apiserver/registry/resource.h"

namespace kubepp::apiserver {

class OpenApi {
 public:
  explicit OpenApi(const ResourceRegistry& registry);
  // The root document.
  const std::string& Root();
  // The document of "api/v1" or "apis/<group>/<version>", and its hash; null if unknown.
  const std::string* Document(const std::string& gv_path, std::string* hash);

 private:
  void BuildAll();  // REQUIRES: mu_
  const ResourceRegistry& registry_;
  std::mutex mu_;
  bool built_ = false;
  std::string root_;
  std::map<std::string, std::pair<std::string, std::string>> docs_;  // path -> (document, hash)
};

}  // namespace kubepp::apiserver
