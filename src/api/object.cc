#include "api/object.h"

#include <openssl/rand.h>

#include <cstdio>

namespace kubepp::api {

const bj::value* At(const bj::value& v, std::initializer_list<std::string_view> path) {
  const bj::value* cur = &v;
  for (auto k : path) {
    const bj::object* o = cur->if_object();
    if (o == nullptr) return nullptr;
    cur = o->if_contains(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

const bj::value* At(const bj::object& o, std::initializer_list<std::string_view> path) {
  const bj::object* cur = &o;
  const bj::value* v = nullptr;
  size_t i = 0;
  for (auto k : path) {
    if (cur == nullptr) return nullptr;
    v = cur->if_contains(k);
    if (v == nullptr) return nullptr;
    if (++i < path.size()) cur = v->if_object();
  }
  return v;
}

std::string_view StrAt(const bj::object& o, std::initializer_list<std::string_view> path, std::string_view def) {
  const bj::value* v = At(o, path);
  if (v == nullptr || !v->is_string()) return def;
  return std::string_view(v->get_string().data(), v->get_string().size());
}

std::optional<int64_t> IntAt(const bj::object& o, std::initializer_list<std::string_view> path) {
  const bj::value* v = At(o, path);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

bool BoolAt(const bj::object& o, std::initializer_list<std::string_view> path, bool def) {
  const bj::value* v = At(o, path);
  if (v == nullptr || !v->is_bool()) return def;
  return v->get_bool();
}

const bj::object* ObjAt(const bj::object& o, std::initializer_list<std::string_view> path) {
  const bj::value* v = At(o, path);
  return v != nullptr ? v->if_object() : nullptr;
}

const bj::array* ArrAt(const bj::object& o, std::initializer_list<std::string_view> path) {
  const bj::value* v = At(o, path);
  return v != nullptr ? v->if_array() : nullptr;
}

bj::object& Obj(bj::object& o, std::string_view key) {
  bj::value& v = o[key];
  if (!v.is_object()) v = bj::object();
  return v.get_object();
}

bj::array& Arr(bj::object& o, std::string_view key) {
  bj::value& v = o[key];
  if (!v.is_array()) v = bj::array();
  return v.get_array();
}

void SetDefault(bj::object& o, std::string_view key, bj::value v) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) o[key] = std::move(v);
}

bj::object& Meta(bj::object& o) { return Obj(o, "metadata"); }

std::string NewUid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string RandomSuffix(int n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  unsigned char b[64];
  RAND_bytes(b, n);
  for (int i = 0; i < n; ++i) out.push_back(kAlphabet[b[i] % (sizeof kAlphabet - 1)]);
  return out;
}

std::string SerializeObject(const bj::object& o) {
  std::string out = "{";
  bool first = true;
  auto emit = [&](std::string_view k, const bj::value& v) {
    if (!first) out.push_back(',');
    first = false;
    out += bj::serialize(bj::value(bj::string(k)));
    out.push_back(':');
    out += bj::serialize(v);
  };
  for (std::string_view k : {"apiVersion", "kind", "metadata"}) {
    if (const auto* v = o.if_contains(k)) emit(k, *v);
  }
  for (const auto& [k, v] : o) {
    if (k == "apiVersion" || k == "kind" || k == "metadata") continue;
    emit(k, v);
  }
  out.push_back('}');
  return out;
}

std::string WithResourceVersion(std::string_view json, int64_t rv) {
  static constexpr std::string_view kMeta = "\"metadata\":{";
  std::string field = "\"resourceVersion\":\"" + std::to_string(rv) + "\"";
  size_t pos = json.find(kMeta);
  std::string out;
  out.reserve(json.size() + field.size() + 16);
  if (pos == std::string_view::npos) {
    // No metadata: add one after the opening brace.
    out = "{\"metadata\":{" + field + "}";
    std::string_view rest = json.substr(1);
    if (!rest.empty() && rest.front() != '}') out.push_back(',');
    out.append(rest);
    return out;
  }
  size_t after = pos + kMeta.size();
  out.append(json.substr(0, after));
  out.append(field);
  if (after < json.size() && json[after] != '}') out.push_back(',');
  out.append(json.substr(after));
  return out;
}

}  // namespace kubepp::api
