// Helpers for Kubernetes objects held as Boost.JSON values.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace kubepp::api {

namespace bj = boost::json;

// The value at a path of member names, or null.
const bj::value* At(const bj::value& v, std::initializer_list<std::string_view> path);
const bj::value* At(const bj::object& o, std::initializer_list<std::string_view> path);
std::string_view StrAt(const bj::object& o, std::initializer_list<std::string_view> path, std::string_view def = "");
std::optional<int64_t> IntAt(const bj::object& o, std::initializer_list<std::string_view> path);
bool BoolAt(const bj::object& o, std::initializer_list<std::string_view> path, bool def = false);
const bj::object* ObjAt(const bj::object& o, std::initializer_list<std::string_view> path);
const bj::array* ArrAt(const bj::object& o, std::initializer_list<std::string_view> path);
// Whether two objects agree at a path: both lack it, or hold equal values.
bool SameAt(const bj::object& a, const bj::object& b, std::initializer_list<std::string_view> path);

// The member `key` of `o` as an object, made one (replacing a non-object) if needed.
bj::object& Obj(bj::object& o, std::string_view key);
bj::array& Arr(bj::object& o, std::string_view key);
// Sets `key` unless present (defaulting).
void SetDefault(bj::object& o, std::string_view key, bj::value v);

// metadata accessors
inline std::string_view Name(const bj::object& o) { return StrAt(o, {"metadata", "name"}); }
inline std::string_view Namespace(const bj::object& o) { return StrAt(o, {"metadata", "namespace"}); }
inline std::string_view Uid(const bj::object& o) { return StrAt(o, {"metadata", "uid"}); }
inline std::string_view ResourceVersion(const bj::object& o) { return StrAt(o, {"metadata", "resourceVersion"}); }
bj::object& Meta(bj::object& o);

// A random RFC 4122 version 4 UUID.
std::string NewUid();
// `n` random characters from upstream's generateName alphabet.
std::string RandomSuffix(int n = 5);

// Serializes `o` so that apiVersion, kind and metadata come first (the order
// the rest of the server relies on to splice resourceVersion in cheaply).
std::string SerializeObject(const bj::object& o);
// Inserts "resourceVersion":"<rv>" at the start of the top-level metadata of
// JSON produced by SerializeObject, without parsing it.
std::string WithResourceVersion(std::string_view json, int64_t rv);

}  // namespace kubepp::api
