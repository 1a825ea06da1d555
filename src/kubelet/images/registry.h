// Pulls images from OCI registries over the distribution API (v2): the
// manifest by tag or digest (OCI and Docker v2 manifests, indexes and
// manifest lists, linux/amd64 chosen by the store), then the config and
// layers, every one checked against its digest, into the ImageStore.
//
// Authentication as Docker does it: a 401 names a Bearer token service
// (asked with the pull secret's credentials, or anonymously) or Basic.
// Transport: HTTPS with the system's CAs; registries on localhost
// (127.0.0.0/8, ::1) and those named insecure are tried over HTTPS without
// verification, then plain HTTP.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/image_ref.h"
#include "common/status.h"
#include "kubelet/images/image_store.h"

namespace kubepp::kubelet::images {

struct RegistryAuth {
  std::string username, password;
  std::string identity_token;  // an OAuth refresh token ("identitytoken")
};
// A docker config's "auths", by registry host ("127.0.0.1:5000", "docker.io").
using AuthConfigs = std::map<std::string, RegistryAuth>;

// Parses a secret's .dockerconfigjson ({"auths": {...}}) or legacy
// .dockercfg ({host: {...}}); entries carry "auth" (base64 user:password)
// or "username"/"password".
Result<AuthConfigs> ParseDockerConfig(std::string_view json);

class Puller {
 public:
  // `tmp_dir` holds downloads while they are stored.
  Puller(ImageStore* store, std::vector<std::string> insecure_registries, std::string tmp_dir)
      : store_(store), insecure_(std::move(insecure_registries)), tmp_(std::move(tmp_dir)) {}

  // Pulls `image` (a reference as in a pod spec). Credentials are taken
  // from the first of `auths` with an entry for the image's registry.
  // NotFound when the registry has no such image, Unauthorized when it
  // refused the credentials.
  // ServiceUnavailable when the registry cannot be reached (then it is not
  // tried again for 30 s).
  Result<Image> Pull(const std::string& image, const std::vector<AuthConfigs>& auths);

 private:
  Result<Image> PullFrom(const api::ImageRef& ref, const std::string& image, const std::vector<AuthConfigs>& auths);

  ImageStore* store_;
  std::vector<std::string> insecure_;
  std::string tmp_;
  std::mutex mu_;
  std::map<std::string, bool> plain_http_;  // GUARDED_BY(mu_): registry host -> reached over http
  // GUARDED_BY(mu_): registry host -> (until when, the error)
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, Status>> unreachable_;
};

}  // namespace kubepp::kubelet::images
