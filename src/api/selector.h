// Label and field selectors, with upstream's syntax (k8s.io/apimachinery
// labels and fields packages):
//   labels: "a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3"
//   fields: "metadata.name=x,spec.nodeName!=y" (with \ escaping , = ! \ in values)
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"

namespace kubepp::api {

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;
  bool Matches(const std::map<std::string, std::string, std::less<>>& labels) const;
  // With the label's value, or nullptr when the object has no such label.
  bool MatchesValue(const std::string_view* value) const;
};

class LabelSelector {
 public:
  // Parses the query-string form. An empty string selects everything.
  // BadRequest with upstream's wording on bad syntax, keys or values.
  static Result<LabelSelector> Parse(std::string_view text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions}).
  // A null selector selects nothing; an empty one selects everything.
  static Result<LabelSelector> FromObject(const boost::json::value* selector);
  // Matches everything / nothing.
  static LabelSelector Everything() { return LabelSelector(); }
  static LabelSelector Nothing();

  bool Matches(const std::map<std::string, std::string, std::less<>>& labels) const;
  // Matches the labels of an object's metadata.labels.
  bool MatchesObject(const boost::json::value& obj) const;
  // The same on an object, reading its labels in place (no copies).
  bool MatchesObject(const boost::json::object& obj) const;
  bool empty() const { return requirements_.empty() && !nothing_; }
  // The canonical string form ("a=b,c in (d,e)"), as `kubectl describe` shows.
  std::string String() const;
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;
  bool nothing_ = false;
};

// Extracts metadata.labels of an object.
std::map<std::string, std::string, std::less<>> ObjectLabels(const boost::json::value& obj);

struct FieldRequirement {
  std::string field;
  bool equals = true;  // false: !=
  std::string value;
};

class FieldSelector {
 public:
  static Result<FieldSelector> Parse(std::string_view text);
  // `get` returns the value of a field the kind supports, or nullopt for an
  // unsupported field.
  using FieldGetter = std::function<std::optional<std::string>(std::string_view field)>;
  bool Matches(const FieldGetter& get) const;
  // BadRequest naming the first field `supported` rejects.
  Status Check(const std::function<bool(std::string_view)>& supported) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }
  // The value the selector requires for `field` with "=", if any.
  std::optional<std::string> RequiredValue(std::string_view field) const;

 private:
  std::vector<FieldRequirement> requirements_;
};

}  // namespace kubepp::api
