// Image layers on disk: tar archives (plain or gzip) unpacked into a
// directory that serves as one overlayfs lower layer, with the OCI whiteouts
// (".wh.name", ".wh..wh..opq") turned into overlayfs ones (a 0/0 character
// device, the trusted.overlay.opaque xattr).
#pragma once

#include <string>

#include "common/status.h"

namespace kubepp::kubelet::images {

// Unpacks the layer at `tar_path` into `dir` (created). Returns its diff id:
// "sha256:<hex>" of the uncompressed tar. Entries that would land outside
// `dir` are refused (BadRequest); unreadable data is Corruption.
Result<std::string> UnpackLayer(const std::string& tar_path, const std::string& dir);

// Extracts a whole archive (an image tarball) into `dir` as plain files.
Status ExtractArchive(const std::string& tar_path, const std::string& dir);

}  // namespace kubepp::kubelet::images
