#include "apiserver/request.h"

namespace kubepp::apiserver {

RequestInfo ParseRequestInfo(std::string_view method, std::string_view path) {
  RequestInfo info;
  std::vector<std::string> parts = SplitPath(path);
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    info.version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    info.group = parts[1];
    info.version = parts[2];
    i = 3;
  } else {
    return info;
  }
  if (i >= parts.size()) return info;  // discovery of a group-version
  info.is_resource = true;
  if (parts[i] == "watch") {
    info.watch_path = true;
    ++i;
  }
  std::vector<std::string> rest(parts.begin() + static_cast<ptrdiff_t>(i), parts.end());
  if (!rest.empty() && rest[0] == "namespaces" && rest.size() > 1) {
    info.ns = rest[1];
    if (rest.size() > 2 && rest[2] != "status" && rest[2] != "finalize") {
      rest.erase(rest.begin(), rest.begin() + 2);
    } else {
      // The namespace object itself.
      info.ns.clear();
      info.resource = "namespaces";
      info.name = rest[1];
      if (rest.size() > 2) info.subresource = rest[2];
      rest.clear();
    }
  }
  if (!rest.empty()) {
    info.resource = rest[0];
    if (rest.size() > 1) info.name = rest[1];
    if (rest.size() > 2) info.subresource = rest[2];
    if (rest.size() > 3) info.rest.assign(rest.begin() + 3, rest.end());
  }
  if (method == "GET" || method == "HEAD") {
    info.verb = info.name.empty() ? "list" : "get";
    if (info.watch_path) info.verb = "watch";
  } else if (method == "POST") {
    info.verb = "create";
  } else if (method == "PUT") {
    info.verb = "update";
  } else if (method == "PATCH") {
    info.verb = "patch";
  } else if (method == "DELETE") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  } else {
    info.verb = std::string(method);
  }
  return info;
}

}  // namespace kubepp::apiserver
