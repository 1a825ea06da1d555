// JSON helpers over Boost.JSON: parsing into Result instead of exceptions, and
// typed lookups that tolerate the int64-as-string encoding of proto3 JSON
// (etcd's gateway, Kubernetes' int-or-string fields).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp::json {

namespace bj = boost::json;

// Parses one JSON document. Malformed input is a BadRequest naming the offset.
Result<bj::value> Parse(std::string_view text);
std::string Serialize(const bj::value& v);

// Member lookup; nullptr if `v` is not an object or has no such key.
const bj::value* Find(const bj::value& v, std::string_view key);
// Follows a path of member names: Find(v, {"metadata", "name"}).
const bj::value* FindPath(const bj::value& v, std::initializer_list<std::string_view> path);

// The string at `key`, or `def` when absent or not a string.
std::string_view GetString(const bj::value& v, std::string_view key, std::string_view def = "");
// The integer at `key`: a JSON number, or a string of digits (proto3 int64).
std::optional<int64_t> GetInt(const bj::value& v, std::string_view key);
bool GetBool(const bj::value& v, std::string_view key, bool def = false);

}  // namespace kubepp::json
