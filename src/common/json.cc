#include "common/json.h"

#include <charconv>

namespace kubepp::json {

Result<bj::value> Parse(std::string_view text) {
  boost::system::error_code ec;
  bj::parse_options opts;
  opts.max_depth = 10000;
  bj::value v = bj::parse(text, ec, {}, opts);
  if (ec) return Status::BadRequest("invalid JSON: " + ec.message());
  return v;
}

std::string Serialize(const bj::value& v) { return bj::serialize(v); }

const bj::value* Find(const bj::value& v, std::string_view key) {
  const bj::object* o = v.if_object();
  if (o == nullptr) return nullptr;
  return o->if_contains(key);
}

const bj::value* FindPath(const bj::value& v, std::initializer_list<std::string_view> path) {
  const bj::value* cur = &v;
  for (std::string_view k : path) {
    cur = Find(*cur, k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string_view GetString(const bj::value& v, std::string_view key, std::string_view def) {
  const bj::value* f = Find(v, key);
  if (f == nullptr || !f->is_string()) return def;
  const bj::string& s = f->get_string();
  return std::string_view(s.data(), s.size());
}

std::optional<int64_t> GetInt(const bj::value& v, std::string_view key) {
  const bj::value* f = Find(v, key);
  if (f == nullptr) return std::nullopt;
  if (f->is_int64()) return f->get_int64();
  if (f->is_uint64()) return static_cast<int64_t>(f->get_uint64());
  if (f->is_double()) return static_cast<int64_t>(f->get_double());
  if (f->is_string()) {
    const bj::string& s = f->get_string();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

bool GetBool(const bj::value& v, std::string_view key, bool def) {
  const bj::value* f = Find(v, key);
  if (f == nullptr || !f->is_bool()) return def;
  return f->get_bool();
}

}  // namespace kubepp::json
