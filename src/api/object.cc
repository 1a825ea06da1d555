#include "api/object.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

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

bool SameAt(const bj::object& a, const bj::object& b, std::initializer_list<std::string_view> path) {
  const bj::value* x = At(a, path);
  const bj::value* y = At(b, path);
  return x == nullptr ? y == nullptr : y != nullptr && *x == *y;
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

namespace {

// Random bytes from a per-thread pool refilled in blocks: one RAND_bytes
// (and the fork check inside it, a getpid system call) per 256 uids rather
// than per uid. Children of kubepp exec right away and never draw from it.
void RandomBytes(unsigned char* out, size_t n) {
  struct Pool {
    unsigned char bytes[4096];
    size_t used = sizeof bytes;
  };
  thread_local Pool pool;
  if (n > sizeof pool.bytes) {
    RAND_bytes(out, static_cast<int>(n));
    return;
  }
  if (pool.used + n > sizeof pool.bytes) {
    RAND_bytes(pool.bytes, sizeof pool.bytes);
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes + pool.used, n);
  pool.used += n;
}

}  // namespace

std::string NewUid() {
  unsigned char b[16];
  RandomBytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t j = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++j;
    out[j++] = kHex[b[i] >> 4];
    out[j++] = kHex[b[i] & 15];
  }
  return out;
}

std::string RandomSuffix(int n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  unsigned char b[64];
  n = std::min(n, 64);
  RandomBytes(b, static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(kAlphabet[b[i] % (sizeof kAlphabet - 1)]);
  return out;
}

std::string SerializeObject(const bj::object& o) {
  // apiVersion, kind and metadata first, as upstream writes them; one
  // serializer streams everything into the result without temporaries.
  std::string out;
  out.reserve(2048);
  out.push_back('{');
  bj::serializer sr;
  char buf[4096];
  auto drain = [&] {
    while (!sr.done()) {
      std::string_view chunk = sr.read(buf, sizeof buf);
      out.append(chunk.data(), chunk.size());
    }
  };
  bool first = true;
  auto emit = [&](std::string_view k, const bj::value& v) {
    if (!first) out.push_back(',');
    first = false;
    sr.reset(bj::string_view(k.data(), k.size()));
    drain();
    out.push_back(':');
    sr.reset(&v);
    drain();
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
