// Request routing facts (upstream's RequestInfo): which API, group, version,
// namespace, resource, name and subresource a path names, and which verb the
// method means.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/url.h"

namespace kubepp::apiserver {

struct RequestInfo {
  bool is_resource = false;
  std::string group;
  std::string version;
  std::string ns;
  std::string resource;
  std::string name;
  std::string subresource;
  std::vector<std::string> rest;  // path parts after the subresource (proxy paths)
  bool watch_path = false;        // the deprecated /watch/ prefix
  std::string verb;               // get list watch create update patch delete deletecollection
};

// Parses /api/... and /apis/... paths. Non-resource paths give is_resource false.
RequestInfo ParseRequestInfo(std::string_view method, std::string_view path);

// Query strings live in common/url.h (the kubelet's API parses them too).
using kubepp::ParseGoBool;
using kubepp::Query;
using kubepp::UrlDecode;

}  // namespace kubepp::apiserver
