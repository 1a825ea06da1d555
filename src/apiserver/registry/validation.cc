// Validation per kind, following docs/reference/validation.md.
#include "apiserver/registry/hooks_util.h"

namespace kubepp::apiserver {

void InstallValidation(ResourceRegistry& registry) { (void)registry; }

}  // namespace kubepp::apiserver
