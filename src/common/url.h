// URLs: percent-encoding, query strings (upstream's url.Values as the API
// server reads them, with Go-style booleans) and path segments.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubepp {

// The non-empty segments of a path ("/a//b/" -> {"a", "b"}).
std::vector<std::string> SplitPath(std::string_view path);
std::string UrlDecode(std::string_view s, bool plus_is_space);
// Percent-encodes all but unreserved characters (Go's url.QueryEscape, with
// %20 for spaces).
std::string QueryEscape(std::string_view s);
// Go's strconv.ParseBool (1 t T TRUE true True / 0 f F FALSE false False).
std::optional<bool> ParseGoBool(std::string_view s);

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

}  // namespace kubepp
