#include "api/yaml.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

namespace kubepp::api {
namespace bj = boost::json;
namespace {

bool ParseInteger(const std::string& s, int64_t* out) {
  std::string_view v = s;
  bool neg = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v.empty()) return false;
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  } else if (v.size() > 2 && v[0] == '0' && v[1] == 'o') {
    base = 8;
    v.remove_prefix(2);
  }
  uint64_t u;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), u, base);
  if (ec != std::errc() || p != v.data() + v.size()) return false;
  if (u > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return false;
  *out = neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
  return true;
}

bool ParseFloat(const std::string& s, double* out) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") {
    *out = INFINITY;
    return true;
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    *out = -INFINITY;
    return true;
  }
  if (s.empty()) return false;
  bool digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
      return false;
    }
  }
  if (!digit) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

Result<bj::value> Convert(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return bj::value(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return bj::value(bj::string(s));
      if (n.Tag() == "?") {
        if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return bj::value(nullptr);
        if (s == "true" || s == "True" || s == "TRUE") return bj::value(true);
        if (s == "false" || s == "False" || s == "FALSE") return bj::value(false);
        int64_t i;
        if (ParseInteger(s, &i)) return bj::value(i);
        double d;
        if (ParseFloat(s, &d)) return bj::value(d);
      }
      return bj::value(bj::string(s));
    }
    case YAML::NodeType::Sequence: {
      bj::array a;
      for (const auto& e : n) {
        ASSIGN_OR_RETURN(bj::value v, Convert(e));
        a.push_back(std::move(v));
      }
      return bj::value(std::move(a));
    }
    case YAML::NodeType::Map: {
      bj::object o;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return Status::BadRequest("yaml: mapping keys must be scalars");
        ASSIGN_OR_RETURN(bj::value v, Convert(kv.second));
        o[kv.first.Scalar()] = std::move(v);
      }
      return bj::value(std::move(o));
    }
  }
  return bj::value(nullptr);
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  static const char* kSpecial[] = {"null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE",
                                   "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"};
  for (const char* k : kSpecial) {
    if (s == k) return true;
  }
  int64_t i;
  double d;
  std::string str(s);
  if (ParseInteger(str, &i) || ParseFloat(str, &d)) return true;
  char f = s.front();
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(f) != std::string_view::npos || f == ' ') return true;
  if (s.back() == ' ' || s.back() == ':') return true;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void EmitScalar(YAML::Emitter& e, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null:
      e << YAML::Null;
      break;
    case bj::kind::bool_:
      e << (v.get_bool() ? "true" : "false");
      break;
    case bj::kind::int64:
      e << v.get_int64();
      break;
    case bj::kind::uint64:
      e << v.get_uint64();
      break;
    case bj::kind::double_:
      e << bj::serialize(v);
      break;
    case bj::kind::string: {
      std::string s(v.get_string());
      if (s.find('\n') != std::string::npos && s.back() == '\n' && s.find_first_of("\t\r") == std::string::npos) {
        e << YAML::Literal << s;
      } else if (s.find('\n') != std::string::npos) {
        e << YAML::DoubleQuoted << s;
      } else if (NeedsQuotes(s)) {
        e << YAML::DoubleQuoted << s;
      } else {
        e << s;
      }
      break;
    }
    default:
      break;
  }
}

void Emit(YAML::Emitter& e, const bj::value& v) {
  if (v.is_object()) {
    if (v.get_object().empty()) {
      e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    e << YAML::BeginMap;
    for (const auto& [k, val] : v.get_object()) {
      e << YAML::Key;
      std::string key(k);
      if (NeedsQuotes(key)) {
        e << YAML::DoubleQuoted << key;
      } else {
        e << key;
      }
      e << YAML::Value;
      Emit(e, val);
    }
    e << YAML::EndMap;
  } else if (v.is_array()) {
    if (v.get_array().empty()) {
      e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    e << YAML::BeginSeq;
    for (const auto& val : v.get_array()) Emit(e, val);
    e << YAML::EndSeq;
  } else {
    EmitScalar(e, v);
  }
}

}  // namespace

Result<bj::value> YamlToJson(std::string_view text) {
  try {
    YAML::Node n = YAML::Load(std::string(text));
    return Convert(n);
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(std::string("error converting YAML to JSON: yaml: ") + e.what());
  }
}

Result<std::vector<bj::value>> YamlDocumentsToJson(std::string_view text) {
  std::vector<bj::value> out;
  try {
    for (const auto& n : YAML::LoadAll(std::string(text))) {
      if (n.IsNull()) continue;
      ASSIGN_OR_RETURN(bj::value v, Convert(n));
      out.push_back(std::move(v));
    }
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(std::string("error converting YAML to JSON: yaml: ") + e.what());
  }
  return out;
}

std::string JsonToYaml(const bj::value& v) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  e.SetMapFormat(YAML::Block);
  Emit(e, v);
  std::string out = e.c_str();
  out.push_back('\n');
  return out;
}

}  // namespace kubepp::api
