// Request routing facts (upstream's RequestInfo): which API, group, version,
// namespace, resource, name and subresource a path names, and which verb the
// method means. Also query-string parsing and Go-style booleans.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

class Query {
 public:
  static Query Parse(std::string_view raw);
  // The first value, or `def`.
  std::string Get(std::string_view key, std::string_view def = "") const;
  std::vector<std::string> GetAll(std::string_view key) const;
  bool Has(std::string_view key) const;
  // Go's strconv.ParseBool (1 t T TRUE true True / 0 f F FALSE false False);
  // nullopt if absent or not a boolean.
  std::optional<bool> Bool(std::string_view key) const;

 private:
  std::multimap<std::string, std::string, std::less<>> values_;
};

std::optional<bool> ParseGoBool(std::string_view s);
std::string UrlDecode(std::string_view s, bool plus_is_space);

}  // namespace kubepp::apiserver
