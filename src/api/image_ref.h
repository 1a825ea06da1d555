// Container image references as Docker and the kubelet read them
// ("busybox" = "docker.io/library/busybox:latest", "localhost:5000/x@sha256:...").
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp::api {

struct ImageRef {
  std::string domain;  // "docker.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // "latest" when neither tag nor digest is given
  std::string digest;  // "sha256:<hex>", or empty
  // domain/path
  std::string Repository() const { return domain + "/" + path; }
  // domain/path:tag, or domain/path@digest when there is no tag.
  std::string String() const;
};

// Parses and normalizes a reference; BadRequest "couldn't parse image name
// \"X\": invalid reference format" (the kubelet's InvalidImageName text) when
// it is not one.
Result<ImageRef> ParseImageRef(std::string_view ref);

// The normalized name ("docker.io/library/busybox:latest"); the input itself
// when it does not parse.
std::string NormalizedImageName(std::string_view image);

}  // namespace kubepp::api
