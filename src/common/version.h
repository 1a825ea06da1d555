// The kubepp release and the git commit it was built from (generated at build time).
#pragma once

namespace kubepp {
extern const char* const kVersion;
extern const char* const kGitCommit;
}  // namespace kubepp
