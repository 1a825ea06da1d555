// Validation per kind, following docs/reference/validation.md (upstream
// pkg/apis/*/validation of Kubernetes 1.32): the same field paths, error
// types and messages. The object's own metadata is validated by the store.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/names.h"
#include "api/quantity.h"
#include "apiserver/pki.h"
#include "apiserver/registry/hooks_util.h"
#include "common/base64.h"

namespace kubepp::apiserver {
namespace {

using api::FieldError;
using api::Forbidden;
using api::InvalidString;
using api::Required;
using Errs = api::FieldErrors;
using Strings = std::vector<std::string>;
using LabelMap = std::map<std::string, std::string, std::less<>>;

// ------------------------------------------------------------------ JSON access
// Accessors on a nullable object; a missing or null member reads as absent.

const bj::value* Get(const bj::object* o, std::string_view k) {
  if (o == nullptr) return nullptr;
  const bj::value* v = o->if_contains(k);
  return v != nullptr && !v->is_null() ? v : nullptr;
}
bool Has(const bj::object* o, std::string_view k) { return Get(o, k) != nullptr; }
const bj::object* Obj(const bj::object* o, std::string_view k) {
  const bj::value* v = Get(o, k);
  return v != nullptr ? v->if_object() : nullptr;
}
const bj::array* Arr(const bj::object* o, std::string_view k) {
  const bj::value* v = Get(o, k);
  return v != nullptr ? v->if_array() : nullptr;
}
std::string_view Str(const bj::object* o, std::string_view k) {
  const bj::value* v = Get(o, k);
  if (v == nullptr || !v->is_string()) return {};
  return {v->get_string().data(), v->get_string().size()};
}
std::optional<int64_t> Int(const bj::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}
std::optional<int64_t> Int(const bj::object* o, std::string_view k) { return Int(Get(o, k)); }
bool Bool(const bj::object* o, std::string_view k) {
  const bj::value* v = Get(o, k);
  return v != nullptr && v->is_bool() && v->get_bool();
}
size_t Size(const bj::array* a) { return a != nullptr ? a->size() : 0; }
size_t Size(const bj::object* o) { return o != nullptr ? o->size() : 0; }

// Calls f(index, element) for each element; non-objects read as {}.
template <typename F>
void ForEach(const bj::array* a, F&& f) {
  static const bj::object kEmpty;
  if (a == nullptr) return;
  for (size_t i = 0; i < a->size(); ++i) {
    const bj::object* o = (*a)[i].if_object();
    f(i, o != nullptr ? *o : kEmpty);
  }
}

std::string StrOf(const bj::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string(); }

// Map members sorted by key (upstream iterates Go maps; we use a stable order).
std::vector<std::pair<std::string, const bj::value*>> Sorted(const bj::object* m) {
  std::vector<std::pair<std::string, const bj::value*>> out;
  if (m == nullptr) return out;
  for (const auto& [k, v] : *m) out.emplace_back(std::string(k), &v);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

Strings StrList(const bj::array* a) {
  Strings out;
  if (a != nullptr) {
    for (const auto& v : *a) out.push_back(StrOf(v));
  }
  return out;
}

LabelMap ToLabelMap(const bj::object* m) {
  LabelMap out;
  if (m != nullptr) {
    for (const auto& [k, v] : *m) out.emplace(std::string(k), StrOf(v));
  }
  return out;
}

bool IsEmptyValue(const bj::value* v) {
  return v == nullptr || v->is_null() || (v->is_object() && v->get_object().empty()) ||
         (v->is_array() && v->get_array().empty());
}

// apiequality.Semantic.DeepEqual on JSON: null, missing and empty
// lists/maps are the same.
bool SemEq(const bj::value* a, const bj::value* b) {
  if (IsEmptyValue(a) || IsEmptyValue(b)) return IsEmptyValue(a) && IsEmptyValue(b);
  if (a->is_object() && b->is_object()) {
    const auto& ao = a->get_object();
    const auto& bo = b->get_object();
    for (const auto& [k, v] : ao) {
      if (!SemEq(&v, bo.if_contains(k))) return false;
    }
    for (const auto& [k, v] : bo) {
      if (!ao.contains(k) && !IsEmptyValue(&v)) return false;
    }
    return true;
  }
  if (a->is_array() && b->is_array()) {
    const auto& aa = a->get_array();
    const auto& ba = b->get_array();
    if (aa.size() != ba.size()) return false;
    for (size_t i = 0; i < aa.size(); ++i) {
      if (!SemEq(&aa[i], &ba[i])) return false;
    }
    return true;
  }
  if (a->is_number() && b->is_number()) return Int(a) == Int(b) && a->to_number<double>() == b->to_number<double>();
  return *a == *b;
}
bool SemEq(const bj::object* a, const bj::object* b, std::string_view k) { return SemEq(Get(a, k), Get(b, k)); }

// ------------------------------------------------------------- paths, errors

std::string Child(const std::string& p, std::string_view c) {
  return p.empty() ? std::string(c) : p + "." + std::string(c);
}
std::string Idx(const std::string& p, size_t i) { return p + "[" + std::to_string(i) + "]"; }
std::string Key(const std::string& p, std::string_view k) { return p + "[" + std::string(k) + "]"; }

constexpr std::string_view kNonNegative = "must be greater than or equal to 0";
constexpr std::string_view kPositive = "must be greater than zero";
constexpr std::string_view kImmutable = "field is immutable";
constexpr std::string_view kPortRange = "must be between 1 and 65535, inclusive";
constexpr std::string_view kIPError = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
constexpr std::string_view kCIDRError = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
constexpr std::string_view kFileMode = "must be a number between 0 and 0777 (octal), both inclusive";

std::string InclusiveRange(int64_t lo, int64_t hi) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", inclusive";
}

// A Go-quoted string (%q); JSON escaping matches it for printable text.
std::string Quote(std::string_view s) { return bj::serialize(bj::value(bj::string(s))); }

// An error whose bad value is already rendered (Go %#v of maps, slices, structs).
FieldError WithValue(FieldError::Type t, std::string field, std::string value, std::string_view detail) {
  return FieldError{t, std::move(field), std::move(value), true, std::string(detail)};
}
FieldError InvalidGo(std::string field, std::string value, std::string_view detail) {
  return WithValue(FieldError::Type::kInvalid, std::move(field), std::move(value), detail);
}
FieldError InvalidInt(std::string field, int64_t v, std::string_view detail) {
  return api::Invalid(std::move(field), bj::value(v), std::string(detail));
}
FieldError InvalidStr(std::string field, std::string_view v, std::string_view detail) {
  return InvalidString(std::move(field), v, std::string(detail));
}
FieldError NotSupported(std::string field, std::string_view v, const Strings& supported) {
  return api::NotSupported(std::move(field), bj::value(bj::string(v)), supported);
}
FieldError Duplicate(std::string field, std::string_view v) {
  return api::Duplicate(std::move(field), bj::value(bj::string(v)));
}
FieldError NotFound(std::string field, std::string_view v) {
  return WithValue(FieldError::Type::kNotFound, std::move(field), Quote(v), "");
}
FieldError TooLongBytes(std::string field, int64_t max) {
  return FieldError{FieldError::Type::kTooLong, std::move(field), "", false,
                    "must have at most " + std::to_string(max) + " bytes"};
}

void Msgs(Errs& errs, const std::string& path, std::string_view v, const Strings& msgs) {
  for (const auto& m : msgs) errs.push_back(InvalidStr(path, v, m));
}
void CheckLabel(Errs& errs, const std::string& path, std::string_view v) {
  Msgs(errs, path, v, api::IsDNS1123Label(v));
}
void CheckSubdomain(Errs& errs, const std::string& path, std::string_view v) {
  Msgs(errs, path, v, api::IsDNS1123Subdomain(v));
}
void CheckQualified(Errs& errs, const std::string& path, std::string_view v) {
  Msgs(errs, path, v, api::IsQualifiedName(v));
}
void NonNegative(Errs& errs, const std::string& path, std::optional<int64_t> v) {
  if (v && *v < 0) errs.push_back(InvalidInt(path, *v, kNonNegative));
}
void Immutable(Errs& errs, const std::string& path, const bj::value* now, const bj::value* before,
               const std::string& rendered) {
  if (!SemEq(now, before)) errs.push_back(InvalidGo(path, rendered, kImmutable));
}

// ----------------------------------------------------------- Go renderings

std::string GoStrMap(const bj::value* m) {
  if (m == nullptr || !m->is_object()) return "map[string]string(nil)";
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : Sorted(&m->get_object())) {
    if (!first) out += ", ";
    first = false;
    out += Quote(k) + ":" + Quote(StrOf(*v));
  }
  return out + "}";
}

std::string GoStrSlice(const bj::value* a, std::string_view type = "[]string") {
  if (a == nullptr || !a->is_array()) return std::string(type) + "(nil)";
  std::string out = std::string(type) + "{";
  for (size_t i = 0; i < a->get_array().size(); ++i) {
    if (i) out += ", ";
    out += Quote(StrOf(a->get_array()[i]));
  }
  return out + "}";
}
std::string GoStrings(const Strings& s) {
  bj::array a;
  for (const auto& x : s) a.emplace_back(bj::string(x));
  bj::value v(std::move(a));
  return GoStrSlice(&v);
}

// A *metav1.LabelSelector as %#v prints it (nil pointers print as "null").
std::string GoSelector(const bj::value* s) {
  if (s == nullptr || !s->is_object()) return "\"null\"";
  const bj::object& o = s->get_object();
  std::string out = "v1.LabelSelector{MatchLabels:" + GoStrMap(Get(&o, "matchLabels")) + ", MatchExpressions:";
  const bj::array* exprs = Arr(&o, "matchExpressions");
  if (exprs == nullptr) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    ForEach(exprs, [&](size_t i, const bj::object& r) {
      if (i) out += ", ";
      out += "v1.LabelSelectorRequirement{Key:" + Quote(Str(&r, "key")) + ", Operator:" + Quote(Str(&r, "operator")) +
             ", Values:" + GoStrSlice(Get(&r, "values")) + "}";
    });
    out += "}";
  }
  return out + "}";
}

// intstr.IntOrString.
struct IntOrStr {
  bool is_str = false;
  int64_t i = 0;
  std::string s;
  // IntValue(): the int, or the string parsed as one (0 when it is not).
  int64_t IntValue() const {
    if (!is_str) return i;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    return (!s.empty() && end != nullptr && *end == '\0') ? v : 0;
  }
  std::string Go() const {
    return "intstr.IntOrString{Type:" + std::string(is_str ? "1" : "0") + ", IntVal:" + std::to_string(is_str ? 0 : i) +
           ", StrVal:" + Quote(is_str ? s : "") + "}";
  }
};
IntOrStr ToIntOrStr(const bj::value* v) {
  IntOrStr r;
  if (v != nullptr && v->is_string()) {
    r.is_str = true;
    r.s = v->get_string();
  } else {
    r.i = Int(v).value_or(0);
  }
  return r;
}

// ------------------------------------------------------------------ quantities

using api::Quantity;

// The quantity in `text`, or nullopt if malformed.
std::optional<Quantity> ParseQuantity(std::string_view text) {
  auto q = Quantity::Parse(text);
  if (!q.ok()) return std::nullopt;
  return *q;
}

// A quantity field; an unparsable one is reported (upstream rejects it while
// decoding) and yields nullopt.
std::optional<Quantity> QuantityAt(const bj::value* v, const std::string& path, Errs& errs) {
  if (v == nullptr) return std::nullopt;
  std::string text = v->is_string() ? std::string(v->get_string()) : bj::serialize(*v);
  auto q = ParseQuantity(text);
  if (!q) {
    errs.push_back(InvalidStr(path, text,
                              "quantities must match the regular expression "
                              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  }
  return q;
}

// --------------------------------------------------------------- IP addresses

struct IP {
  std::array<uint8_t, 16> b{};  // IPv4 as ::ffff:a.b.c.d
  bool v4 = false;
  const uint8_t* V4() const { return b.data() + 12; }
};

// netutils.ParseIPSloppy: IPv4 parts may have leading zeros.
std::optional<IP> ParseIP(std::string_view s) {
  IP ip;
  if (s.find(':') != std::string_view::npos) {
    if (s.find('%') != std::string_view::npos) return std::nullopt;
    std::string str(s);
    if (inet_pton(AF_INET6, str.c_str(), ip.b.data()) != 1) return std::nullopt;
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip.v4 = std::equal(kMapped, kMapped + 12, ip.b.begin());
    return ip;
  }
  ip.b[10] = ip.b[11] = 0xff;
  ip.v4 = true;
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    int n = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      n = n * 10 + (s[i] - '0');
      if (n > 255) return std::nullopt;
    }
    ip.b[12 + part++] = static_cast<uint8_t>(n);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return ip;
}

struct CIDR {
  IP ip;
  int bits = 0;  // prefix length within the family
};

std::optional<CIDR> ParseCIDR(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = ParseIP(s.substr(0, slash));
  std::string_view mask = s.substr(slash + 1);
  if (!ip || mask.empty() || mask.size() > 3) return std::nullopt;
  int n = 0;
  for (char c : mask) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  // A v4-mapped IPv6 text is still an IPv6 CIDR.
  bool v4 = ip->v4 && s.substr(0, slash).find(':') == std::string_view::npos;
  if (n > (v4 ? 32 : 128)) return std::nullopt;
  ip->v4 = v4;
  return CIDR{*ip, n};
}

bool CIDRContains(const CIDR& net, const IP& ip) {
  int offset = net.ip.v4 ? 96 : 0;
  for (int bit = 0; bit < net.bits; ++bit) {
    int k = offset + bit;
    uint8_t mask = static_cast<uint8_t>(0x80 >> (k % 8));
    if ((net.ip.b[k / 8] & mask) != (ip.b[k / 8] & mask)) return false;
  }
  return true;
}

void CheckIP(Errs& errs, const std::string& path, std::string_view v) {
  if (!ParseIP(v)) errs.push_back(InvalidStr(path, v, kIPError));
}
void CheckCIDR(Errs& errs, const std::string& path, std::string_view v) {
  if (!ParseCIDR(v)) errs.push_back(InvalidStr(path, v, kCIDRError));
}

// ValidateNonSpecialIP (the address is known to parse).
void CheckNonSpecialIP(Errs& errs, const std::string& path, std::string_view v) {
  auto ip = ParseIP(v);
  if (!ip) return;
  const uint8_t* a = ip->V4();
  bool unspecified = ip->v4 ? (a[0] | a[1] | a[2] | a[3]) == 0
                            : std::all_of(ip->b.begin(), ip->b.end(), [](uint8_t x) { return x == 0; });
  bool loopback =
      ip->v4 ? a[0] == 127
             : (std::all_of(ip->b.begin(), ip->b.end() - 1, [](uint8_t x) { return x == 0; }) && ip->b[15] == 1);
  bool link_local = ip->v4 ? (a[0] == 169 && a[1] == 254) : (ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80);
  bool link_multicast =
      ip->v4 ? (a[0] == 224 && a[1] == 0 && a[2] == 0) : (ip->b[0] == 0xff && (ip->b[1] & 0x0f) == 0x02);
  if (unspecified) errs.push_back(InvalidStr(path, v, "may not be unspecified (" + std::string(v) + ")"));
  if (loopback) errs.push_back(InvalidStr(path, v, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
  if (link_local) errs.push_back(InvalidStr(path, v, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
  if (link_multicast) {
    errs.push_back(InvalidStr(path, v, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
  }
}

// ----------------------------------------------------------- name-ish rules

void ValidateLabels(const bj::object* labels, const std::string& path, Errs& errs) {
  for (const auto& [k, v] : Sorted(labels)) {
    CheckQualified(errs, path, k);
    std::string value = StrOf(*v);
    Msgs(errs, path, value, api::IsValidLabelValue(value));
  }
}

void ValidateAnnotations(const bj::object* ann, const std::string& path, Errs& errs) {
  size_t total = 0;
  for (const auto& [k, v] : Sorted(ann)) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    Msgs(errs, path, k, api::IsQualifiedName(lower));
    total += k.size() + StrOf(*v).size();
  }
  if (total > 256 * 1024) errs.push_back(TooLongBytes(path, 256 * 1024));
}

// validation.IsValidPortName (IANA service names).
Strings PortNameErrors(std::string_view name) {
  Strings errs;
  if (name.size() > 15) errs.push_back("must be no more than 15 characters");
  bool charset = !name.empty();
  bool letter = false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) charset = false;
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!charset) errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!letter) errs.push_back("must contain at least one letter (a-z)");
  if (name.find("--") != std::string_view::npos) errs.push_back("must not contain consecutive hyphens");
  if (!name.empty() && (name.front() == '-' || name.back() == '-'))
    errs.push_back("must not begin or end with a hyphen");
  return errs;
}

void CheckPortNum(Errs& errs, const std::string& path, int64_t port) {
  if (port < 1 || port > 65535) errs.push_back(InvalidInt(path, port, kPortRange));
}

// ValidatePortNumOrName.
void CheckPortNumOrName(Errs& errs, const std::string& path, const bj::value* v) {
  IntOrStr p = ToIntOrStr(v);
  if (p.is_str) {
    Msgs(errs, path, p.s, PortNameErrors(p.s));
  } else {
    CheckPortNum(errs, path, p.i);
  }
}

// validation.IsConfigMapKey.
Strings ConfigMapKeyErrors(std::string_view key) {
  Strings errs;
  if (key.size() > 253) errs.push_back("must be no more than 253 characters");
  bool ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (!ok) {
    errs.push_back(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  }
  if (key == ".") {
    errs.push_back("must not be '.'");
  } else if (key == "..") {
    errs.push_back("must not be '..'");
  } else if (key.substr(0, 2) == "..") {
    errs.push_back("must not start with '..'");
  }
  return errs;
}

// validation.IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation is on in 1.32).
Strings EnvVarNameErrors(std::string_view name) {
  Strings errs;
  if (name.empty()) errs.push_back("environment variable name must be non-empty");
  for (unsigned char c : name) {
    if (c < 0x20 || c > 0x7e || c == '=') {
      errs.push_back(
          "a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  }
  return errs;
}

// validation.IsValidPercent.
bool IsPercent(std::string_view s) {
  return s.size() > 1 && s.back() == '%' &&
         std::all_of(s.begin(), s.end() - 1, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}
constexpr std::string_view kPercentError =
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used "
    "for validation is '[0-9]+%')";

// getIntOrPercentValue.
int64_t IntOrPercentValue(const IntOrStr& v) {
  if (v.is_str && IsPercent(v.s)) return std::strtoll(v.s.c_str(), nullptr, 10);
  return v.IntValue();
}

// ValidatePositiveIntOrPercent.
void CheckIntOrPercent(Errs& errs, const std::string& path, const IntOrStr& v) {
  if (v.is_str) {
    if (!IsPercent(v.s)) errs.push_back(InvalidGo(path, v.Go(), kPercentError));
  } else if (v.i < 0) {
    errs.push_back(InvalidInt(path, v.i, kNonNegative));
  }
}

// IsNotMoreThan100Percent.
void CheckNotOver100Percent(Errs& errs, const std::string& path, const IntOrStr& v) {
  if (v.is_str && IsPercent(v.s) && IntOrPercentValue(v) > 100) {
    errs.push_back(InvalidGo(path, v.Go(), "must not be greater than 100%"));
  }
}

// validatePathNoBacksteps: no ".." path element.
void CheckNoBacksteps(Errs& errs, const std::string& path, std::string_view p) {
  for (size_t start = 0;;) {
    size_t slash = p.find('/', start);
    if (p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start) == "..") {
      return errs.push_back(InvalidStr(path, p, "must not contain '..'"));
    }
    if (slash == std::string_view::npos) return;
    start = slash + 1;
  }
}

// validateLocalDescendingPath.
void CheckLocalDescendingPath(Errs& errs, const std::string& path, std::string_view p) {
  if (!p.empty() && p.front() == '/') errs.push_back(InvalidStr(path, p, "must be a relative path"));
  CheckNoBacksteps(errs, path, p);
}

void CheckLocalNonReservedPath(Errs& errs, const std::string& path, std::string_view p) {
  CheckLocalDescendingPath(errs, path, p);
  if (p.substr(0, 2) == ".." && p.substr(0, 3) != "../")
    errs.push_back(InvalidStr(path, p, "must not start with '..'"));
}

// ------------------------------------------------------------- label selectors

void ValidateLabelSelector(const bj::object* sel, const std::string& path, Errs& errs) {
  if (sel == nullptr) return;
  ValidateLabels(Obj(sel, "matchLabels"), Child(path, "matchLabels"), errs);
  ForEach(Arr(sel, "matchExpressions"), [&](size_t i, const bj::object& r) {
    std::string p = Idx(Child(path, "matchExpressions"), i);
    std::string_view op = Str(&r, "operator");
    const bj::array* values = Arr(&r, "values");
    if (op == "In" || op == "NotIn") {
      if (Size(values) == 0) {
        errs.push_back(Required(Child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'"));
      }
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (Size(values) > 0) {
        errs.push_back(
            Forbidden(Child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      }
    } else {
      errs.push_back(InvalidStr(Child(p, "operator"), op, "not a valid selector operator"));
    }
    CheckQualified(errs, Child(p, "key"), Str(&r, "key"));
    Strings vals = StrList(values);
    for (size_t j = 0; j < vals.size(); ++j)
      Msgs(errs, Idx(Child(p, "values"), j), vals[j], api::IsValidLabelValue(vals[j]));
  });
}

// The template labels of a pod template (`<tmpl>.metadata.labels`).
const bj::value* TemplateLabels(const bj::object* tmpl) { return Get(Obj(tmpl, "metadata"), "labels"); }

// `selector` (a metav1.LabelSelector, possibly missing) against template
// labels, as the workload validators do: a missing selector matches nothing,
// an empty one everything (and is then not checked). Returns false when the
// selector does not parse.
bool CheckSelectorMatchesTemplate(const bj::value* selector, const bj::object* tmpl, const std::string& labels_path,
                                  Errs& errs) {
  auto sel = api::LabelSelector::FromObject(selector);
  if (!sel.ok()) return false;
  if (!sel->empty() && !sel->Matches(ToLabelMap(Obj(Obj(tmpl, "metadata"), "labels")))) {
    errs.push_back(
        InvalidGo(labels_path, GoStrMap(TemplateLabels(tmpl)), "`selector` does not match template `labels`"));
  }
  return true;
}

// ------------------------------------------------------------------ resources

bool IsHugePages(std::string_view r) { return r.substr(0, 10) == "hugepages-"; }
bool IsNativeResource(std::string_view r) {
  return r.find('/') == std::string_view::npos || r.find("kubernetes.io/") != std::string_view::npos;
}
bool IsExtendedResource(std::string_view r) {
  if (IsNativeResource(r) || r.substr(0, 9) == "requests.") return false;
  return api::IsQualifiedName("requests." + std::string(r)).empty();
}
bool IsOvercommitAllowed(std::string_view r) { return IsNativeResource(r) && !IsHugePages(r); }
bool IsIntegerResource(std::string_view r) {
  static const std::set<std::string_view> kInts = {
      "pods",       "resourcequotas",         "services",           "replicationcontrollers", "secrets",
      "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"};
  return kInts.contains(r) || IsExtendedResource(r);
}
bool IsQuotaHugePages(std::string_view r) { return IsHugePages(r) || r.substr(0, 19) == "requests.hugepages-"; }
bool IsStandardResource(std::string_view r) {
  static const std::set<std::string_view> kStd = {"cpu",
                                                  "memory",
                                                  "ephemeral-storage",
                                                  "requests.cpu",
                                                  "requests.memory",
                                                  "requests.ephemeral-storage",
                                                  "limits.cpu",
                                                  "limits.memory",
                                                  "limits.ephemeral-storage",
                                                  "pods",
                                                  "resourcequotas",
                                                  "services",
                                                  "replicationcontrollers",
                                                  "secrets",
                                                  "configmaps",
                                                  "persistentvolumeclaims",
                                                  "storage",
                                                  "requests.storage",
                                                  "services.nodeports",
                                                  "services.loadbalancers"};
  return kStd.contains(r) || IsQuotaHugePages(r);
}
bool IsStandardQuotaResource(std::string_view r) { return r != "storage" && IsStandardResource(r); }

// validateResourceName.
void CheckResourceName(Errs& errs, const std::string& path, std::string_view r) {
  size_t before = errs.size();
  CheckQualified(errs, path, r);
  if (errs.size() == before && r.find('/') == std::string_view::npos && !IsStandardResource(r)) {
    errs.push_back(InvalidStr(path, r, "must be a standard resource type or fully qualified"));
  }
}

// validateContainerResourceName.
void CheckContainerResourceName(Errs& errs, const std::string& path, std::string_view r) {
  CheckResourceName(errs, path, r);
  if (r.find('/') == std::string_view::npos) {
    if (r != "cpu" && r != "memory" && r != "ephemeral-storage" && !IsHugePages(r)) {
      errs.push_back(InvalidStr(path, r, "must be a standard resource for containers"));
    }
  } else if (!IsNativeResource(r) && !IsExtendedResource(r)) {
    errs.push_back(InvalidStr(path, r, "doesn't follow extended resource name standard"));
  }
}

// ValidateResourceQuantityValue.
void CheckResourceQuantity(Errs& errs, const std::string& path, std::string_view r, const Quantity& q) {
  if (q.Sign() < 0) errs.push_back(InvalidStr(path, q.String(), kNonNegative));
  if (IsIntegerResource(r) && !q.IsInteger()) errs.push_back(InvalidStr(path, q.String(), "must be an integer"));
}

// ValidateResourceRequirements (containers).
void ValidateResources(const bj::object* res, const std::string& path, Errs& errs) {
  std::string lim_path = Child(path, "limits");
  std::string req_path = Child(path, "requests");
  bool cpu_mem = false;
  bool huge = false;
  std::map<std::string, Quantity> limits;
  for (const auto& [r, v] : Sorted(Obj(res, "limits"))) {
    std::string p = Key(lim_path, r);
    CheckContainerResourceName(errs, p, r);
    auto q = QuantityAt(v, p, errs);
    if (!q) continue;
    CheckResourceQuantity(errs, p, r, *q);
    huge = huge || IsHugePages(r);
    cpu_mem = cpu_mem || r == "cpu" || r == "memory";
    limits[r] = *q;
  }
  for (const auto& [r, v] : Sorted(Obj(res, "requests"))) {
    std::string p = Key(req_path, r);
    CheckContainerResourceName(errs, p, r);
    auto q = QuantityAt(v, p, errs);
    if (!q) continue;
    CheckResourceQuantity(errs, p, r, *q);
    if (auto it = limits.find(r); it != limits.end()) {
      // Requests of non-overcommittable resources must equal their limits.
      if (*q != it->second && !IsOvercommitAllowed(r)) {
        errs.push_back(InvalidStr(req_path, q->String(), "must be equal to " + r + " limit of " + it->second.String()));
      } else if (*q > it->second) {
        errs.push_back(InvalidStr(req_path, q->String(),
                                  "must be less than or equal to " + r + " limit of " + it->second.String()));
      }
    } else if (!IsOvercommitAllowed(r)) {
      errs.push_back(Required(lim_path, "Limit must be set for non overcommitable resources"));
    }
    huge = huge || IsHugePages(r);
    cpu_mem = cpu_mem || r == "cpu" || r == "memory";
  }
  if (huge && !cpu_mem) errs.push_back(Forbidden(path, "HugePages require cpu or memory"));
}

// ------------------------------------------------------------ env and mounts

const Strings kEnvFieldPaths = {
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
    "status.hostIP", "status.hostIPs",     "status.podIP", "status.podIPs"};
const Strings kVolumeFieldPaths = {"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                                   "metadata.uid"};

// validateObjectFieldSelector (downward API fieldRef).
void ValidateFieldRef(const bj::object& ref, const Strings& allowed, const std::string& path, Errs& errs) {
  std::string_view version = Str(&ref, "apiVersion");
  std::string_view fp = Str(&ref, "fieldPath");
  if (version.empty()) return errs.push_back(Required(Child(path, "apiVersion"), ""));
  if (fp.empty()) return errs.push_back(Required(Child(path, "fieldPath"), ""));
  if (version != "v1") {
    return errs.push_back(InvalidStr(Child(path, "fieldPath"), fp,
                                     "error converting fieldPath: unsupported pod version: " + std::string(version)));
  }
  // metadata.labels['k'] / metadata.annotations['k']
  size_t bracket = fp.find("['");
  if (bracket != std::string_view::npos && fp.size() > bracket + 4 && fp.substr(fp.size() - 2) == "']") {
    std::string_view base = fp.substr(0, bracket);
    std::string sub(fp.substr(bracket + 2, fp.size() - bracket - 4));
    if (base == "metadata.annotations") {
      std::transform(sub.begin(), sub.end(), sub.begin(), [](unsigned char c) { return std::tolower(c); });
      CheckQualified(errs, path, sub);
    } else if (base == "metadata.labels") {
      CheckQualified(errs, path, sub);
    } else {
      errs.push_back(InvalidStr(Child(path, "fieldPath"), fp,
                                "error converting fieldPath: field label not supported: " + std::string(fp)));
    }
    return;
  }
  static const std::set<std::string_view> kConvertible = {
      "metadata.annotations", "metadata.labels", "metadata.name",      "metadata.namespace",
      "metadata.uid",         "spec.nodeName",   "spec.restartPolicy", "spec.serviceAccountName",
      "spec.schedulerName",   "status.phase",    "status.hostIP",      "status.hostIPs",
      "status.podIP",         "status.podIPs"};
  if (!kConvertible.contains(fp)) {
    return errs.push_back(InvalidStr(Child(path, "fieldPath"), fp,
                                     "error converting fieldPath: field label not supported: " + std::string(fp)));
  }
  if (std::find(allowed.begin(), allowed.end(), fp) == allowed.end()) {
    errs.push_back(NotSupported(Child(path, "fieldPath"), fp, allowed));
  }
}

void ValidateResourceFieldRef(const bj::object& ref, const std::string& path, Errs& errs) {
  static const Strings kResources = {"limits.cpu",   "limits.ephemeral-storage",   "limits.memory",
                                     "requests.cpu", "requests.ephemeral-storage", "requests.memory"};
  std::string_view r = Str(&ref, "resource");
  if (r.empty()) {
    errs.push_back(Required(Child(path, "resource"), ""));
  } else if (std::find(kResources.begin(), kResources.end(), r) == kResources.end() &&
             r.substr(0, 17) != "limits.hugepages-" && r.substr(0, 19) != "requests.hugepages-") {
    errs.push_back(NotSupported(Child(path, "resource"), r, kResources));
  }
}

void ValidateKeySelector(const bj::object& sel, const std::string& path, Errs& errs) {
  CheckSubdomain(errs, Child(path, "name"), Str(&sel, "name"));
  std::string_view key = Str(&sel, "key");
  if (key.empty()) {
    errs.push_back(Required(Child(path, "key"), ""));
  } else {
    Msgs(errs, Child(path, "key"), key, ConfigMapKeyErrors(key));
  }
}

void ValidateEnv(const bj::array* env, const std::string& path, Errs& errs) {
  ForEach(env, [&](size_t i, const bj::object& ev) {
    std::string p = Idx(path, i);
    std::string_view name = Str(&ev, "name");
    if (name.empty()) errs.push_back(Required(Child(p, "name"), ""));
    Msgs(errs, Child(p, "name"), name, EnvVarNameErrors(name));
    const bj::object* from = Obj(&ev, "valueFrom");
    if (from == nullptr) return;
    std::string fp = Child(p, "valueFrom");
    int sources = 0;
    if (const bj::object* r = Obj(from, "fieldRef")) {
      ++sources;
      ValidateFieldRef(*r, kEnvFieldPaths, Child(fp, "fieldRef"), errs);
    }
    if (const bj::object* r = Obj(from, "resourceFieldRef")) {
      ++sources;
      ValidateResourceFieldRef(*r, Child(fp, "resourceFieldRef"), errs);
    }
    if (const bj::object* r = Obj(from, "configMapKeyRef")) {
      ++sources;
      ValidateKeySelector(*r, Child(fp, "configMapKeyRef"), errs);
    }
    if (const bj::object* r = Obj(from, "secretKeyRef")) {
      ++sources;
      ValidateKeySelector(*r, Child(fp, "secretKeyRef"), errs);
    }
    if (sources == 0) {
      errs.push_back(InvalidStr(
          fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    } else if (!Str(&ev, "value").empty()) {
      errs.push_back(InvalidStr(fp, "", "may not be specified when `value` is not empty"));
    } else if (sources > 1) {
      errs.push_back(InvalidStr(fp, "", "may not have more than one field specified at a time"));
    }
  });
}

void ValidateEnvFrom(const bj::array* env_from, const std::string& path, Errs& errs) {
  ForEach(env_from, [&](size_t i, const bj::object& ev) {
    std::string p = Idx(path, i);
    if (std::string_view prefix = Str(&ev, "prefix"); !prefix.empty()) {
      Msgs(errs, Child(p, "prefix"), prefix, EnvVarNameErrors(prefix));
    }
    int sources = 0;
    for (std::string_view ref : {"configMapRef", "secretRef"}) {
      const bj::object* r = Obj(&ev, ref);
      if (r == nullptr) continue;
      ++sources;
      std::string_view name = Str(r, "name");
      if (name.empty()) {
        errs.push_back(Required(Child(Child(p, ref), "name"), ""));
      } else {
        CheckSubdomain(errs, Child(Child(p, ref), "name"), name);
      }
    }
    if (sources == 0) {
      errs.push_back(InvalidStr(path, "", "must specify one of: `configMapRef` or `secretRef`"));
    } else if (sources > 1) {
      errs.push_back(InvalidStr(path, "", "may not have more than one field specified at a time"));
    }
  });
}

void ValidateVolumeMounts(const bj::object& c, const std::set<std::string>& volumes, const std::string& path,
                          Errs& errs) {
  std::set<std::string> mount_paths;
  std::set<std::string> device_names;
  std::set<std::string> device_paths;
  ForEach(Arr(&c, "volumeDevices"), [&](size_t, const bj::object& d) {
    device_names.emplace(Str(&d, "name"));
    device_paths.emplace(Str(&d, "devicePath"));
  });
  ForEach(Arr(&c, "volumeMounts"), [&](size_t i, const bj::object& m) {
    std::string p = Idx(path, i);
    std::string name(Str(&m, "name"));
    std::string mount_path(Str(&m, "mountPath"));
    if (name.empty()) errs.push_back(Required(Child(p, "name"), ""));
    if (!volumes.contains(name)) errs.push_back(NotFound(Child(p, "name"), name));
    if (mount_path.empty()) errs.push_back(Required(Child(p, "mountPath"), ""));
    if (!mount_paths.insert(mount_path).second)
      errs.push_back(InvalidStr(Child(p, "mountPath"), mount_path, "must be unique"));
    if (device_names.contains(name)) {
      errs.push_back(InvalidStr(Child(p, "name"), name, "must not already exist in volumeDevices"));
    }
    if (device_paths.contains(mount_path)) {
      errs.push_back(
          InvalidStr(Child(p, "mountPath"), mount_path, "must not already exist as a path in volumeDevices"));
    }
    // Upstream reports subPath problems without the mount's index.
    std::string_view sub_path = Str(&m, "subPath");
    if (!sub_path.empty()) CheckLocalDescendingPath(errs, Child(path, "subPath"), sub_path);
    if (std::string_view expr = Str(&m, "subPathExpr"); !expr.empty()) {
      if (!sub_path.empty()) {
        errs.push_back(InvalidStr(Child(p, "subPathExpr"), expr, "subPathExpr and subPath are mutually exclusive"));
      }
      CheckLocalDescendingPath(errs, Child(path, "subPathExpr"), expr);
    }
    if (const bj::value* mp = Get(&m, "mountPropagation")) {
      std::string_view mode = mp->is_string() ? std::string_view(mp->get_string()) : std::string_view();
      if (mode != "Bidirectional" && mode != "HostToContainer" && mode != "None") {
        errs.push_back(
            NotSupported(Child(path, "mountPropagation"), mode, {"Bidirectional", "HostToContainer", "None"}));
      } else if (mode == "Bidirectional" && !Bool(Obj(&c, "securityContext"), "privileged")) {
        errs.push_back(Forbidden(Child(path, "mountPropagation"),
                                 "Bidirectional mount propagation is available only to privileged containers"));
      }
    }
  });
}

void ValidateVolumeDevices(const bj::object& c, const std::set<std::string>& volumes, const std::string& path,
                           Errs& errs) {
  std::set<std::string> device_paths;
  std::set<std::string> mount_names;
  ForEach(Arr(&c, "volumeMounts"), [&](size_t, const bj::object& m) { mount_names.emplace(Str(&m, "name")); });
  ForEach(Arr(&c, "volumeDevices"), [&](size_t i, const bj::object& d) {
    std::string p = Idx(path, i);
    std::string name(Str(&d, "name"));
    std::string device_path(Str(&d, "devicePath"));
    if (name.empty()) errs.push_back(Required(Child(p, "name"), ""));
    if (!volumes.contains(name)) errs.push_back(NotFound(Child(p, "name"), name));
    if (device_path.empty()) errs.push_back(Required(Child(p, "devicePath"), ""));
    if (!device_paths.insert(device_path).second) {
      errs.push_back(InvalidStr(Child(p, "devicePath"), device_path, "must be unique"));
    }
    if (mount_names.contains(name))
      errs.push_back(InvalidStr(Child(p, "name"), name, "must not already exist in volumeMounts"));
  });
}

// ------------------------------------------------------------------- probes

void ValidateHandler(const bj::object& h, const std::string& path, bool lifecycle, Errs& errs) {
  int handlers = 0;
  for (std::string_view kind : {"exec", "httpGet", "tcpSocket", "grpc", "sleep"}) {
    const bj::object* a = Obj(&h, kind);
    if (a == nullptr || (lifecycle ? kind == "grpc" : kind == "sleep")) continue;
    std::string p = Child(path, kind);
    if (handlers++ > 0) {
      errs.push_back(Forbidden(p, "may not specify more than 1 handler type"));
      continue;
    }
    if (kind == "exec") {
      if (Size(Arr(a, "command")) == 0) errs.push_back(Required(Child(p, "command"), ""));
    } else if (kind == "httpGet") {
      if (Str(a, "path").empty()) errs.push_back(Required(Child(p, "path"), ""));
      CheckPortNumOrName(errs, Child(p, "port"), Get(a, "port"));
      std::string_view scheme = Str(a, "scheme");
      if (scheme != "HTTP" && scheme != "HTTPS")
        errs.push_back(NotSupported(Child(p, "scheme"), scheme, {"HTTP", "HTTPS"}));
    } else if (kind == "tcpSocket") {
      CheckPortNumOrName(errs, Child(p, "port"), Get(a, "port"));
    } else if (kind == "grpc") {
      CheckPortNum(errs, Child(p, "port"), Int(a, "port").value_or(0));
    } else if (int64_t secs = Int(a, "seconds").value_or(0); secs <= 0) {
      errs.push_back(InvalidInt(p, secs, "must be greater than 0 and less than terminationGracePeriodSeconds"));
    }
  }
  if (handlers == 0) errs.push_back(Required(path, "must specify a handler type"));
}

void ValidateProbe(const bj::object* probe, const std::string& path, bool single_success, Errs& errs) {
  if (probe == nullptr) return;
  ValidateHandler(*probe, path, false, errs);
  for (std::string_view f :
       {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"}) {
    NonNegative(errs, Child(path, f), Int(probe, f));
  }
  if (auto t = Int(probe, "terminationGracePeriodSeconds"); t && *t <= 0) {
    errs.push_back(InvalidInt(Child(path, "terminationGracePeriodSeconds"), *t, "must be greater than 0"));
  }
  if (single_success) {
    if (int64_t s = Int(probe, "successThreshold").value_or(0); s != 1) {
      errs.push_back(InvalidInt(Child(path, "successThreshold"), s, "must be 1"));
    }
  }
}

void ValidateLifecycleAndProbes(const bj::object& c, const std::string& path, Errs& errs) {
  if (const bj::object* lc = Obj(&c, "lifecycle")) {
    for (std::string_view hook : {"postStart", "preStop"}) {
      if (const bj::object* h = Obj(lc, hook)) ValidateHandler(*h, Child(Child(path, "lifecycle"), hook), true, errs);
    }
  }
  ValidateProbe(Obj(&c, "livenessProbe"), Child(path, "livenessProbe"), true, errs);
  ValidateProbe(Obj(&c, "readinessProbe"), Child(path, "readinessProbe"), false, errs);
  ValidateProbe(Obj(&c, "startupProbe"), Child(path, "startupProbe"), true, errs);
}

// ---------------------------------------------------------- security contexts

void CheckID(Errs& errs, const std::string& path, std::optional<int64_t> id) {
  if (id && (*id < 0 || *id > 2147483647)) errs.push_back(InvalidInt(path, *id, InclusiveRange(0, 2147483647)));
}

void ValidateSeccomp(const bj::object* sp, const std::string& path, Errs& errs) {
  if (sp == nullptr) return;
  std::string_view type = Str(sp, "type");
  if (type == "Localhost") {
    if (!Has(sp, "localhostProfile")) {
      errs.push_back(Required(Child(path, "localhostProfile"), "must be set when seccomp type is Localhost"));
    }
  } else if (type != "RuntimeDefault" && type != "Unconfined") {
    errs.push_back(NotSupported(Child(path, "type"), type, {"Unconfined", "RuntimeDefault", "Localhost"}));
  }
}

void ValidateContainerSecurityContext(const bj::object* sc, const std::string& path, Errs& errs) {
  if (sc == nullptr) return;
  CheckID(errs, Child(path, "runAsUser"), Int(sc, "runAsUser"));
  CheckID(errs, Child(path, "runAsGroup"), Int(sc, "runAsGroup"));
  if (const bj::value* pm = Get(sc, "procMount")) {
    std::string mount = StrOf(*pm);
    if (mount != "Default" && mount != "Unmasked") {
      errs.push_back(NotSupported(Child(path, "procMount"), mount, {"Default", "Unmasked"}));
    }
  }
  ValidateSeccomp(Obj(sc, "seccompProfile"), Child(path, "seccompProfile"), errs);
  if (const bj::value* ape = Get(sc, "allowPrivilegeEscalation");
      ape != nullptr && ape->is_bool() && !ape->get_bool()) {
    if (Bool(sc, "privileged")) {
      errs.push_back(InvalidGo(path, "core.SecurityContext{...}",
                               "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
    }
    for (const auto& cap : StrList(Arr(Obj(sc, "capabilities"), "add"))) {
      if (cap == "CAP_SYS_ADMIN") {
        errs.push_back(
            InvalidGo(path, "core.SecurityContext{...}",
                      "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
      }
    }
  }
}

void ValidatePodSecurityContext(const bj::object& spec, const std::string& S, Errs& errs) {
  const bj::object* sc = Obj(&spec, "securityContext");
  std::string path = Child(S, "securityContext");
  CheckID(errs, Child(path, "fsGroup"), Int(sc, "fsGroup"));
  CheckID(errs, Child(path, "runAsUser"), Int(sc, "runAsUser"));
  CheckID(errs, Child(path, "runAsGroup"), Int(sc, "runAsGroup"));
  if (const bj::array* groups = Arr(sc, "supplementalGroups")) {
    for (size_t i = 0; i < groups->size(); ++i)
      CheckID(errs, Idx(Child(path, "supplementalGroups"), i), Int(&(*groups)[i]));
  }
  // hostPID and shareProcessNamespace live in the internal security context.
  if (Bool(&spec, "hostPID") && Bool(&spec, "shareProcessNamespace")) {
    errs.push_back(api::Invalid(Child(path, "shareProcessNamespace"), bj::value(true),
                                "ShareProcessNamespace and HostPID cannot both be enabled"));
  }
  if (const bj::value* p = Get(sc, "fsGroupChangePolicy")) {
    std::string policy = StrOf(*p);
    if (policy != "OnRootMismatch" && policy != "Always") {
      errs.push_back(NotSupported(Child(path, "fsGroupChangePolicy"), policy, {"OnRootMismatch", "Always"}));
    }
  }
  ValidateSeccomp(Obj(sc, "seccompProfile"), Child(path, "seccompProfile"), errs);
}

// ----------------------------------------------------------------- containers

void ValidateContainerPorts(const bj::array* ports, const std::string& path, Errs& errs) {
  std::set<std::string> names;
  ForEach(ports, [&](size_t i, const bj::object& port) {
    std::string p = Idx(path, i);
    if (std::string name(Str(&port, "name")); !name.empty()) {
      Strings msgs = PortNameErrors(name);
      if (!msgs.empty()) {
        Msgs(errs, Child(p, "name"), name, msgs);
      } else if (!names.insert(name).second) {
        errs.push_back(Duplicate(Child(p, "name"), name));
      }
    }
    int64_t container_port = Int(&port, "containerPort").value_or(0);
    if (container_port == 0) {
      errs.push_back(Required(Child(p, "containerPort"), ""));
    } else {
      CheckPortNum(errs, Child(p, "containerPort"), container_port);
    }
    if (int64_t host_port = Int(&port, "hostPort").value_or(0); host_port != 0) {
      CheckPortNum(errs, Child(p, "hostPort"), host_port);
    }
    std::string_view protocol = Str(&port, "protocol");
    if (protocol.empty()) {
      errs.push_back(Required(Child(p, "protocol"), ""));
    } else if (protocol != "SCTP" && protocol != "TCP" && protocol != "UDP") {
      errs.push_back(NotSupported(Child(p, "protocol"), protocol, {"SCTP", "TCP", "UDP"}));
    }
  });
}

// AccumulateUniqueHostPorts: `containers` paths are relative to `path`.
void CheckHostPorts(const std::vector<std::pair<size_t, const bj::object*>>& containers, const std::string& path,
                    std::set<std::string>& seen, Errs& errs) {
  for (const auto& [ci, c] : containers) {
    ForEach(Arr(c, "ports"), [&](size_t pi, const bj::object& port) {
      int64_t host_port = Int(&port, "hostPort").value_or(0);
      if (host_port == 0) return;
      std::string key = std::string(Str(&port, "hostIP")) + "/" + std::string(Str(&port, "protocol")) + "/" +
                        std::to_string(host_port);
      if (!seen.insert(key).second)
        errs.push_back(Duplicate(Child(Idx(Child(Idx(path, ci), "ports"), pi), "hostPort"), key));
    });
  }
}

void ValidateContainerCommon(const bj::object& c, const std::set<std::string>& volumes, const std::string& path,
                             Errs& errs) {
  std::string_view name = Str(&c, "name");
  if (name.empty()) {
    errs.push_back(Required(Child(path, "name"), ""));
  } else {
    CheckLabel(errs, Child(path, "name"), name);
  }
  if (Str(&c, "image").empty()) errs.push_back(Required(Child(path, "image"), ""));
  std::string_view tmp = Str(&c, "terminationMessagePolicy");
  if (tmp.empty()) {
    errs.push_back(Required(Child(path, "terminationMessagePolicy"), ""));
  } else if (tmp != "File" && tmp != "FallbackToLogsOnError") {
    errs.push_back(NotSupported(Child(path, "terminationMessagePolicy"), tmp, {"File", "FallbackToLogsOnError"}));
  }
  ValidateContainerPorts(Arr(&c, "ports"), Child(path, "ports"), errs);
  ValidateEnv(Arr(&c, "env"), Child(path, "env"), errs);
  ValidateEnvFrom(Arr(&c, "envFrom"), Child(path, "envFrom"), errs);
  ValidateVolumeMounts(c, volumes, Child(path, "volumeMounts"), errs);
  ValidateVolumeDevices(c, volumes, Child(path, "volumeDevices"), errs);
  std::string_view pull = Str(&c, "imagePullPolicy");
  if (pull.empty()) {
    errs.push_back(Required(Child(path, "imagePullPolicy"), ""));
  } else if (pull != "Always" && pull != "IfNotPresent" && pull != "Never") {
    errs.push_back(NotSupported(Child(path, "imagePullPolicy"), pull, {"Always", "IfNotPresent", "Never"}));
  }
  ValidateResources(Obj(&c, "resources"), Child(path, "resources"), errs);
  ValidateContainerSecurityContext(Obj(&c, "securityContext"), Child(path, "securityContext"), errs);
}

void ValidateContainers(const bj::object& spec, const std::set<std::string>& volumes, const std::string& S,
                        Errs& errs) {
  const bj::array* containers = Arr(&spec, "containers");
  std::string path = Child(S, "containers");
  if (Size(containers) == 0) return errs.push_back(Required(path, ""));
  std::set<std::string> names;
  std::vector<std::pair<size_t, const bj::object*>> all;
  ForEach(containers, [&](size_t i, const bj::object& c) {
    std::string p = Idx(path, i);
    ValidateContainerCommon(c, volumes, p, errs);
    if (!names.emplace(Str(&c, "name")).second) errs.push_back(Duplicate(Child(p, "name"), Str(&c, "name")));
    ValidateLifecycleAndProbes(c, p, errs);
    if (Has(&c, "restartPolicy"))
      errs.push_back(Forbidden(Child(p, "restartPolicy"), "may not be set for non-init containers"));
    all.emplace_back(i, &c);
  });
  std::set<std::string> seen;
  CheckHostPorts(all, path, seen, errs);
}

void ValidateInitContainers(const bj::object& spec, const std::set<std::string>& volumes, const std::string& S,
                            Errs& errs) {
  std::string path = Child(S, "initContainers");
  std::set<std::string> names;
  ForEach(Arr(&spec, "containers"), [&](size_t, const bj::object& c) { names.emplace(Str(&c, "name")); });
  ForEach(Arr(&spec, "initContainers"), [&](size_t i, const bj::object& c) {
    std::string p = Idx(path, i);
    ValidateContainerCommon(c, volumes, p, errs);
    bool sidecar = false;
    if (const bj::value* rp = Get(&c, "restartPolicy")) {
      sidecar = StrOf(*rp) == "Always";
      if (!sidecar) errs.push_back(NotSupported(Child(p, "restartPolicy"), StrOf(*rp), {"Always"}));
    }
    std::string name(Str(&c, "name"));
    if (names.contains(name)) {
      errs.push_back(Duplicate(Child(p, "name"), name));
    } else if (!name.empty()) {
      names.insert(name);
    }
    // Init containers run one by one, so host ports are checked per container
    // (upstream reports them with index 0).
    std::set<std::string> seen;
    CheckHostPorts({{0, &c}}, path, seen, errs);
    if (sidecar) {
      ValidateLifecycleAndProbes(c, p, errs);
    } else {
      for (std::string_view f : {"lifecycle", "livenessProbe", "readinessProbe", "startupProbe"}) {
        if (!Has(&c, f)) continue;
        errs.push_back(Forbidden(Child(p, f), f == "readinessProbe"
                                                  ? "may not be set for init containers"
                                                  : "may not be set for init containers without restartPolicy=Always"));
      }
    }
  });
}

void ValidateEphemeralContainers(const bj::object& spec, const std::set<std::string>& volumes, const std::string& S,
                                 Errs& errs) {
  std::set<std::string> others;
  for (std::string_view list : {"containers", "initContainers"}) {
    ForEach(Arr(&spec, list), [&](size_t, const bj::object& c) { others.emplace(Str(&c, "name")); });
  }
  std::set<std::string> names = others;
  std::string path = Child(S, "ephemeralContainers");
  ForEach(Arr(&spec, "ephemeralContainers"), [&](size_t i, const bj::object& c) {
    std::string p = Idx(path, i);
    ValidateContainerCommon(c, volumes, p, errs);
    std::string name(Str(&c, "name"));
    if (!names.insert(name).second) errs.push_back(Duplicate(Child(p, "name"), name));
    if (std::string_view target = Str(&c, "targetContainerName");
        !target.empty() && !others.contains(std::string(target))) {
      errs.push_back(NotFound(Child(p, "targetContainerName"), target));
    }
    for (std::string_view f : {"ports", "resources", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"}) {
      if (!IsEmptyValue(Get(&c, f))) errs.push_back(Forbidden(Child(p, f), "cannot be set for an Ephemeral Container"));
    }
    ForEach(Arr(&c, "volumeMounts"), [&](size_t j, const bj::object& m) {
      for (std::string_view f : {"subPath", "subPathExpr"}) {
        if (!Str(&m, f).empty()) {
          errs.push_back(
              Forbidden(Child(Idx(Child(p, "volumeMounts"), j), f), "cannot be set for an Ephemeral Container"));
        }
      }
    });
  });
}

// --------------------------------------------------------------------- volumes

void ValidateKeyToPaths(const bj::array* items, const std::string& path, Errs& errs) {
  ForEach(items, [&](size_t i, const bj::object& kp) {
    std::string p = Idx(path, i);
    if (Str(&kp, "key").empty()) errs.push_back(Required(Child(p, "key"), ""));
    if (Str(&kp, "path").empty()) errs.push_back(Required(Child(p, "path"), ""));
    CheckLocalNonReservedPath(errs, Child(p, "path"), Str(&kp, "path"));
    if (auto mode = Int(&kp, "mode"); mode && (*mode < 0 || *mode > 0777)) {
      errs.push_back(InvalidInt(Child(p, "mode"), *mode, kFileMode));
    }
  });
}

void CheckMode(Errs& errs, const std::string& path, std::optional<int64_t> mode) {
  if (mode && (*mode < 0 || *mode > 0777)) errs.push_back(InvalidInt(path, *mode, kFileMode));
}

void ValidateDownwardAPIItems(const bj::array* items, const std::string& path, Errs& errs) {
  ForEach(items, [&](size_t i, const bj::object& f) {
    std::string p = Idx(path, i);
    if (Str(&f, "path").empty()) errs.push_back(Required(Child(p, "path"), ""));
    CheckLocalNonReservedPath(errs, Child(p, "path"), Str(&f, "path"));
    if (const bj::object* ref = Obj(&f, "fieldRef")) {
      ValidateFieldRef(*ref, kVolumeFieldPaths, Child(p, "fieldRef"), errs);
      if (Has(&f, "resourceFieldRef")) {
        errs.push_back(InvalidStr(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
      }
    } else if (const bj::object* rref = Obj(&f, "resourceFieldRef")) {
      ValidateResourceFieldRef(*rref, Child(p, "resourceFieldRef"), errs);
    } else {
      errs.push_back(Required(p, "one of fieldRef and resourceFieldRef is required"));
    }
    CheckMode(errs, Child(p, "mode"), Int(&f, "mode"));
  });
}

void ValidateProjected(const bj::object& src, const std::string& path, Errs& errs) {
  CheckMode(errs, Child(path, "defaultMode"), Int(&src, "defaultMode"));
  ForEach(Arr(&src, "sources"), [&](size_t i, const bj::object& s) {
    std::string p = Idx(Child(path, "sources"), i);
    int sources = 0;
    for (std::string_view kind : {"secret", "configMap"}) {
      if (const bj::object* ref = Obj(&s, kind)) {
        ++sources;
        if (Str(ref, "name").empty()) errs.push_back(Required(Child(Child(p, kind), "name"), ""));
        ValidateKeyToPaths(Arr(ref, "items"), Child(Child(p, kind), "items"), errs);
      }
    }
    if (const bj::object* d = Obj(&s, "downwardAPI")) {
      ++sources;
      ValidateDownwardAPIItems(Arr(d, "items"), Child(Child(p, "downwardAPI"), "items"), errs);
    }
    if (const bj::object* t = Obj(&s, "serviceAccountToken")) {
      ++sources;
      std::string tp = Child(p, "serviceAccountToken");
      if (auto exp = Int(t, "expirationSeconds")) {
        if (*exp < 600) {
          errs.push_back(
              InvalidInt(Child(tp, "expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"));
        } else if (*exp > (int64_t{1} << 32)) {
          errs.push_back(
              InvalidInt(Child(tp, "expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"));
        }
      }
      if (Str(t, "path").empty()) errs.push_back(Required(Child(tp, "path"), ""));
    }
    if (Has(&s, "clusterTrustBundle")) ++sources;
    if (sources > 1) errs.push_back(Forbidden(p, "may not specify more than 1 volume type per source"));
  });
}

const char* const kPodVolumeSources[] = {"hostPath",
                                         "emptyDir",
                                         "gitRepo",
                                         "gcePersistentDisk",
                                         "awsElasticBlockStore",
                                         "secret",
                                         "nfs",
                                         "iscsi",
                                         "glusterfs",
                                         "flocker",
                                         "persistentVolumeClaim",
                                         "rbd",
                                         "cinder",
                                         "cephfs",
                                         "quobyte",
                                         "downwardAPI",
                                         "fc",
                                         "azureFile",
                                         "vsphereVolume",
                                         "photonPersistentDisk",
                                         "portworxVolume",
                                         "azureDisk",
                                         "csi",
                                         "configMap",
                                         "scaleIO",
                                         "projected",
                                         "storageos",
                                         "ephemeral",
                                         "image"};

void ValidateHostPath(const bj::object& src, const std::string& path, Errs& errs) {
  std::string_view p = Str(&src, "path");
  if (p.empty()) return errs.push_back(Required(Child(path, "path"), ""));
  CheckNoBacksteps(errs, Child(path, "path"), p);
  if (const bj::value* t = Get(&src, "type")) {
    static const Strings kTypes = {"",     "BlockDevice",  "CharDevice", "Directory", "DirectoryOrCreate",
                                   "File", "FileOrCreate", "Socket"};
    std::string type = StrOf(*t);
    if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
      errs.push_back(NotSupported(Child(path, "type"), type, kTypes));
    }
  }
}

void ValidateVolumeSource(std::string_view kind, const bj::object& src, const std::string& path, Errs& errs) {
  if (kind == "hostPath") {
    ValidateHostPath(src, path, errs);
  } else if (kind == "emptyDir") {
    if (const bj::value* limit = Get(&src, "sizeLimit")) {
      auto q = ParseQuantity(limit->is_string() ? std::string(limit->get_string()) : bj::serialize(*limit));
      if (q && q->Sign() < 0)
        errs.push_back(Forbidden(Child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity"));
    }
  } else if (kind == "secret" || kind == "configMap") {
    std::string_view name_field = kind == "secret" ? "secretName" : "name";
    if (Str(&src, name_field).empty()) errs.push_back(Required(Child(path, name_field), ""));
    CheckMode(errs, Child(path, "defaultMode"), Int(&src, "defaultMode"));
    ValidateKeyToPaths(Arr(&src, "items"), Child(path, "items"), errs);
  } else if (kind == "persistentVolumeClaim") {
    if (Str(&src, "claimName").empty()) errs.push_back(Required(Child(path, "claimName"), ""));
  } else if (kind == "nfs") {
    std::string_view p = Str(&src, "path");
    if (Str(&src, "server").empty()) errs.push_back(Required(Child(path, "server"), ""));
    if (p.empty()) errs.push_back(Required(Child(path, "path"), ""));
    if (p.empty() || p.front() != '/') errs.push_back(InvalidStr(Child(path, "path"), p, "must be an absolute path"));
  } else if (kind == "downwardAPI") {
    CheckMode(errs, Child(path, "defaultMode"), Int(&src, "defaultMode"));
    ValidateDownwardAPIItems(Arr(&src, "items"), Child(path, "items"), errs);
  } else if (kind == "projected") {
    ValidateProjected(src, path, errs);
  } else if (kind == "csi") {
    if (Str(&src, "driver").empty()) errs.push_back(Required(Child(path, "driver"), ""));
  } else if (kind == "ephemeral") {
    if (!Has(&src, "volumeClaimTemplate")) errs.push_back(Required(Child(path, "volumeClaimTemplate"), ""));
  }
}

// ValidateVolumes: returns the names of the valid volumes (mounts may only
// refer to those).
std::set<std::string> ValidateVolumes(const bj::array* volumes, const std::string& path, Errs& errs) {
  std::set<std::string> names;
  ForEach(volumes, [&](size_t i, const bj::object& vol) {
    std::string p = Idx(path, i);
    Errs el;
    int sources = 0;
    for (const char* kind : kPodVolumeSources) {
      const bj::object* src = Obj(&vol, kind);
      if (src == nullptr) continue;
      if (sources++ > 0) {
        el.push_back(Forbidden(Child(p, kind), "may not specify more than 1 volume type"));
      } else {
        ValidateVolumeSource(kind, *src, Child(p, kind), el);
      }
    }
    if (sources == 0) el.push_back(Required(p, "must specify a volume type"));
    std::string name(Str(&vol, "name"));
    if (name.empty()) {
      el.push_back(Required(Child(p, "name"), ""));
    } else {
      CheckLabel(el, Child(p, "name"), name);
    }
    if (names.contains(name)) el.push_back(Duplicate(Child(p, "name"), name));
    if (el.empty()) {
      names.insert(name);
    } else {
      errs.insert(errs.end(), el.begin(), el.end());
    }
  });
  return names;
}

// ------------------------------------------------------ scheduling constraints

void ValidateNodeSelectorTerm(const bj::object& term, const std::string& path, Errs& errs) {
  ForEach(Arr(&term, "matchExpressions"), [&](size_t j, const bj::object& req) {
    std::string p = Idx(Child(path, "matchExpressions"), j);
    std::string_view op = Str(&req, "operator");
    Strings values = StrList(Arr(&req, "values"));
    if (op == "In" || op == "NotIn") {
      if (values.empty())
        errs.push_back(Required(Child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!values.empty()) {
        errs.push_back(
            Forbidden(Child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      }
    } else if (op == "Gt" || op == "Lt") {
      if (values.size() != 1) {
        errs.push_back(Required(Child(p, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      }
    } else {
      errs.push_back(InvalidStr(Child(p, "operator"), op, "not a valid selector operator"));
    }
    CheckQualified(errs, Child(p, "key"), Str(&req, "key"));
    for (size_t k = 0; k < values.size(); ++k) {
      Msgs(errs, Idx(Child(p, "values"), k), values[k], api::IsValidLabelValue(values[k]));
    }
  });
  ForEach(Arr(&term, "matchFields"), [&](size_t j, const bj::object& req) {
    std::string p = Idx(Child(path, "matchFields"), j);
    std::string_view op = Str(&req, "operator");
    if (op != "In" && op != "NotIn")
      errs.push_back(InvalidStr(Child(p, "operator"), op, "not a valid selector operator"));
    if (Str(&req, "key") != "metadata.name") {
      errs.push_back(InvalidStr(Child(p, "key"), Str(&req, "key"), "not a valid field selector key"));
    }
    if (Size(Arr(&req, "values")) != 1) {
      errs.push_back(Required(Child(p, "values"),
                              "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    }
  });
}

void ValidatePodAffinityTerm(const bj::object& term, const std::string& path, Errs& errs) {
  ValidateLabelSelector(Obj(&term, "labelSelector"), Child(path, "labelSelector"), errs);
  ValidateLabelSelector(Obj(&term, "namespaceSelector"), Child(path, "namespaceSelector"), errs);
  for (const auto& ns : StrList(Arr(&term, "namespaces"))) CheckLabel(errs, Child(path, "namespace"), ns);
  std::string_view key = Str(&term, "topologyKey");
  if (key.empty()) errs.push_back(Required(Child(path, "topologyKey"), "can not be empty"));
  CheckQualified(errs, Child(path, "topologyKey"), key);
}

void ValidateAffinity(const bj::object* affinity, const std::string& path, Errs& errs) {
  if (affinity == nullptr) return;
  if (const bj::object* na = Obj(affinity, "nodeAffinity")) {
    std::string p = Child(path, "nodeAffinity");
    if (const bj::object* req = Obj(na, "requiredDuringSchedulingIgnoredDuringExecution")) {
      std::string rp = Child(Child(p, "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms");
      if (Size(Arr(req, "nodeSelectorTerms")) == 0) {
        errs.push_back(Required(rp, "must have at least one node selector term"));
      }
      ForEach(Arr(req, "nodeSelectorTerms"),
              [&](size_t i, const bj::object& t) { ValidateNodeSelectorTerm(t, Idx(rp, i), errs); });
    }
    std::string pp = Child(p, "preferredDuringSchedulingIgnoredDuringExecution");
    ForEach(Arr(na, "preferredDuringSchedulingIgnoredDuringExecution"), [&](size_t i, const bj::object& t) {
      int64_t w = Int(&t, "weight").value_or(0);
      if (w <= 0 || w > 100) errs.push_back(InvalidInt(Child(Idx(pp, i), "weight"), w, "must be in the range 1-100"));
      ValidateNodeSelectorTerm(Obj(&t, "preference") ? *Obj(&t, "preference") : bj::object(),
                               Child(Idx(pp, i), "preference"), errs);
    });
  }
  for (std::string_view kind : {"podAffinity", "podAntiAffinity"}) {
    const bj::object* pa = Obj(affinity, kind);
    if (pa == nullptr) continue;
    std::string p = Child(path, kind);
    std::string rp = Child(p, "requiredDuringSchedulingIgnoredDuringExecution");
    ForEach(Arr(pa, "requiredDuringSchedulingIgnoredDuringExecution"),
            [&](size_t i, const bj::object& t) { ValidatePodAffinityTerm(t, Idx(rp, i), errs); });
    std::string pp = Child(p, "preferredDuringSchedulingIgnoredDuringExecution");
    ForEach(Arr(pa, "preferredDuringSchedulingIgnoredDuringExecution"), [&](size_t i, const bj::object& t) {
      int64_t w = Int(&t, "weight").value_or(0);
      if (w <= 0 || w > 100) errs.push_back(InvalidInt(Child(Idx(pp, i), "weight"), w, "must be in the range 1-100"));
      const bj::object* term = Obj(&t, "podAffinityTerm");
      ValidatePodAffinityTerm(term != nullptr ? *term : bj::object(), Child(Idx(pp, i), "podAffinityTerm"), errs);
    });
  }
}

void CheckTaintEffect(Errs& errs, const std::string& path, std::string_view effect, bool allow_empty) {
  if (effect.empty()) {
    if (!allow_empty) errs.push_back(Required(path, ""));
    return;
  }
  if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
    errs.push_back(NotSupported(path, effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"}));
  }
}

std::string GoToleration(const bj::object& t) {
  std::string secs = Has(&t, "tolerationSeconds") ? "(*int64)(0xc000000000)" : "(*int64)(nil)";
  return "core.Toleration{Key:" + Quote(Str(&t, "key")) + ", Operator:" + Quote(Str(&t, "operator")) +
         ", Value:" + Quote(Str(&t, "value")) + ", Effect:" + Quote(Str(&t, "effect")) + ", TolerationSeconds:" + secs +
         "}";
}

void ValidateTolerations(const bj::array* tolerations, const std::string& path, Errs& errs) {
  ForEach(tolerations, [&](size_t i, const bj::object& t) {
    std::string p = Idx(path, i);
    std::string_view key = Str(&t, "key");
    std::string_view op = Str(&t, "operator");
    std::string_view effect = Str(&t, "effect");
    if (!key.empty()) CheckQualified(errs, Child(p, "key"), key);
    if (key.empty() && op != "Exists") {
      errs.push_back(
          InvalidStr(Child(p, "operator"), op,
                     "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
    }
    if (Has(&t, "tolerationSeconds") && effect != "NoExecute") {
      errs.push_back(
          InvalidStr(Child(p, "effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op == "Equal" || op.empty()) {
      Strings msgs = api::IsValidLabelValue(Str(&t, "value"));
      if (!msgs.empty()) {
        std::string joined;
        for (const auto& m : msgs) joined += (joined.empty() ? "" : ";") + m;
        errs.push_back(InvalidStr(Child(p, "operator"), Str(&t, "value"), joined));
      }
    } else if (op == "Exists") {
      if (!Str(&t, "value").empty()) {
        errs.push_back(
            InvalidGo(Child(p, "operator"), GoToleration(t), "value must be empty when `operator` is 'Exists'"));
      }
    } else {
      errs.push_back(NotSupported(Child(p, "operator"), op, {"Equal", "Exists"}));
    }
    CheckTaintEffect(errs, Child(p, "effect"), effect, true);
  });
}

void ValidateTopologySpread(const bj::array* constraints, const std::string& path, Errs& errs) {
  std::set<std::pair<std::string, std::string>> seen;
  ForEach(constraints, [&](size_t i, const bj::object& c) {
    std::string p = Idx(path, i);
    if (int64_t skew = Int(&c, "maxSkew").value_or(0); skew <= 0) {
      errs.push_back(InvalidInt(Child(p, "maxSkew"), skew, kPositive));
    }
    std::string key(Str(&c, "topologyKey"));
    if (key.empty()) errs.push_back(Required(Child(p, "topologyKey"), "can not be empty"));
    std::string when(Str(&c, "whenUnsatisfiable"));
    if (when != "DoNotSchedule" && when != "ScheduleAnyway") {
      errs.push_back(NotSupported(Child(p, "whenUnsatisfiable"), when, {"DoNotSchedule", "ScheduleAnyway"}));
    }
    if (!seen.emplace(key, when).second) {
      errs.push_back(WithValue(FieldError::Type::kDuplicate, Child(p, "{topologyKey, whenUnsatisfiable}"),
                               Quote(key + "{" + when + "}"), ""));
    }
    if (auto min = Int(&c, "minDomains"); min && *min <= 0) {
      errs.push_back(InvalidInt(Child(p, "minDomains"), *min, kPositive));
    }
    ValidateLabelSelector(Obj(&c, "labelSelector"), Child(p, "labelSelector"), errs);
  });
}

void ValidateDNSConfig(const bj::object& spec, const std::string& S, Errs& errs) {
  const bj::object* config = Obj(&spec, "dnsConfig");
  std::string path = Child(S, "dnsConfig");
  if (Str(&spec, "dnsPolicy") == "None") {
    if (config == nullptr) return errs.push_back(Required(path, "must provide `dnsConfig` when `dnsPolicy` is None"));
    if (Size(Arr(config, "nameservers")) == 0) {
      return errs.push_back(
          Required(Child(path, "nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"));
    }
  }
  if (config == nullptr) return;
  Strings servers = StrList(Arr(config, "nameservers"));
  if (servers.size() > 3) {
    errs.push_back(InvalidGo(Child(path, "nameservers"), GoStrings(servers), "must not have more than 3 nameservers"));
  }
  for (size_t i = 0; i < servers.size(); ++i) CheckIP(errs, Idx(Child(path, "nameservers"), i), servers[i]);
  Strings searches = StrList(Arr(config, "searches"));
  size_t total = searches.empty() ? 0 : searches.size() - 1;
  for (const auto& s : searches) total += s.size();
  if (searches.size() > 32) {
    errs.push_back(InvalidGo(Child(path, "searches"), GoStrings(searches), "must not have more than 32 search paths"));
  }
  if (total > 2048) {
    errs.push_back(InvalidGo(Child(path, "searches"), GoStrings(searches),
                             "must not have more than 2048 characters (including spaces) in the search list"));
  }
  for (size_t i = 0; i < searches.size(); ++i) {
    std::string s = searches[i];
    if (s == ".") continue;
    if (!s.empty() && s.back() == '.') s.pop_back();
    CheckSubdomain(errs, Idx(Child(path, "searches"), i), s);
  }
  ForEach(Arr(config, "options"), [&](size_t i, const bj::object& o) {
    if (Str(&o, "name").empty()) errs.push_back(Required(Idx(Child(path, "options"), i), "must not be empty"));
  });
}

// ---------------------------------------------------------------- pod spec

// ValidatePodSpecificAnnotations; `path` is the annotations path.
void ValidatePodAnnotations(const bj::object* ann, const bj::object& spec, const std::string& path, Errs& errs) {
  if (const bj::value* mirror = Get(ann, "kubernetes.io/config.mirror");
      mirror != nullptr && Str(&spec, "nodeName").empty()) {
    errs.push_back(InvalidStr(Key(path, "kubernetes.io/config.mirror"), StrOf(*mirror),
                              "must set spec.nodeName if mirror pod annotation is set"));
  }
  if (const bj::value* cost = Get(ann, "controller.kubernetes.io/pod-deletion-cost")) {
    std::string v = StrOf(*cost);
    // No "+" sign and no leading zeros; must fit in an int32.
    bool ok = !v.empty() && (v[0] == '-' || v == "0" || (v[0] >= '1' && v[0] <= '9'));
    if (ok) {
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(v.c_str(), &end, 10);
      ok = errno == 0 && *end == '\0' && end != v.c_str() && n >= INT32_MIN && n <= INT32_MAX && v != "-";
    }
    if (!ok)
      errs.push_back(InvalidStr(Key(path, "controller.kubernetes.io/pod-deletion-cost"), v, "must be a 32bit integer"));
  }
}

// ValidatePodSpec at `S` ("spec", "spec.template.spec", ...). `is_pod`:
// a Pod rather than a template (hostNetwork ports must then be explicit).
void ValidatePodSpec(const bj::object& spec, const std::string& S, bool is_pod, Errs& errs) {
  if (!Has(&spec, "terminationGracePeriodSeconds"))
    errs.push_back(Required(Child(S, "terminationGracePeriodSeconds"), ""));
  std::set<std::string> volumes = ValidateVolumes(Arr(&spec, "volumes"), Child(S, "volumes"), errs);
  ValidateContainers(spec, volumes, S, errs);
  ValidateInitContainers(spec, volumes, S, errs);
  ValidateEphemeralContainers(spec, volumes, S, errs);
  if (Bool(&spec, "hostNetwork")) {
    ForEach(Arr(&spec, "containers"), [&](size_t i, const bj::object& c) {
      ForEach(Arr(&c, "ports"), [&](size_t j, const bj::object& port) {
        int64_t host_port = Int(&port, "hostPort").value_or(0);
        if ((is_pod || host_port != 0) && host_port != Int(&port, "containerPort").value_or(0)) {
          errs.push_back(InvalidInt(Child(Idx(Child(Idx(Child(S, "containers"), i), "ports"), j), "hostPort"),
                                    host_port, "must match `containerPort` when `hostNetwork` is true"));
        }
      });
    });
  }
  std::string_view restart = Str(&spec, "restartPolicy");
  if (restart.empty()) {
    errs.push_back(Required(Child(S, "restartPolicy"), ""));
  } else if (restart != "Always" && restart != "OnFailure" && restart != "Never") {
    errs.push_back(NotSupported(Child(S, "restartPolicy"), restart, {"Always", "OnFailure", "Never"}));
  }
  std::string_view dns = Str(&spec, "dnsPolicy");
  if (dns.empty()) {
    errs.push_back(Required(Child(S, "dnsPolicy"), ""));
  } else if (dns != "ClusterFirstWithHostNet" && dns != "ClusterFirst" && dns != "Default" && dns != "None") {
    errs.push_back(
        NotSupported(Child(S, "dnsPolicy"), dns, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}));
  }
  ValidateLabels(Obj(&spec, "nodeSelector"), Child(S, "nodeSelector"), errs);
  ValidatePodSecurityContext(spec, S, errs);
  ValidateAffinity(Obj(&spec, "affinity"), Child(S, "affinity"), errs);
  ValidateDNSConfig(spec, S, errs);
  ForEach(Arr(&spec, "readinessGates"), [&](size_t i, const bj::object& g) {
    CheckQualified(errs, Child(Idx(Child(S, "readinessGates"), i), "conditionType"), Str(&g, "conditionType"));
  });
  std::set<std::string> gates;
  ForEach(Arr(&spec, "schedulingGates"), [&](size_t i, const bj::object& g) {
    std::string p = Child(Idx(Child(S, "schedulingGates"), i), "name");
    std::string name(Str(&g, "name"));
    CheckQualified(errs, p, name);
    if (!gates.insert(name).second) errs.push_back(Duplicate(p, name));
  });
  ValidateTopologySpread(Arr(&spec, "topologySpreadConstraints"), Child(S, "topologySpreadConstraints"), errs);
  if (std::string_view sa = Str(&spec, "serviceAccountName"); !sa.empty())
    CheckSubdomain(errs, Child(S, "serviceAccountName"), sa);
  if (std::string_view node = Str(&spec, "nodeName"); !node.empty()) CheckSubdomain(errs, Child(S, "nodeName"), node);
  if (auto ads = Int(&spec, "activeDeadlineSeconds"); ads && (*ads < 1 || *ads > 2147483647)) {
    errs.push_back(InvalidInt(Child(S, "activeDeadlineSeconds"), *ads, InclusiveRange(1, 2147483647)));
  }
  for (std::string_view f : {"hostname", "subdomain"}) {
    if (std::string_view v = Str(&spec, f); !v.empty()) CheckLabel(errs, Child(S, f), v);
  }
  ValidateTolerations(Arr(&spec, "tolerations"), Child(S, "tolerations"), errs);
  ForEach(Arr(&spec, "hostAliases"), [&](size_t i, const bj::object& ha) {
    std::string p = Idx(Child(S, "hostAliases"), i);
    CheckIP(errs, Child(p, "ip"), Str(&ha, "ip"));
    Strings names = StrList(Arr(&ha, "hostnames"));
    for (size_t j = 0; j < names.size(); ++j) CheckSubdomain(errs, Idx(Child(p, "hostnames"), j), names[j]);
  });
  if (std::string_view pc = Str(&spec, "priorityClassName"); !pc.empty())
    CheckSubdomain(errs, Child(S, "priorityClassName"), pc);
  if (const bj::value* rc = Get(&spec, "runtimeClassName"))
    CheckSubdomain(errs, Child(S, "runtimeClassName"), StrOf(*rc));
  if (const bj::value* pp = Get(&spec, "preemptionPolicy")) {
    std::string policy = StrOf(*pp);
    if (policy != "PreemptLowerPriority" && policy != "Never") {
      errs.push_back(NotSupported(Child(S, "preemptionPolicy"), policy, {"PreemptLowerPriority", "Never"}));
    }
  }
  if (const bj::object* overhead = Obj(&spec, "overhead")) {
    for (const auto& [r, v] : Sorted(overhead)) {
      std::string p = Key(Child(Child(S, "overhead"), "limits"), r);
      CheckContainerResourceName(errs, p, r);
      if (auto q = QuantityAt(v, p, errs)) CheckResourceQuantity(errs, p, r, *q);
    }
  }
  if (const bj::object* os = Obj(&spec, "os")) {
    std::string_view name = Str(os, "name");
    if (name.empty()) {
      errs.push_back(Required(Child(Child(S, "os"), "name"), ""));
    } else if (name != "linux" && name != "windows") {
      errs.push_back(NotSupported(Child(Child(S, "os"), "name"), name, {"linux", "windows"}));
    }
  }
}

// ValidatePodTemplateSpec at `path` (e.g. "spec.template"): labels and
// annotations are reported at `<path>.labels` / `<path>.annotations`.
void ValidatePodTemplate(const bj::object* tmpl, const std::string& path, Errs& errs) {
  static const bj::object kEmpty;
  const bj::object* meta = Obj(tmpl, "metadata");
  const bj::object* spec = Obj(tmpl, "spec");
  ValidateLabels(Obj(meta, "labels"), Child(path, "labels"), errs);
  ValidateAnnotations(Obj(meta, "annotations"), Child(path, "annotations"), errs);
  ValidatePodAnnotations(Obj(meta, "annotations"), spec != nullptr ? *spec : kEmpty, Child(path, "annotations"), errs);
  ValidatePodSpec(spec != nullptr ? *spec : kEmpty, Child(path, "spec"), false, errs);
  if (Size(Arr(spec, "ephemeralContainers")) > 0) {
    errs.push_back(Forbidden(Child(Child(path, "spec"), "ephemeralContainers"),
                             "ephemeral containers not allowed in pod template"));
  }
}

// --------------------------------------------------------------------- Pod

// A readable stand-in for go-cmp's diff of two specs.
std::string SpecDiff(const bj::object* before, const bj::object& after, std::string_view type) {
  std::set<std::string> keys;
  if (before != nullptr) {
    for (const auto& [k, v] : *before) keys.emplace(k);
  }
  for (const auto& [k, v] : after) keys.emplace(k);
  std::string out = "  " + std::string(type) + "{\n";
  for (const auto& k : keys) {
    const bj::value* a = Get(before, k);
    const bj::value* b = Get(&after, k);
    if (SemEq(a, b)) continue;
    if (a != nullptr) out += "- \t" + k + ": " + bj::serialize(*a) + ",\n";
    if (b != nullptr) out += "+ \t" + k + ": " + bj::serialize(*b) + ",\n";
  }
  return out + "  }\n";
}

bj::object WithoutKey(const bj::object& o, std::string_view key) {
  bj::object c = o;
  c.erase(key);
  return c;
}

// ValidatePodUpdate: what a Pod update may change.
void ValidatePodUpdate(const bj::object& pod, const bj::object& old, Errs& errs) {
  static const bj::object kEmpty;
  const bj::object& spec = Obj(&pod, "spec") != nullptr ? *Obj(&pod, "spec") : kEmpty;
  const bj::object* ospec = Obj(&old, "spec");
  for (std::string_view list : {"containers", "initContainers"}) {
    std::string path = Child("spec", list);
    if (Size(Arr(&spec, list)) != Size(Arr(ospec, list))) {
      return errs.push_back(Forbidden(path, "pod updates may not add or remove containers"));
    }
    ForEach(Arr(&spec, list), [&](size_t i, const bj::object& c) {
      std::string_view image = Str(&c, "image");
      if (image.empty()) errs.push_back(Required(Child(Idx(path, i), "image"), ""));
      size_t b = image.find_first_not_of(" \t\n\r\f\v");
      if (!image.empty() && (b != 0 || image.find_last_not_of(" \t\n\r\f\v") != image.size() - 1)) {
        errs.push_back(InvalidStr(Child(Idx(path, i), "image"), image, "must not have leading or trailing whitespace"));
      }
    });
  }
  auto ads = Int(&spec, "activeDeadlineSeconds");
  auto old_ads = Int(ospec, "activeDeadlineSeconds");
  if (ads) {
    if (*ads < 0 || *ads > 2147483647) {
      return errs.push_back(InvalidInt("spec.activeDeadlineSeconds", *ads, InclusiveRange(0, 2147483647)));
    }
    if (old_ads && *old_ads < *ads) {
      return errs.push_back(
          InvalidInt("spec.activeDeadlineSeconds", *ads, "must be less than or equal to previous value"));
    }
  } else if (old_ads) {
    errs.push_back(
        InvalidGo("spec.activeDeadlineSeconds", "\"null\"", "must not update from a positive integer to nil value"));
  }
  // Tolerations: existing ones may only change their tolerationSeconds.
  bool kept = true;
  ForEach(Arr(ospec, "tolerations"), [&](size_t, const bj::object& ot) {
    bool found = false;
    ForEach(Arr(&spec, "tolerations"), [&](size_t, const bj::object& nt) {
      bj::value a = WithoutKey(ot, "tolerationSeconds");
      bj::value b = WithoutKey(nt, "tolerationSeconds");
      found = found || SemEq(&a, &b);
    });
    kept = kept && found;
  });
  if (!kept) {
    errs.push_back(
        Forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"));
  } else {
    ValidateTolerations(Arr(&spec, "tolerations"), "spec.tolerations", errs);
  }
  std::set<std::string> old_gates;
  ForEach(Arr(ospec, "schedulingGates"), [&](size_t, const bj::object& g) { old_gates.emplace(Str(&g, "name")); });
  ForEach(Arr(&spec, "schedulingGates"), [&](size_t i, const bj::object& g) {
    if (!old_gates.contains(std::string(Str(&g, "name")))) {
      errs.push_back(
          Forbidden(Child(Idx("spec.schedulingGates", i), "name"),
                    "only deletion is allowed, but found new scheduling gate '" + std::string(Str(&g, "name")) + "'"));
    }
  });
  // Overlay what may change with the stored values, then compare.
  bj::object munged = spec;
  for (std::string_view list : {"containers", "initContainers"}) {
    if (auto* arr = munged.if_contains(list); arr != nullptr && arr->is_array()) {
      const bj::array* before = Arr(ospec, list);
      for (size_t i = 0; i < arr->get_array().size() && i < Size(before); ++i) {
        bj::value& c = arr->get_array()[i];
        if (!c.is_object() || !(*before)[i].is_object()) continue;
        if (const bj::value* img = (*before)[i].get_object().if_contains("image")) {
          c.get_object()["image"] = *img;
        } else {
          c.get_object().erase("image");
        }
      }
    }
  }
  std::vector<std::string_view> overlay = {"activeDeadlineSeconds", "schedulingGates", "tolerations",
                                           // changed through the ephemeralcontainers subresource
                                           "ephemeralContainers"};
  if (Size(Arr(ospec, "schedulingGates")) > 0) {
    // Gated pods may still get scheduling directives.
    overlay.push_back("nodeSelector");
    overlay.push_back("affinity");
  }
  auto tgps = Int(&spec, "terminationGracePeriodSeconds");
  auto old_tgps = Int(ospec, "terminationGracePeriodSeconds");
  if (old_tgps && *old_tgps < 0 && tgps && *tgps == 1) overlay.push_back("terminationGracePeriodSeconds");
  for (std::string_view k : overlay) {
    if (const bj::value* v = Get(ospec, k)) {
      munged[k] = *v;
    } else {
      munged.erase(k);
    }
  }
  bj::value a(munged);
  if (!SemEq(Get(&old, "spec"), &a)) {
    errs.push_back(Forbidden(
        "spec",
        "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n" +
            SpecDiff(ospec, munged, "core.PodSpec")));
  }
}

void ValidatePod(const bj::object& pod, const bj::object* old, Errs& errs) {
  static const bj::object kEmpty;
  const bj::object& spec = Obj(&pod, "spec") != nullptr ? *Obj(&pod, "spec") : kEmpty;
  ValidatePodAnnotations(Obj(Obj(&pod, "metadata"), "annotations"), spec, "metadata.annotations", errs);
  ValidatePodSpec(spec, "spec", true, errs);
  if (Str(&spec, "serviceAccountName").empty()) {
    ForEach(Arr(&spec, "volumes"), [&](size_t i, const bj::object& v) {
      ForEach(Arr(Obj(&v, "projected"), "sources"), [&](size_t j, const bj::object& s) {
        if (Has(&s, "serviceAccountToken")) {
          errs.push_back(Forbidden(
              Child(Idx(Child(Child(Idx("spec.volumes", i), "projected"), "sources"), j), "serviceAccountToken"),
              "must not be specified when serviceAccountName is not set"));
        }
      });
    });
  }
  if (old != nullptr) return ValidatePodUpdate(pod, *old, errs);
  if (Size(Arr(&spec, "ephemeralContainers")) > 0)
    errs.push_back(Forbidden("spec.ephemeralContainers", "cannot be set on create"));
  if (!Str(&spec, "nodeName").empty() && Size(Arr(&spec, "schedulingGates")) > 0) {
    errs.push_back(Forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"));
  }
}

// ----------------------------------------------------------------- workloads

FieldError NotSupportedGo(std::string field, std::string value, const Strings& supported) {
  FieldError e = api::NotSupported(std::move(field), bj::value(""), supported);
  e.value = std::move(value);
  return e;
}

// Restart policy and activeDeadlineSeconds rules of controllers whose pods
// run forever.
void CheckForeverTemplate(const bj::object* tmpl_spec, std::string_view kind, bool deadline_invalid, Errs& errs) {
  std::string_view restart = Str(tmpl_spec, "restartPolicy");
  if (restart != "Always") errs.push_back(NotSupported("spec.template.spec.restartPolicy", restart, {"Always"}));
  if (auto ads = Int(tmpl_spec, "activeDeadlineSeconds")) {
    std::string detail = "activeDeadlineSeconds in " + std::string(kind) + " is not Supported";
    errs.push_back(deadline_invalid ? InvalidInt("spec.template.spec.activeDeadlineSeconds", *ads, detail)
                                    : Forbidden("spec.template.spec.activeDeadlineSeconds", detail));
  }
}

// The selector rules of Deployment, ReplicaSet and StatefulSet; `word` names
// the kind in the empty-selector message.
void CheckWorkloadSelector(const bj::value* selector, std::string_view word, Errs& errs) {
  if (selector == nullptr) return errs.push_back(Required("spec.selector", ""));
  const bj::object* sel = selector->if_object();
  ValidateLabelSelector(sel, "spec.selector", errs);
  if (Size(Obj(sel, "matchLabels")) + Size(Arr(sel, "matchExpressions")) == 0) {
    errs.push_back(
        InvalidGo("spec.selector", GoSelector(selector), "empty selector is invalid for " + std::string(word)));
  }
}

// ValidatePodTemplateSpecForReplicaSet (and the RC variant).
void ValidateReplicaTemplate(const bj::object* spec, const bj::value* selector, std::string_view kind, Errs& errs) {
  const bj::object* tmpl = Obj(spec, "template");
  if (!CheckSelectorMatchesTemplate(selector, tmpl, "spec.template.metadata.labels", errs)) {
    return errs.push_back(InvalidGo("spec.selector", GoSelector(selector), "invalid label selector"));
  }
  ValidatePodTemplate(tmpl, "spec.template", errs);
  CheckForeverTemplate(Obj(tmpl, "spec"), kind, false, errs);
}

void CheckSelectorImmutable(const bj::object& obj, const bj::object* old, Errs& errs) {
  if (old == nullptr) return;
  const bj::value* now = Get(Obj(&obj, "spec"), "selector");
  Immutable(errs, "spec.selector", now, Get(Obj(old, "spec"), "selector"), GoSelector(now));
}

void ValidateDeployment(const bj::object& obj, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  NonNegative(errs, "spec.replicas", Int(spec, "replicas"));
  const bj::value* selector = Get(spec, "selector");
  CheckWorkloadSelector(selector, "deployment", errs);
  ValidateReplicaTemplate(spec, selector, "ReplicaSet", errs);
  const bj::object* strategy = Obj(spec, "strategy");
  std::string_view type = Str(strategy, "type");
  const bj::object* ru = Obj(strategy, "rollingUpdate");
  if (type == "Recreate") {
    if (ru != nullptr) {
      errs.push_back(
          Forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    }
  } else if (type == "RollingUpdate") {
    if (ru == nullptr) {
      errs.push_back(Required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
    } else {
      IntOrStr max_unavailable = ToIntOrStr(Get(ru, "maxUnavailable"));
      IntOrStr max_surge = ToIntOrStr(Get(ru, "maxSurge"));
      CheckIntOrPercent(errs, "spec.strategy.rollingUpdate.maxUnavailable", max_unavailable);
      CheckIntOrPercent(errs, "spec.strategy.rollingUpdate.maxSurge", max_surge);
      if (IntOrPercentValue(max_unavailable) == 0 && IntOrPercentValue(max_surge) == 0) {
        errs.push_back(InvalidGo("spec.strategy.rollingUpdate.maxUnavailable", max_unavailable.Go(),
                                 "may not be 0 when `maxSurge` is 0"));
      }
      CheckNotOver100Percent(errs, "spec.strategy.rollingUpdate.maxUnavailable", max_unavailable);
    }
  } else {
    std::string go = "apps.DeploymentStrategy{Type:" + Quote(type) +
                     ", RollingUpdate:(*apps.RollingUpdateDeployment)(" + (ru != nullptr ? "0xc000000000" : "nil") +
                     ")}";
    errs.push_back(NotSupportedGo("spec.strategy", go, {"Recreate", "RollingUpdate"}));
  }
  auto min_ready = Int(spec, "minReadySeconds");
  NonNegative(errs, "spec.minReadySeconds", min_ready);
  NonNegative(errs, "spec.revisionHistoryLimit", Int(spec, "revisionHistoryLimit"));
  if (auto pds = Int(spec, "progressDeadlineSeconds")) {
    NonNegative(errs, "spec.progressDeadlineSeconds", pds);
    if (*pds <= min_ready.value_or(0)) {
      errs.push_back(InvalidInt("spec.progressDeadlineSeconds", *pds, "must be greater than minReadySeconds"));
    }
  }
  CheckSelectorImmutable(obj, old, errs);
}

void ValidateReplicaSet(const bj::object& obj, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  NonNegative(errs, "spec.replicas", Int(spec, "replicas"));
  NonNegative(errs, "spec.minReadySeconds", Int(spec, "minReadySeconds"));
  const bj::value* selector = Get(spec, "selector");
  CheckWorkloadSelector(selector, "deployment", errs);  // sic: upstream says "deployment"
  ValidateReplicaTemplate(spec, selector, "ReplicaSet", errs);
  CheckSelectorImmutable(obj, old, errs);
}

void ValidateStatefulSet(const bj::object& obj, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  std::string_view pmp = Str(spec, "podManagementPolicy");
  if (pmp.empty()) {
    errs.push_back(Required("spec.podManagementPolicy", ""));
  } else if (pmp != "OrderedReady" && pmp != "Parallel") {
    errs.push_back(InvalidStr("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"));
  }
  const bj::object* us = Obj(spec, "updateStrategy");
  const bj::object* ru = Obj(us, "rollingUpdate");
  std::string_view type = Str(us, "type");
  if (type.empty()) {
    errs.push_back(Required("spec.updateStrategy", ""));
  } else if (type == "OnDelete") {
    if (ru != nullptr) {
      std::string go =
          "apps.RollingUpdateStatefulSetStrategy{Partition:" + std::to_string(Int(ru, "partition").value_or(0)) +
          ", MaxUnavailable:(*intstr.IntOrString)(" + (Has(ru, "maxUnavailable") ? "0xc000000000" : "nil") + ")}";
      errs.push_back(
          InvalidGo("spec.updateStrategy.rollingUpdate", go, "only allowed for updateStrategy 'RollingUpdate'"));
    }
  } else if (type == "RollingUpdate") {
    NonNegative(errs, "spec.updateStrategy.rollingUpdate.partition", Int(ru, "partition"));
  } else {
    std::string go = "apps.StatefulSetUpdateStrategy{Type:" + Quote(type) +
                     ", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(" +
                     (ru != nullptr ? "0xc000000000" : "nil") + ")}";
    errs.push_back(InvalidGo("spec.updateStrategy", go, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  if (const bj::object* policy = Obj(spec, "persistentVolumeClaimRetentionPolicy")) {
    for (std::string_view f : {"whenDeleted", "whenScaled"}) {
      std::string_view v = Str(policy, f);
      if (v != "Retain" && v != "Delete") {
        errs.push_back(NotSupported(Child("spec.persistentVolumeClaimRetentionPolicy", f), v, {"Retain", "Delete"}));
      }
    }
  }
  NonNegative(errs, "spec.replicas", Int(spec, "replicas"));
  NonNegative(errs, "spec.ordinals.start", Int(Obj(spec, "ordinals"), "start"));
  NonNegative(errs, "spec.minReadySeconds", Int(spec, "minReadySeconds"));
  const bj::value* selector = Get(spec, "selector");
  CheckWorkloadSelector(selector, "statefulset", errs);
  // Upstream does not validate the pod spec of StatefulSets (volume claim
  // templates would fail the volume mount checks): only template metadata.
  const bj::object* tmpl = Obj(spec, "template");
  if (!CheckSelectorMatchesTemplate(selector, tmpl, "spec.template.metadata.labels", errs)) {
    errs.push_back(InvalidGo("spec.selector", GoSelector(selector), ""));
  } else {
    const bj::object* meta = Obj(tmpl, "metadata");
    static const bj::object kEmpty;
    ValidateLabels(Obj(meta, "labels"), "spec.template.labels", errs);
    ValidateAnnotations(Obj(meta, "annotations"), "spec.template.annotations", errs);
    const bj::object* tspec = Obj(tmpl, "spec");
    ValidatePodAnnotations(Obj(meta, "annotations"), tspec != nullptr ? *tspec : kEmpty, "spec.template.annotations",
                           errs);
  }
  CheckForeverTemplate(Obj(tmpl, "spec"), "StatefulSet", false, errs);
  if (old != nullptr) {
    bj::object a = spec != nullptr ? *spec : bj::object();
    bj::object b = Obj(old, "spec") != nullptr ? *Obj(old, "spec") : bj::object();
    for (std::string_view k : {"replicas", "ordinals", "template", "updateStrategy",
                               "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}) {
      a.erase(k);
      b.erase(k);
    }
    bj::value av(std::move(a));
    bj::value bv(std::move(b));
    if (!SemEq(&av, &bv)) {
      errs.push_back(
          Forbidden("spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    }
  }
}

void ValidateDaemonSet(const bj::object& obj, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  const bj::value* selector = Get(spec, "selector");
  const bj::object* sel = selector != nullptr ? selector->if_object() : nullptr;
  ValidateLabelSelector(sel, "spec.selector", errs);
  const bj::object* tmpl = Obj(spec, "template");
  auto parsed = api::LabelSelector::FromObject(selector);
  if (parsed.ok() && !parsed->Matches(ToLabelMap(Obj(Obj(tmpl, "metadata"), "labels")))) {
    errs.push_back(InvalidGo("spec.template.metadata.labels", GoStrMap(TemplateLabels(tmpl)),
                             "`selector` does not match template `labels`"));
  }
  if (sel != nullptr && Size(Obj(sel, "matchLabels")) + Size(Arr(sel, "matchExpressions")) == 0) {
    errs.push_back(InvalidGo("spec.selector", GoSelector(selector), "empty selector is invalid for daemonset"));
  }
  ValidatePodTemplate(tmpl, "spec.template", errs);
  CheckForeverTemplate(Obj(tmpl, "spec"), "DaemonSet", true, errs);
  NonNegative(errs, "spec.minReadySeconds", Int(spec, "minReadySeconds"));
  NonNegative(errs, "spec.templateGeneration", Int(spec, "templateGeneration"));
  const bj::object* us = Obj(spec, "updateStrategy");
  const bj::object* ru = Obj(us, "rollingUpdate");
  std::string_view type = Str(us, "type");
  if (type == "RollingUpdate") {
    if (ru == nullptr) {
      errs.push_back(Required("spec.updateStrategy.rollingUpdate", ""));
    } else {
      IntOrStr max_unavailable = ToIntOrStr(Get(ru, "maxUnavailable"));
      IntOrStr max_surge = ToIntOrStr(Get(ru, "maxSurge"));
      CheckIntOrPercent(errs, "spec.updateStrategy.rollingUpdate.maxUnavailable", max_unavailable);
      CheckIntOrPercent(errs, "spec.updateStrategy.rollingUpdate.maxSurge", max_surge);
      CheckNotOver100Percent(errs, "spec.updateStrategy.rollingUpdate.maxUnavailable", max_unavailable);
      CheckNotOver100Percent(errs, "spec.updateStrategy.rollingUpdate.maxSurge", max_surge);
      bool has_unavailable = IntOrPercentValue(max_unavailable) != 0;
      bool has_surge = IntOrPercentValue(max_surge) != 0;
      if (has_unavailable && has_surge) {
        errs.push_back(InvalidGo("spec.updateStrategy.rollingUpdate.maxSurge", max_surge.Go(),
                                 "may not be set when maxUnavailable is non-zero"));
      } else if (!has_unavailable && !has_surge) {
        errs.push_back(Required("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0"));
      }
    }
  } else if (type != "OnDelete") {
    std::string go = "apps.DaemonSetUpdateStrategy{Type:" + Quote(type) +
                     ", RollingUpdate:(*apps.RollingUpdateDaemonSet)(" + (ru != nullptr ? "0xc000000000" : "nil") +
                     ")}";
    errs.push_back(NotSupportedGo("spec.updateStrategy", go, {"RollingUpdate", "OnDelete"}));
  }
  NonNegative(errs, "spec.revisionHistoryLimit", Int(spec, "revisionHistoryLimit"));
  CheckSelectorImmutable(obj, old, errs);
}

void ValidateReplicationController(const bj::object& obj, const bj::object*, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  NonNegative(errs, "spec.minReadySeconds", Int(spec, "minReadySeconds"));
  const bj::object* selector = Obj(spec, "selector");
  if (Size(selector) == 0) errs.push_back(Required("spec.selector", ""));
  NonNegative(errs, "spec.replicas", Int(spec, "replicas"));
  if (!Has(spec, "template")) return errs.push_back(Required("spec.template", ""));
  bj::value as_selector =
      bj::object{{"matchLabels", selector != nullptr ? bj::value(*selector) : bj::value(bj::object())}};
  ValidateReplicaTemplate(spec, &as_selector, "ReplicationController", errs);
}

void ValidatePodTemplateKind(const bj::object& obj, const bj::object*, Errs& errs) {
  ValidatePodTemplate(Obj(&obj, "template"), "template", errs);
}

// -------------------------------------------------------------------- batch

// validateJobSpec (the parts shared with CronJob job templates); `path` is
// the JobSpec's path.
void ValidateJobSpecCommon(const bj::object* spec, const std::string& path, Errs& errs) {
  for (std::string_view f : {"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                             "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"}) {
    NonNegative(errs, Child(path, f), Int(spec, f));
  }
  const bj::value* mode = Get(spec, "completionMode");
  bool indexed = mode != nullptr && StrOf(*mode) == "Indexed";
  if (Has(spec, "maxFailedIndexes") && !Has(spec, "backoffLimitPerIndex")) {
    errs.push_back(Required(Child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
  }
  if (Has(spec, "backoffLimitPerIndex") && !indexed) {
    errs.push_back(Forbidden(Child(path, "backoffLimitPerIndex"), "requires indexed completion mode"));
  }
  if (mode != nullptr) {
    std::string m = StrOf(*mode);
    if (m != "NonIndexed" && m != "Indexed")
      errs.push_back(NotSupported(Child(path, "completionMode"), m, {"NonIndexed", "Indexed"}));
    if (indexed) {
      if (!Has(spec, "completions"))
        errs.push_back(Required(Child(path, "completions"), "when completion mode is Indexed"));
      if (auto p = Int(spec, "parallelism"); p && *p > 100000) {
        errs.push_back(InvalidInt(Child(path, "parallelism"), *p,
                                  "must be less than or equal to 100000 when completion mode is Indexed"));
      }
    }
  }
  if (const bj::value* prp = Get(spec, "podReplacementPolicy")) {
    std::string policy = StrOf(*prp);
    if (Has(spec, "podFailurePolicy")) {
      if (policy != "Failed") errs.push_back(NotSupported(Child(path, "podReplacementPolicy"), policy, {"Failed"}));
    } else if (policy != "Failed" && policy != "TerminatingOrFailed") {
      errs.push_back(NotSupported(Child(path, "podReplacementPolicy"), policy, {"Failed", "TerminatingOrFailed"}));
    }
  }
  const bj::object* tmpl = Obj(spec, "template");
  ValidatePodTemplate(tmpl, Child(path, "template"), errs);
  std::string_view restart = Str(Obj(tmpl, "spec"), "restartPolicy");
  if (restart != "OnFailure" && restart != "Never") {
    errs.push_back(
        NotSupported(Child(Child(Child(path, "template"), "spec"), "restartPolicy"), restart, {"OnFailure", "Never"}));
  }
}

// validateGeneratedSelector: without manualSelector, the selector must be
// the generated one and the template must carry the generated labels.
void ValidateGeneratedJobSelector(const bj::object& job, Errs& errs) {
  const bj::object* spec = Obj(&job, "spec");
  const bj::value* selector = Get(spec, "selector");
  if (Bool(spec, "manualSelector") || selector == nullptr) return;
  std::string uid(api::Uid(job));
  if (uid.empty()) {
    // kubepp assigns the uid after validation: use the one the selector was generated with.
    uid = Str(Obj(selector->if_object(), "matchLabels"), "batch.kubernetes.io/controller-uid");
  }
  std::string name(api::Name(job));
  const bj::object* tmpl_meta = Obj(Obj(spec, "template"), "metadata");
  const bj::value* labels = Get(tmpl_meta, "labels");
  LabelMap expected;
  for (const auto& [key, want] : {std::pair<std::string, std::string>{"controller-uid", uid},
                                  {"job-name", name},
                                  {"batch.kubernetes.io/controller-uid", uid},
                                  {"batch.kubernetes.io/job-name", name}}) {
    std::string path = Key("spec.template.metadata.labels", key);
    const bj::value* have = Get(labels != nullptr ? labels->if_object() : nullptr, key);
    if (have == nullptr) {
      errs.push_back(Required(path, "must be '" + want + "'"));
    } else if (StrOf(*have) != want) {
      errs.push_back(InvalidGo(path, GoStrMap(labels), "must be '" + want + "'"));
    }
    expected[key] = want;
  }
  auto sel = api::LabelSelector::FromObject(selector);
  if (sel.ok() && !sel->Matches(expected)) {
    errs.push_back(InvalidGo("spec.selector", GoSelector(selector), "`selector` not auto-generated"));
  }
}

void ValidateJob(const bj::object& job, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&job, "spec");
  ValidateGeneratedJobSelector(job, errs);
  ValidateJobSpecCommon(spec, "spec", errs);
  const bj::value* selector = Get(spec, "selector");
  // Without manualSelector the selector is generated; a missing one means
  // generation has not happened yet, which is not the user's error.
  if (selector == nullptr && Bool(spec, "manualSelector")) errs.push_back(Required("spec.selector", ""));
  if (selector != nullptr) ValidateLabelSelector(selector->if_object(), "spec.selector", errs);
  if (selector != nullptr || Bool(spec, "manualSelector")) {
    auto sel = api::LabelSelector::FromObject(selector);
    const bj::object* tmpl = Obj(spec, "template");
    if (sel.ok() && !sel->Matches(ToLabelMap(Obj(Obj(tmpl, "metadata"), "labels")))) {
      errs.push_back(InvalidGo("spec.template.metadata.labels", GoStrMap(TemplateLabels(tmpl)),
                               "`selector` does not match template `labels`"));
    }
  }
  auto completions = Int(spec, "completions");
  if (Str(spec, "completionMode") == "Indexed" && completions && *completions > 0) {
    std::string name(api::Name(job));
    std::string hostname = name + "-" + std::to_string(*completions - 1);
    if (!api::IsDNS1123Label(hostname).empty()) {
      errs.push_back(
          InvalidStr("metadata.name", name, "will not able to create pod with invalid DNS label: " + hostname));
    }
  }
  if (old == nullptr) return;
  const bj::object* ospec = Obj(old, "spec");
  // Completions of Indexed jobs may change together with parallelism.
  if (!SemEq(spec, ospec, "completions")) {
    if (Str(spec, "completionMode") != "Indexed") {
      errs.push_back(
          InvalidGo("spec.completions", completions ? std::to_string(*completions) : "\"null\"", kImmutable));
    } else if (completions && *completions != Int(spec, "parallelism").value_or(0)) {
      errs.push_back(
          InvalidInt("spec.completions", *completions, "can only be modified in tandem with spec.parallelism"));
    }
  }
  Immutable(errs, "spec.selector", Get(spec, "selector"), Get(ospec, "selector"), GoSelector(Get(spec, "selector")));
  // A suspended Job that never started may change its scheduling directives.
  bj::object tmpl = Obj(spec, "template") != nullptr ? *Obj(spec, "template") : bj::object();
  bj::object otmpl = Obj(ospec, "template") != nullptr ? *Obj(ospec, "template") : bj::object();
  if (Bool(spec, "suspend") && !Has(Obj(old, "status"), "startTime")) {
    for (bj::object* t : {&tmpl, &otmpl}) {
      if (auto* m = t->if_contains("metadata"); m != nullptr && m->is_object()) {
        m->get_object().erase("labels");
        m->get_object().erase("annotations");
      }
      if (auto* s = t->if_contains("spec"); s != nullptr && s->is_object()) {
        for (std::string_view k : {"nodeSelector", "tolerations", "schedulingGates"}) s->get_object().erase(k);
        if (auto* a = s->get_object().if_contains("affinity"); a != nullptr && a->is_object()) {
          a->get_object().erase("nodeAffinity");
        }
      }
    }
  }
  bj::value tv(std::move(tmpl));
  bj::value otv(std::move(otmpl));
  if (!SemEq(&tv, &otv)) errs.push_back(InvalidGo("spec.template", "core.PodTemplateSpec{...}", kImmutable));
  Immutable(errs, "spec.completionMode", Get(spec, "completionMode"), Get(ospec, "completionMode"),
            Quote(Str(spec, "completionMode")));
  Immutable(errs, "spec.podFailurePolicy", Get(spec, "podFailurePolicy"), Get(ospec, "podFailurePolicy"),
            "&batch.PodFailurePolicy{...}");
  if (auto b = Int(spec, "backoffLimitPerIndex")) {
    Immutable(errs, "spec.backoffLimitPerIndex", Get(spec, "backoffLimitPerIndex"), Get(ospec, "backoffLimitPerIndex"),
              std::to_string(*b));
  } else {
    Immutable(errs, "spec.backoffLimitPerIndex", nullptr, Get(ospec, "backoffLimitPerIndex"), "\"null\"");
  }
  Immutable(errs, "spec.managedBy", Get(spec, "managedBy"), Get(ospec, "managedBy"),
            Has(spec, "managedBy") ? Quote(Str(spec, "managedBy")) : "\"null\"");
  Immutable(errs, "spec.successPolicy", Get(spec, "successPolicy"), Get(ospec, "successPolicy"),
            "&batch.SuccessPolicy{...}");
}

// Go's time.ParseDuration, for "@every <duration>".
bool ParseGoDuration(std::string_view s) {
  if (s == "0") return true;
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i >= s.size()) return false;
  while (i < s.size()) {
    size_t start = i;
    bool dot = false;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || (s[i] == '.' && !dot)))
      dot |= s[i++] == '.';
    if (i == start || (i - start == 1 && dot)) return false;
    size_t unit = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    std::string_view u = s.substr(unit, i - unit);
    if (u != "ns" && u != "us" && u != "µs" && u != "μs" && u != "ms" && u != "s" && u != "m" && u != "h") return false;
  }
  return true;
}

bool KnownTimeZone(const std::string& tz) {
  if (tz.empty() || tz == "UTC") return true;
  std::error_code ec;
  if (!std::filesystem::exists("/usr/share/zoneinfo", ec)) return true;  // no database to check against
  return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + tz, ec);
}

// strconv.Atoi as robfig/cron's mustParseInt uses it.
std::optional<int64_t> CronInt(const std::string& expr, std::string& err) {
  size_t i = (!expr.empty() && (expr[0] == '+' || expr[0] == '-')) ? 1 : 0;
  bool digits = i < expr.size() && std::all_of(expr.begin() + static_cast<std::ptrdiff_t>(i), expr.end(),
                                               [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits) {
    err = "failed to parse int from " + expr + ": strconv.Atoi: parsing " + Quote(expr) + ": invalid syntax";
    return std::nullopt;
  }
  if (expr.size() - i > 18) {
    err = "failed to parse int from " + expr + ": strconv.Atoi: parsing " + Quote(expr) + ": value out of range";
    return std::nullopt;
  }
  int64_t n = std::stoll(expr);
  if (n < 0) {
    err = "negative number (" + std::to_string(n) + ") not allowed: " + expr;
    return std::nullopt;
  }
  return n;
}

// robfig/cron's ParseStandard: the error text, or "" when the schedule parses.
std::string CronError(std::string_view schedule) {
  std::string s(schedule);
  if (s.empty()) return "empty spec string";
  if (s.rfind("TZ=", 0) == 0 || s.rfind("CRON_TZ=", 0) == 0) {
    size_t eq = s.find('=');
    size_t sp = s.find(' ');
    std::string loc = s.substr(eq + 1, sp == std::string::npos ? std::string::npos : sp - eq - 1);
    if (sp == std::string::npos || !KnownTimeZone(loc))
      return "provided bad location " + loc + ": unknown time zone " + loc;
    s = s.substr(sp);
    s.erase(0, s.find_first_not_of(" \t\n\r\v\f"));
  }
  if (!s.empty() && s[0] == '@') {
    static const std::set<std::string> kDescriptors = {"@yearly", "@annually", "@monthly", "@weekly",
                                                       "@daily",  "@midnight", "@hourly"};
    if (kDescriptors.contains(s)) return "";
    if (s.rfind("@every ", 0) == 0) {
      std::string d = s.substr(7);
      return ParseGoDuration(d) ? "" : "failed to parse duration " + s + ": time: invalid duration " + Quote(d);
    }
    return "unrecognized descriptor: " + s;
  }
  Strings fields;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find_first_of(" \t\n\r\v\f", i);
    if (j != i) fields.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  if (fields.size() != 5) {
    std::string joined;
    for (const auto& f : fields) joined += (joined.empty() ? "" : " ") + f;
    return "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": [" + joined + "]";
  }
  struct Bounds {
    int64_t min, max;
    std::map<std::string, int64_t> names;
  };
  static const Bounds kBounds[] = {
      {0, 59, {}},
      {0, 23, {}},
      {1, 31, {}},
      {1,
       12,
       {{"jan", 1},
        {"feb", 2},
        {"mar", 3},
        {"apr", 4},
        {"may", 5},
        {"jun", 6},
        {"jul", 7},
        {"aug", 8},
        {"sep", 9},
        {"oct", 10},
        {"nov", 11},
        {"dec", 12}}},
      {0, 6, {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}}}};
  for (size_t f = 0; f < 5; ++f) {
    const Bounds& r = kBounds[f];
    std::string err;
    auto value = [&](const std::string& expr) -> std::optional<int64_t> {
      std::string lower = expr;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (auto it = r.names.find(lower); it != r.names.end()) return it->second;
      return CronInt(expr, err);
    };
    std::string field = fields[f];
    for (size_t i = 0; i <= field.size();) {
      size_t comma = field.find(',', i);
      std::string expr = field.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
      i = comma == std::string::npos ? field.size() + 1 : comma + 1;
      if (expr.empty()) continue;
      Strings range_step;
      for (size_t a = 0;;) {
        size_t b = expr.find('/', a);
        range_step.push_back(expr.substr(a, b == std::string::npos ? std::string::npos : b - a));
        if (b == std::string::npos) break;
        a = b + 1;
      }
      Strings low_high;
      for (size_t a = 0;;) {
        size_t b = range_step[0].find('-', a);
        low_high.push_back(range_step[0].substr(a, b == std::string::npos ? std::string::npos : b - a));
        if (b == std::string::npos) break;
        a = b + 1;
      }
      int64_t start = 0;
      int64_t end = 0;
      if (low_high[0] == "*" || low_high[0] == "?") {
        start = r.min;
        end = r.max;
      } else {
        auto lo = value(low_high[0]);
        if (!lo) return err;
        start = end = *lo;
        if (low_high.size() == 2) {
          auto hi = value(low_high[1]);
          if (!hi) return err;
          end = *hi;
        } else if (low_high.size() > 2) {
          return "too many hyphens: " + expr;
        }
      }
      int64_t step = 1;
      if (range_step.size() == 2) {
        auto st = CronInt(range_step[1], err);
        if (!st) return err;
        step = *st;
        if (low_high.size() == 1) end = r.max;  // "N/step" means "N-max/step"
      } else if (range_step.size() > 2) {
        return "too many slashes: " + expr;
      }
      if (start < r.min) {
        return "beginning of range (" + std::to_string(start) + ") below minimum (" + std::to_string(r.min) +
               "): " + expr;
      }
      if (end > r.max) {
        return "end of range (" + std::to_string(end) + ") above maximum (" + std::to_string(r.max) + "): " + expr;
      }
      if (start > end) {
        return "beginning of range (" + std::to_string(start) + ") beyond end of range (" + std::to_string(end) +
               "): " + expr;
      }
      if (step == 0) return "step of range should be a positive number: " + expr;
    }
  }
  return "";
}

void ValidateTimeZone(const bj::object* spec, Errs& errs) {
  const bj::value* v = Get(spec, "timeZone");
  if (v == nullptr) return;
  std::string tz = StrOf(*v);
  if (tz.empty()) return errs.push_back(InvalidStr("spec.timeZone", tz, "unknown time zone"));
  for (size_t i = 0; i <= tz.size();) {
    size_t slash = tz.find('/', i);
    std::string part = tz.substr(i, slash == std::string::npos ? std::string::npos : slash - i);
    i = slash == std::string::npos ? tz.size() + 1 : slash + 1;
    bool chars = !part.empty() && part.size() <= 14 && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '+';
    });
    if (part == "." || part == ".." || part[0] == '-' || !chars) {
      return errs.push_back(InvalidStr("spec.timeZone", tz, "unknown time zone " + tz));
    }
  }
  std::string lower = tz;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "local") {
    errs.push_back(InvalidStr("spec.timeZone", tz,
                              "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
  }
  if (!KnownTimeZone(tz)) errs.push_back(InvalidStr("spec.timeZone", tz, "unknown time zone " + tz));
}

void ValidateCronJob(const bj::object& obj, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&obj, "spec");
  const bj::object* ospec = old != nullptr ? Obj(old, "spec") : nullptr;
  std::string_view schedule = Str(spec, "schedule");
  if (schedule.empty()) {
    errs.push_back(Required("spec.schedule", ""));
  } else {
    if (std::string err = CronError(schedule); !err.empty()) errs.push_back(InvalidStr("spec.schedule", schedule, err));
    bool allow_tz = old != nullptr && Str(ospec, "schedule").find("TZ") != std::string_view::npos;
    bool has_tz = schedule.find("TZ") != std::string_view::npos;
    if (allow_tz && has_tz && Has(spec, "timeZone")) {
      errs.push_back(
          InvalidStr("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
    } else if (!allow_tz && has_tz) {
      errs.push_back(
          InvalidStr("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
    }
  }
  NonNegative(errs, "spec.startingDeadlineSeconds", Int(spec, "startingDeadlineSeconds"));
  if (old == nullptr || !SemEq(spec, ospec, "timeZone")) ValidateTimeZone(spec, errs);
  std::string_view policy = Str(spec, "concurrencyPolicy");
  if (policy.empty()) {
    errs.push_back(Required("spec.concurrencyPolicy", ""));
  } else if (policy != "Allow" && policy != "Forbid" && policy != "Replace") {
    errs.push_back(NotSupported("spec.concurrencyPolicy", policy, {"Allow", "Forbid", "Replace"}));
  }
  const bj::object* job_spec = Obj(Obj(spec, "jobTemplate"), "spec");
  ValidateJobSpecCommon(job_spec, "spec.jobTemplate.spec", errs);
  if (const bj::value* sel = Get(job_spec, "selector")) {
    errs.push_back(InvalidGo("spec.jobTemplate.spec.selector", GoSelector(sel), "`selector` will be auto-generated"));
  }
  if (Bool(job_spec, "manualSelector")) {
    errs.push_back(api::NotSupported("spec.jobTemplate.spec.manualSelector", bj::value(true), {"nil", "false"}));
  }
  NonNegative(errs, "spec.successfulJobsHistoryLimit", Int(spec, "successfulJobsHistoryLimit"));
  NonNegative(errs, "spec.failedJobsHistoryLimit", Int(spec, "failedJobsHistoryLimit"));
  // Jobs are named <cronjob>-<11 characters>; names are DNS labels.
  if (std::string_view name = api::Name(obj); old == nullptr && name.size() > 52) {
    errs.push_back(InvalidStr("metadata.name", name, "must be no more than 52 characters"));
  }
}

// ----------------------------------------------------------- config objects

// The decoded size of base64 data (estimated when it does not decode).
size_t DecodedSize(const bj::value& v) {
  std::string text = StrOf(v);
  auto d = Base64Decode(text);
  return d.ok() ? d->size() : text.size() * 3 / 4;
}

void CheckImmutableData(const bj::object& obj, const bj::object* old, std::initializer_list<std::string_view> fields,
                        Errs& errs) {
  if (old == nullptr || !Bool(old, "immutable")) return;
  if (!Bool(&obj, "immutable")) errs.push_back(Forbidden("immutable", "field is immutable when `immutable` is set"));
  for (std::string_view f : fields) {
    if (!SemEq(&obj, old, f)) errs.push_back(Forbidden(std::string(f), "field is immutable when `immutable` is set"));
  }
}

void ValidateConfigMap(const bj::object& cm, const bj::object* old, Errs& errs) {
  CheckImmutableData(cm, old, {"data", "binaryData"}, errs);
  const bj::object* data = Obj(&cm, "data");
  const bj::object* binary = Obj(&cm, "binaryData");
  size_t total = 0;
  for (const auto& [k, v] : Sorted(data)) {
    Msgs(errs, Key("data", k), k, ConfigMapKeyErrors(k));
    if (Has(binary, k)) errs.push_back(InvalidStr(Key("data", k), k, "duplicate of key present in binaryData"));
    total += StrOf(*v).size();
  }
  for (const auto& [k, v] : Sorted(binary)) {
    Msgs(errs, Key("binaryData", k), k, ConfigMapKeyErrors(k));
    total += DecodedSize(*v);
  }
  // The path of the whole object renders as "[]".
  if (total > 1024 * 1024) errs.push_back(TooLongBytes("[]", 1024 * 1024));
}

// The JSON error Go's encoding/json reports for dockercfg contents, roughly.
std::string JSONMapError(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec) {
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return "unexpected end of JSON input";
    return "invalid character '" + std::string(1, text[first]) + "' looking for beginning of value";
  }
  if (v.is_object() || v.is_null()) return "";
  std::string kind = v.is_array() ? "array" : v.is_string() ? "string" : v.is_bool() ? "bool" : "number";
  return "json: cannot unmarshal " + kind + " into Go value of type map[string]interface {}";
}

void ValidateSecret(const bj::object& secret, const bj::object* old, Errs& errs) {
  if (old != nullptr && Str(&secret, "type") != Str(old, "type")) {
    errs.push_back(InvalidStr("type", Str(&secret, "type"), kImmutable));
  }
  CheckImmutableData(secret, old, {"data"}, errs);
  // stringData is merged into data before validation upstream.
  std::map<std::string, std::string> data;
  for (const auto& [k, v] : Sorted(Obj(&secret, "data"))) {
    auto d = Base64Decode(StrOf(*v));
    data[k] = d.ok() ? *d : std::string(DecodedSize(*v), '\0');
  }
  for (const auto& [k, v] : Sorted(Obj(&secret, "stringData"))) data[k] = StrOf(*v);
  size_t total = 0;
  for (const auto& [k, v] : data) {
    Msgs(errs, Key("data", k), k, ConfigMapKeyErrors(k));
    total += v.size();
  }
  if (total > 1024 * 1024) errs.push_back(TooLongBytes("data", 1024 * 1024));
  std::string_view type = Str(&secret, "type");
  auto require = [&](std::string_view key) {
    if (!data.contains(std::string(key))) errs.push_back(Required(Key("data", key), ""));
    return data.contains(std::string(key));
  };
  if (type == "kubernetes.io/service-account-token") {
    if (Str(Obj(Obj(&secret, "metadata"), "annotations"), "kubernetes.io/service-account.name").empty()) {
      errs.push_back(Required("metadata.annotations[kubernetes.io/service-account.name]", ""));
    }
  } else if (type == "kubernetes.io/dockercfg" || type == "kubernetes.io/dockerconfigjson") {
    std::string key = type == "kubernetes.io/dockercfg" ? ".dockercfg" : ".dockerconfigjson";
    if (require(key)) {
      if (std::string err = JSONMapError(data[key]); !err.empty()) {
        errs.push_back(InvalidStr(Key("data", key), "<secret contents redacted>", err));
      }
    }
  } else if (type == "kubernetes.io/basic-auth") {
    if (!data.contains("username") && !data.contains("password")) {
      errs.push_back(Required("data[username]", ""));
      errs.push_back(Required("data[password]", ""));
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (data["ssh-privatekey"].empty()) errs.push_back(Required("data[ssh-privatekey]", ""));
  } else if (type == "kubernetes.io/tls") {
    require("tls.crt");
    require("tls.key");
  }
}

void CheckFinalizerName(Errs& errs, const std::string& path, std::string_view f) {
  CheckQualified(errs, path, f);
  if (f.find('/') == std::string_view::npos && f != "kubernetes" && f != "orphan" && f != "foregroundDeletion") {
    errs.push_back(InvalidStr(path, f, "name is neither a standard finalizer name nor is it fully qualified"));
  }
}

void ValidateNamespace(const bj::object& ns, const bj::object* old, Errs& errs) {
  for (const auto& f : StrList(Arr(Obj(&ns, "spec"), "finalizers"))) CheckFinalizerName(errs, "spec.finalizers", f);
  // Status updates (the only way status changes).
  if (old != nullptr && !SemEq(&ns, old, "status")) {
    std::string_view phase = Str(Obj(&ns, "status"), "phase");
    if (!Has(Obj(&ns, "metadata"), "deletionTimestamp")) {
      if (phase != "Active")
        errs.push_back(InvalidStr("status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty"));
    } else if (phase != "Terminating") {
      errs.push_back(
          InvalidStr("status.Phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
    }
  }
}

void ValidateNode(const bj::object& node, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&node, "spec");
  // Upstream reports taints under metadata.taints.
  std::map<std::string, std::set<std::string>> seen;
  ForEach(Arr(spec, "taints"), [&](size_t i, const bj::object& t) {
    std::string p = Idx("metadata.taints", i);
    std::string key(Str(&t, "key"));
    std::string effect(Str(&t, "effect"));
    CheckQualified(errs, Child(p, "key"), key);
    Strings msgs = api::IsValidLabelValue(Str(&t, "value"));
    if (!msgs.empty()) {
      std::string joined;
      for (const auto& m : msgs) joined += (joined.empty() ? "" : ";") + m;
      errs.push_back(InvalidStr(Child(p, "value"), Str(&t, "value"), joined));
    }
    CheckTaintEffect(errs, Child(p, "effect"), effect, false);
    if (!seen[effect].insert(key).second) {
      errs.push_back(WithValue(FieldError::Type::kDuplicate, p,
                               "core.Taint{Key:" + Quote(key) + ", Value:" + Quote(Str(&t, "value")) +
                                   ", Effect:" + Quote(effect) + ", TimeAdded:<nil>}",
                               "taints must be unique by key and effect pair"));
    }
  });
  for (std::string_view list : {"capacity", "allocatable"}) {
    for (const auto& [r, v] : Sorted(Obj(Obj(&node, "status"), list))) {
      std::string p = Child(Child("status", list), r);
      if (auto q = QuantityAt(v, p, errs)) CheckResourceQuantity(errs, p, r, *q);
    }
  }
  Strings cidrs = StrList(Arr(spec, "podCIDRs"));
  for (size_t i = 0; i < cidrs.size(); ++i) CheckCIDR(errs, Idx("spec.podCIDRs", i), cidrs[i]);
  if (cidrs.size() > 1) {
    auto a = ParseCIDR(cidrs[0]);
    auto b = ParseCIDR(cidrs[1]);
    if (cidrs.size() > 2 || (a && b && a->ip.v4 == b->ip.v4)) {
      errs.push_back(
          InvalidGo("spec.podCIDRs", GoStrings(cidrs), "may specify no more than one CIDR for each IP family"));
    }
    std::set<std::string> uniq;
    for (size_t i = 0; i < cidrs.size(); ++i) {
      if (!uniq.insert(cidrs[i]).second) errs.push_back(Duplicate(Idx("spec.podCIDRs", i), cidrs[i]));
    }
  }
  if (old == nullptr) return;
  const bj::object* ospec = Obj(old, "spec");
  Strings old_cidrs = StrList(Arr(ospec, "podCIDRs"));
  constexpr std::string_view kCIDRChange = "node updates may not change podCIDR except from \"\" to valid";
  if (!old_cidrs.empty() && old_cidrs.size() != cidrs.size()) {
    errs.push_back(Forbidden("spec.podCIDRs", std::string(kCIDRChange)));
  } else {
    for (size_t i = 0; i < old_cidrs.size(); ++i) {
      if (old_cidrs[i] != cidrs[i]) errs.push_back(Forbidden("spec.podCIDRs", std::string(kCIDRChange)));
    }
  }
  if (!Str(ospec, "providerID").empty() && Str(ospec, "providerID") != Str(spec, "providerID")) {
    errs.push_back(Forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid"));
  }
}

// ------------------------------------------------------------------ Service

std::string GoServicePortKey(std::string_view protocol, int64_t port) {
  return "core.ServicePort{Name:\"\", Protocol:" + Quote(protocol) +
         ", AppProtocol:(*string)(nil), Port:" + std::to_string(port) +
         ", TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}";
}

// The clusterIPs of a Service (upstream syncs clusterIP into clusterIPs first).
Strings ClusterIPs(const bj::object* spec) {
  Strings ips = StrList(Arr(spec, "clusterIPs"));
  if (ips.empty() && !Str(spec, "clusterIP").empty()) ips.emplace_back(Str(spec, "clusterIP"));
  return ips;
}

void ValidateServiceUpdate(const bj::object* spec, const bj::object* ospec, Errs& errs) {
  std::string_view type = Str(spec, "type");
  std::string_view old_type = Str(ospec, "type");
  if (type != "ExternalName" && old_type != "ExternalName") {
    Strings ips = ClusterIPs(spec);
    Strings old_ips = ClusterIPs(ospec);
    for (size_t i = 0; i < 2; ++i) {
      if (ips.size() > i && old_ips.size() > i && ips[i] != old_ips[i]) {
        errs.push_back(InvalidGo(Idx("spec.clusterIPs", i), GoStrings(ips), "may not change once set"));
      }
    }
    if (!old_ips.empty() && ips.empty()) {
      errs.push_back(InvalidGo("spec.clusterIPs[0]", "[]string{}", "primary clusterIP can not be unset"));
    }
    Strings families = StrList(Arr(spec, "ipFamilies"));
    Strings old_families = StrList(Arr(ospec, "ipFamilies"));
    for (size_t i = 0; i < 2 && !old_families.empty(); ++i) {
      if (families.size() > i && old_families.size() > i && families[i] != old_families[i]) {
        errs.push_back(InvalidGo(Idx("spec.ipFamilies", i), GoStrSlice(Get(spec, "ipFamilies"), "[]core.IPFamily"),
                                 "may not change once set"));
      }
    }
  }
  if (type == "LoadBalancer" && old_type == "LoadBalancer" && !SemEq(spec, ospec, "loadBalancerClass")) {
    const bj::value* cls = Get(spec, "loadBalancerClass");
    errs.push_back(InvalidGo("spec.loadBalancerClass", cls != nullptr ? Quote(StrOf(*cls)) : "\"null\"",
                             "may not change once set"));
  }
  bool needs = type == "LoadBalancer" && Str(spec, "externalTrafficPolicy") == "Local";
  bool needed = old_type == "LoadBalancer" && Str(ospec, "externalTrafficPolicy") == "Local";
  auto hc = Int(spec, "healthCheckNodePort");
  auto old_hc = Int(ospec, "healthCheckNodePort");
  if (needs && needed && hc && old_hc && *hc != *old_hc)
    errs.push_back(Forbidden("spec.healthCheckNodePort", std::string(kImmutable)));
}

void ValidateService(const bj::object& svc, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&svc, "spec");
  if (old != nullptr) ValidateServiceUpdate(spec, Obj(old, "spec"), errs);
  std::string_view type = Str(spec, "type");
  Strings ips = ClusterIPs(spec);
  bool headless = Str(spec, "clusterIP") == "None" || (!ips.empty() && ips[0] == "None");
  const bj::array* ports = Arr(spec, "ports");
  if (Size(ports) == 0 && !headless && type != "ExternalName") errs.push_back(Required("spec.ports", ""));
  if ((type == "LoadBalancer" || type == "NodePort") && headless) {
    errs.push_back(
        InvalidStr("spec.clusterIPs[0]", ips[0], "may not be set to 'None' for " + std::string(type) + " services"));
  }
  if (type == "LoadBalancer") {
    ForEach(ports, [&](size_t i, const bj::object& p) {
      if (Int(&p, "port").value_or(0) == 10250) {
        errs.push_back(InvalidInt(Idx("spec.ports", i), 10250,
                                  "may not expose port 10250 externally since it is used by kubelet"));
      }
    });
  } else if (type == "ExternalName") {
    if (!ips.empty()) errs.push_back(Forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    if (Size(Arr(spec, "ipFamilies")) > 0)
      errs.push_back(Forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
    if (Has(spec, "ipFamilyPolicy"))
      errs.push_back(Forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
    std::string cname(Str(spec, "externalName"));
    if (!cname.empty() && cname.back() == '.') cname.pop_back();
    if (cname.empty()) {
      errs.push_back(Required("spec.externalName", ""));
    } else {
      CheckSubdomain(errs, "spec.externalName", cname);
    }
  }
  std::set<std::string> port_names;
  ForEach(ports, [&](size_t i, const bj::object& port) {
    std::string p = Idx("spec.ports", i);
    std::string name(Str(&port, "name"));
    if (Size(ports) > 1 && name.empty()) {
      errs.push_back(Required(Child(p, "name"), ""));
    } else if (!name.empty()) {
      CheckLabel(errs, Child(p, "name"), name);
      if (!port_names.insert(name).second) errs.push_back(Duplicate(Child(p, "name"), name));
    }
    CheckPortNum(errs, Child(p, "port"), Int(&port, "port").value_or(0));
    std::string_view protocol = Str(&port, "protocol");
    if (protocol.empty()) {
      errs.push_back(Required(Child(p, "protocol"), ""));
    } else if (protocol != "SCTP" && protocol != "TCP" && protocol != "UDP") {
      errs.push_back(NotSupported(Child(p, "protocol"), protocol, {"SCTP", "TCP", "UDP"}));
    }
    CheckPortNumOrName(errs, Child(p, "targetPort"), Get(&port, "targetPort"));
    if (const bj::value* ap = Get(&port, "appProtocol")) CheckQualified(errs, Child(p, "appProtocol"), StrOf(*ap));
  });
  ValidateLabels(Obj(spec, "selector"), "spec.selector", errs);
  std::string_view affinity = Str(spec, "sessionAffinity");
  if (affinity.empty()) {
    errs.push_back(Required("spec.sessionAffinity", ""));
  } else if (affinity != "ClientIP" && affinity != "None") {
    errs.push_back(NotSupported("spec.sessionAffinity", affinity, {"ClientIP", "None"}));
  }
  const bj::object* sac = Obj(spec, "sessionAffinityConfig");
  if (affinity == "ClientIP") {
    const char* detail = "when session affinity type is ClientIP";
    if (sac == nullptr) {
      errs.push_back(Required("spec.sessionAffinityConfig", detail));
    } else if (!Has(sac, "clientIP")) {
      errs.push_back(Required("spec.sessionAffinityConfig.clientIP", detail));
    } else if (auto t = Int(Obj(sac, "clientIP"), "timeoutSeconds"); !t) {
      errs.push_back(Required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", detail));
    } else if (*t <= 0 || *t > 86400) {
      errs.push_back(InvalidInt("spec.sessionAffinityConfig.clientIP.timeoutSeconds", *t,
                                "must be greater than 0 and less than 86400"));
    }
  } else if (affinity == "None" && sac != nullptr) {
    errs.push_back(Forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
  }
  // Cluster IPs and IP families (ExternalName was checked above).
  if (type != "ExternalName") {
    std::string_view cluster_ip = Str(spec, "clusterIP");
    if (!cluster_ip.empty() && !ips.empty() && ips[0] != cluster_ip) {
      errs.push_back(InvalidGo("spec.clusterIPs", GoStrings(ips), "first value must match `clusterIP`"));
    }
    Strings families = StrList(Arr(spec, "ipFamilies"));
    std::set<std::string> seen_families;
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] != "IPv4" && families[i] != "IPv6") {
        errs.push_back(NotSupported(Idx("spec.ipFamilies", i), families[i], {"IPv4", "IPv6"}));
      }
      if (!seen_families.insert(families[i]).second) errs.push_back(Duplicate(Idx("spec.ipFamilies", i), families[i]));
    }
    if (const bj::value* policy = Get(spec, "ipFamilyPolicy")) {
      std::string pol = StrOf(*policy);
      if (pol != "SingleStack" && pol != "PreferDualStack" && pol != "RequireDualStack") {
        errs.push_back(
            NotSupported("spec.ipFamilyPolicy", pol, {"PreferDualStack", "RequireDualStack", "SingleStack"}));
      }
    }
    bool bad_ips = false;
    for (size_t i = 0; i < ips.size(); ++i) {
      if (i == 0 && ips[0] == "None") {
        if (ips.size() > 1) {
          bad_ips = true;
          errs.push_back(InvalidGo("spec.clusterIPs", GoStrings(ips), "'None' must be the first and only value"));
        }
        continue;
      }
      if (!ParseIP(ips[i])) {
        bad_ips = true;
        errs.push_back(InvalidStr(Idx("spec.clusterIPs", i), ips[i], kIPError));
      }
    }
    if (ips.size() > 2) errs.push_back(InvalidGo("spec.clusterIPs", GoStrings(ips), "may only hold up to 2 values"));
    if (!bad_ips) {
      if (ips.size() > 1 && ParseIP(ips[0])->v4 == ParseIP(ips[1])->v4) {
        errs.push_back(
            InvalidGo("spec.clusterIPs", GoStrings(ips), "may specify no more than one IP for each IP family"));
      }
      for (size_t i = 0; !headless && i < ips.size() && i < families.size(); ++i) {
        bool v6 = ips[i].find(':') != std::string::npos;
        if (families[i] == "IPv4" && v6) {
          errs.push_back(InvalidStr(Idx("spec.clusterIPs", i), ips[i],
                                    "expected an IPv4 value as indicated by `ipFamilies[" + std::to_string(i) + "]`"));
        } else if (families[i] == "IPv6" && !v6) {
          errs.push_back(InvalidStr(Idx("spec.clusterIPs", i), ips[i],
                                    "expected an IPv6 value as indicated by `ipFamilies[" + std::to_string(i) + "]`"));
        }
      }
    }
  }
  Strings external_ips = StrList(Arr(spec, "externalIPs"));
  for (size_t i = 0; i < external_ips.size(); ++i) {
    if (!ParseIP(external_ips[i])) {
      errs.push_back(InvalidStr(Idx("spec.externalIPs", i), external_ips[i], kIPError));
    } else {
      CheckNonSpecialIP(errs, Idx("spec.externalIPs", i), external_ips[i]);
    }
  }
  if (type.empty()) {
    errs.push_back(Required("spec.type", ""));
  } else if (type != "ClusterIP" && type != "ExternalName" && type != "LoadBalancer" && type != "NodePort") {
    errs.push_back(NotSupported("spec.type", type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
  }
  if (type == "ClusterIP") {
    ForEach(ports, [&](size_t i, const bj::object& p) {
      if (Int(&p, "nodePort").value_or(0) != 0) {
        errs.push_back(
            Forbidden(Child(Idx("spec.ports", i), "nodePort"), "may not be used when `type` is 'ClusterIP'"));
      }
    });
  }
  std::set<std::pair<std::string, int64_t>> node_ports;
  std::set<std::pair<std::string, int64_t>> port_keys;
  ForEach(ports, [&](size_t i, const bj::object& p) {
    int64_t np = Int(&p, "nodePort").value_or(0);
    if (np != 0 && !node_ports.emplace(Str(&p, "protocol"), np).second) {
      errs.push_back(api::Duplicate(Child(Idx("spec.ports", i), "nodePort"), bj::value(np)));
    }
  });
  ForEach(ports, [&](size_t i, const bj::object& p) {
    int64_t port = Int(&p, "port").value_or(0);
    if (!port_keys.emplace(Str(&p, "protocol"), port).second) {
      errs.push_back(WithValue(FieldError::Type::kDuplicate, Idx("spec.ports", i),
                               GoServicePortKey(Str(&p, "protocol"), port), ""));
    }
  });
  Strings ranges = StrList(Arr(spec, "loadBalancerSourceRanges"));
  if (!ranges.empty()) {
    // Upstream's path capitalizes this field.
    if (type != "LoadBalancer") {
      errs.push_back(Forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"));
    }
    for (size_t i = 0; i < ranges.size(); ++i) {
      std::string r = ranges[i];
      r.erase(0, r.find_first_not_of(" \t"));
      r.erase(r.find_last_not_of(" \t") + 1);
      CheckCIDR(errs, Idx("spec.LoadBalancerSourceRanges", i), r);
    }
  }
  if (Has(spec, "allocateLoadBalancerNodePorts") && type != "LoadBalancer") {
    errs.push_back(Forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
  }
  if (type == "LoadBalancer" && !Has(spec, "allocateLoadBalancerNodePorts")) {
    errs.push_back(Required("allocateLoadBalancerNodePorts", ""));
  }
  if (const bj::value* cls = Get(spec, "loadBalancerClass")) {
    if (type != "LoadBalancer") {
      errs.push_back(Forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"));
    } else {
      CheckQualified(errs, "spec.loadBalancerClass", StrOf(*cls));
    }
  }
  bool external = type == "LoadBalancer" || type == "NodePort" || (type == "ClusterIP" && !external_ips.empty());
  std::string_view etp = Str(spec, "externalTrafficPolicy");
  if (!external) {
    if (!etp.empty())
      errs.push_back(
          InvalidStr("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"));
  } else if (!etp.empty() && etp != "Cluster" && etp != "Local") {
    errs.push_back(NotSupported("spec.externalTrafficPolicy", etp, {"Cluster", "Local"}));
  }
  auto hc = Int(spec, "healthCheckNodePort").value_or(0);
  if (!(type == "LoadBalancer" && etp == "Local")) {
    if (hc != 0) {
      errs.push_back(
          InvalidInt("spec.healthCheckNodePort", hc,
                     "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    }
  } else if (hc != 0) {
    CheckPortNum(errs, "spec.healthCheckNodePort", hc);
  }
  if (const bj::value* itp = Get(spec, "internalTrafficPolicy")) {
    std::string policy = StrOf(*itp);
    if (policy != "Cluster" && policy != "Local")
      errs.push_back(NotSupported("spec.internalTrafficPolicy", policy, {"Cluster", "Local"}));
  }
  if (const bj::value* td = Get(spec, "trafficDistribution"); td != nullptr && StrOf(*td) != "PreferClose") {
    errs.push_back(NotSupported("spec.trafficDistribution", StrOf(*td), {"PreferClose"}));
  }
}

// ----------------------------------------------- other core kinds

void ValidateEndpoints(const bj::object& ep, const bj::object*, Errs& errs) {
  ForEach(Arr(&ep, "subsets"), [&](size_t i, const bj::object& ss) {
    std::string p = Idx("subsets", i);
    if (Size(Arr(&ss, "addresses")) == 0 && Size(Arr(&ss, "notReadyAddresses")) == 0) {
      errs.push_back(Required(p, "must specify `addresses` or `notReadyAddresses`"));
    }
    for (std::string_view list : {"addresses", "notReadyAddresses"}) {
      ForEach(Arr(&ss, list), [&](size_t j, const bj::object& a) {
        std::string ap = Idx(Child(p, list), j);
        std::string_view ip = Str(&a, "ip");
        if (!ParseIP(ip)) {
          errs.push_back(InvalidStr(Child(ap, "ip"), ip, kIPError));
        } else {
          CheckNonSpecialIP(errs, Child(ap, "ip"), ip);
        }
        if (std::string_view h = Str(&a, "hostname"); !h.empty()) CheckLabel(errs, Child(ap, "hostname"), h);
        if (const bj::value* n = Get(&a, "nodeName")) CheckSubdomain(errs, Child(ap, "nodeName"), StrOf(*n));
      });
    }
    const bj::array* ports = Arr(&ss, "ports");
    ForEach(ports, [&](size_t j, const bj::object& port) {
      std::string pp = Idx(Child(p, "ports"), j);
      std::string_view name = Str(&port, "name");
      if (Size(ports) > 1 && name.empty()) {
        errs.push_back(Required(Child(pp, "name"), ""));
      } else if (!name.empty()) {
        CheckLabel(errs, Child(pp, "name"), name);
      }
      CheckPortNum(errs, Child(pp, "port"), Int(&port, "port").value_or(0));
      std::string_view protocol = Str(&port, "protocol");
      if (protocol.empty()) {
        errs.push_back(Required(Child(pp, "protocol"), ""));
      } else if (protocol != "SCTP" && protocol != "TCP" && protocol != "UDP") {
        errs.push_back(NotSupported(Child(pp, "protocol"), protocol, {"SCTP", "TCP", "UDP"}));
      }
      if (const bj::value* ap = Get(&port, "appProtocol")) CheckQualified(errs, Child(pp, "appProtocol"), StrOf(*ap));
    });
  });
}

// Events: core/v1 gets the legacy checks only; events.k8s.io/v1 (fields
// renamed: regarding, note, reportingController, deprecated*) also the strict ones.
void ValidateEvent(const bj::object& ev, const bj::object* old, bool events_api, Errs& errs) {
  auto field = [&](std::string_view core, std::string_view events) { return events_api ? events : core; };
  std::string_view ns = api::Namespace(ev);
  std::string_view involved_ns = Str(Obj(&ev, field("involvedObject", "regarding")), "namespace");
  std::string controller_field(field("reportingComponent", "reportingController"));
  if (!Has(&ev, "eventTime")) {
    bool ok = involved_ns.empty() ? (ns.empty() || ns == "default") : ns == involved_ns;
    if (!ok) errs.push_back(InvalidStr("involvedObject.namespace", involved_ns, "does not match event.namespace"));
  } else {
    if (involved_ns.empty() && ns != "default" && ns != "kube-system") {
      errs.push_back(InvalidStr("involvedObject.namespace", involved_ns, "does not match event.namespace"));
    }
    std::string_view controller = Str(&ev, controller_field);
    if (controller.empty()) errs.push_back(Required(controller_field, ""));
    CheckQualified(errs, controller_field, controller);
    for (auto [name, limit] :
         {std::pair<std::string_view, size_t>{"reportingInstance", 128}, {"action", 128}, {"reason", 128}}) {
      std::string_view v = Str(&ev, name);
      if (v.empty()) errs.push_back(Required(std::string(name), ""));
      if (v.size() > limit)
        errs.push_back(InvalidStr(std::string(name), "", "can have at most " + std::to_string(limit) + " characters"));
    }
    if (Str(&ev, field("message", "note")).size() > 1024) {
      errs.push_back(InvalidStr("message", "", "can have at most 1024 characters"));
    }
  }
  if (!events_api) return;
  if (old == nullptr) {
    if (!Has(&ev, "eventTime")) errs.push_back(Required("eventTime", ""));
    std::string_view type = Str(&ev, "type");
    if (type != "Normal" && type != "Warning")
      errs.push_back(InvalidStr("type", "", "has invalid value: " + std::string(type)));
    for (std::string_view f : {"deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"}) {
      if (Has(&ev, f) && !(f == "deprecatedCount" && Int(&ev, f) == 0))
        errs.push_back(InvalidStr(std::string(f), "", "needs to be unset"));
    }
    const bj::object* source = Obj(&ev, "deprecatedSource");
    if (!Str(source, "component").empty() || !Str(source, "host").empty()) {
      errs.push_back(InvalidStr("deprecatedSource", "", "needs to be unset"));
    }
  } else {
    for (auto [f, path] :
         {std::pair<std::string_view, std::string_view>{"reason", "reason"}, {"note", "message"}, {"type", "type"}}) {
      if (!SemEq(&ev, old, f)) errs.push_back(InvalidStr(std::string(path), Str(&ev, f), kImmutable));
    }
  }
  if (const bj::object* series = Obj(&ev, "series")) {
    if (Int(series, "count").value_or(0) < 2) {
      errs.push_back(InvalidInt("series.count", Int(series, "count").value_or(0), "should be at least 2"));
    }
    if (!Has(series, "lastObservedTime")) errs.push_back(Required("series.lastObservedTime", ""));
  }
}

void ValidateResourceQuota(const bj::object& rq, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&rq, "spec");
  for (const auto& [r, v] : Sorted(Obj(spec, "hard"))) {
    std::string p = Key("spec.hard", r);
    CheckResourceName(errs, p, r);
    if (r.find('/') == std::string::npos && !IsStandardQuotaResource(r)) {
      errs.push_back(InvalidStr(p, r, "must be a standard resource for quota"));
    }
    if (auto q = QuantityAt(v, p, errs)) CheckResourceQuantity(errs, p, r, *q);
  }
  Strings scopes = StrList(Arr(spec, "scopes"));
  std::string go_scopes = GoStrSlice(Get(spec, "scopes"), "[]core.ResourceQuotaScope");
  static const std::set<std::string> kScopes = {"Terminating",   "NotTerminating", "BestEffort",
                                                "NotBestEffort", "PriorityClass",  "CrossNamespacePodAffinity"};
  for (const auto& scope : scopes) {
    if (!kScopes.contains(scope)) errs.push_back(InvalidGo("spec.scopes", go_scopes, "unsupported scope"));
    for (const auto& [r, v] : Sorted(Obj(spec, "hard"))) {
      if (!IsStandardQuotaResource(r)) continue;
      bool pods = r == "pods";
      bool compute = r == "cpu" || r == "memory" || r == "limits.cpu" || r == "limits.memory" || r == "requests.cpu" ||
                     r == "requests.memory";
      bool ok = scope == "BestEffort" ? pods : (!kScopes.contains(scope) || pods || compute);
      if (!ok) errs.push_back(InvalidGo("spec.scopes", go_scopes, "unsupported scope applied to resource"));
    }
  }
  std::set<std::string> set(scopes.begin(), scopes.end());
  if ((set.contains("BestEffort") && set.contains("NotBestEffort")) ||
      (set.contains("Terminating") && set.contains("NotTerminating"))) {
    errs.push_back(InvalidGo("spec.scopes", go_scopes, "conflicting scopes"));
  }
  if (old != nullptr && !SemEq(spec, Obj(old, "spec"), "scopes"))
    errs.push_back(InvalidGo("spec.scopes", go_scopes, kImmutable));
}

void ValidateLimitRange(const bj::object& lr, const bj::object*, Errs& errs) {
  std::set<std::string> types;
  ForEach(Arr(Obj(&lr, "spec"), "limits"), [&](size_t i, const bj::object& limit) {
    std::string p = Idx("spec.limits", i);
    std::string type(Str(&limit, "type"));
    size_t before = errs.size();
    CheckQualified(errs, Child(p, "type"), type);
    if (errs.size() == before && type.find('/') == std::string::npos && type != "Pod" && type != "Container" &&
        type != "PersistentVolumeClaim") {
      errs.push_back(InvalidStr(Child(p, "type"), type, "must be a standard limit type or fully qualified"));
    }
    if (!types.insert(type).second) errs.push_back(Duplicate(Child(p, "type"), type));
    std::map<std::string, std::map<std::string, Quantity>> values;  // field -> resource -> quantity
    std::set<std::string> keys;
    auto collect = [&](std::string_view f) {
      for (const auto& [r, v] : Sorted(Obj(&limit, f))) {
        std::string rp = Key(Child(p, f), r);
        if (type == "Pod" || type == "Container") {
          CheckContainerResourceName(errs, rp, r);
        } else {
          CheckResourceName(errs, rp, r);
        }
        keys.insert(r);
        if (auto q = QuantityAt(v, rp, errs)) values[std::string(f)][r] = *q;
      }
    };
    collect("max");
    collect("min");
    if (type == "Pod") {
      for (std::string_view f : {"default", "defaultRequest"}) {
        if (Size(Obj(&limit, f)) > 0)
          errs.push_back(Forbidden(Child(p, f), "may not be specified when `type` is 'Pod'"));
      }
    } else {
      collect("default");
      collect("defaultRequest");
    }
    if (type == "PersistentVolumeClaim" && !Has(Obj(&limit, "min"), "storage") && !Has(Obj(&limit, "max"), "storage")) {
      errs.push_back(Required(Child(p, "limits"),
                              "either minimum or maximum storage value is required, but neither was provided"));
    }
    collect("maxLimitRequestRatio");
    for (const auto& k : keys) {
      auto get = [&](const char* f) -> const Quantity* {
        auto it = values[f].find(k);
        return it != values[f].end() ? &it->second : nullptr;
      };
      const Quantity* min = get("min");
      const Quantity* max = get("max");
      const Quantity* def = get("default");
      const Quantity* req = get("defaultRequest");
      const Quantity* ratio = get("maxLimitRequestRatio");
      auto fail = [&](const char* f, const Quantity& v, const std::string& msg) {
        errs.push_back(InvalidStr(Key(Child(p, f), k), v.String(), msg));
      };
      if (min && max && *min > *max)
        fail("min", *min, "min value " + min->String() + " is greater than max value " + max->String());
      if (req && min && *min > *req) {
        fail("defaultRequest", *req,
             "min value " + min->String() + " is greater than default request value " + req->String());
      }
      if (req && max && *req > *max) {
        fail("defaultRequest", *req,
             "default request value " + req->String() + " is greater than max value " + max->String());
      }
      if (req && def && *req > *def) {
        fail("defaultRequest", *req,
             "default request value " + req->String() + " is greater than default limit value " + def->String());
      }
      if (def && min && *min > *def)
        fail("default", *min, "min value " + min->String() + " is greater than default value " + def->String());
      if (def && max && *def > *max)
        fail("default", *max, "default value " + def->String() + " is greater than max value " + max->String());
      if (ratio && *ratio < Quantity::FromInt(1))
        fail("maxLimitRequestRatio", *ratio, "ratio " + ratio->String() + " is less than 1");
      if (!IsOvercommitAllowed(k) && def && req && *def != *req) {
        fail("defaultRequest", *req,
             "default value " + def->String() + " must equal to defaultRequest value " + req->String() + " in " + k);
      }
    }
  });
}

const char* const kPVSources[] = {"hostPath",
                                  "gcePersistentDisk",
                                  "awsElasticBlockStore",
                                  "glusterfs",
                                  "flocker",
                                  "nfs",
                                  "rbd",
                                  "quobyte",
                                  "cephfs",
                                  "iscsi",
                                  "cinder",
                                  "fc",
                                  "flexVolume",
                                  "azureFile",
                                  "vsphereVolume",
                                  "photonPersistentDisk",
                                  "portworxVolume",
                                  "azureDisk",
                                  "scaleIO",
                                  "local",
                                  "storageos",
                                  "csi"};

const Strings kAccessModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"};

void CheckAccessModes(const bj::object* spec, Errs& errs) {
  bool rwop = false;
  bool other = false;
  for (const auto& mode : StrList(Arr(spec, "accessModes"))) {
    if (std::find(kAccessModes.begin(), kAccessModes.end(), mode) == kAccessModes.end()) {
      errs.push_back(NotSupported("spec.accessModes", mode, kAccessModes));
    } else if (mode == "ReadWriteOncePod") {
      rwop = true;
    } else {
      other = true;
    }
  }
  if (rwop && other)
    errs.push_back(Forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes"));
}

void CheckVolumeMode(const bj::object* spec, Errs& errs) {
  if (const bj::value* m = Get(spec, "volumeMode"); m != nullptr && StrOf(*m) != "Block" && StrOf(*m) != "Filesystem") {
    errs.push_back(NotSupported("spec.volumeMode", StrOf(*m), {"Block", "Filesystem"}));
  }
}

void ValidatePersistentVolume(const bj::object& pv, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&pv, "spec");
  if (Size(Arr(spec, "accessModes")) == 0) errs.push_back(Required("spec.accessModes", ""));
  CheckAccessModes(spec, errs);
  const bj::object* capacity = Obj(spec, "capacity");
  if (Size(capacity) == 0) errs.push_back(Required("spec.capacity", ""));
  if (!Has(capacity, "storage") || Size(capacity) > 1) {
    errs.push_back(NotSupportedGo(
        "spec.capacity", capacity != nullptr ? "core.ResourceList{...}" : "core.ResourceList(nil)", {"storage"}));
  }
  for (const auto& [r, v] : Sorted(capacity)) {
    std::string p = Key("spec.capacity", r);
    if (auto q = QuantityAt(v, p, errs); q && q->Sign() <= 0) errs.push_back(InvalidStr(p, q->String(), kPositive));
  }
  if (std::string_view sc = Str(spec, "storageClassName"); !sc.empty())
    CheckSubdomain(errs, "spec.storageClassName", sc);
  CheckVolumeMode(spec, errs);
  if (std::string_view policy = Str(spec, "persistentVolumeReclaimPolicy");
      !policy.empty() && policy != "Delete" && policy != "Recycle" && policy != "Retain") {
    errs.push_back(NotSupported("spec.persistentVolumeReclaimPolicy", policy, {"Delete", "Recycle", "Retain"}));
  }
  int sources = 0;
  for (const char* kind : kPVSources) {
    const bj::object* src = Obj(spec, kind);
    if (src == nullptr) continue;
    std::string p = Child("spec", kind);
    if (sources++ > 0) {
      errs.push_back(Forbidden(p, "may not specify more than 1 volume type"));
    } else if (std::string_view(kind) == "local") {
      if (Str(src, "path").empty()) errs.push_back(Required(Child(p, "path"), ""));
      if (!Has(spec, "nodeAffinity"))
        errs.push_back(Required("spec.nodeAffinity", "Local volume requires node affinity"));
    } else if (std::string_view(kind) == "csi") {
      if (Str(src, "driver").empty()) errs.push_back(Required(Child(p, "driver"), ""));
      if (Str(src, "volumeHandle").empty()) errs.push_back(Required(Child(p, "volumeHandle"), ""));
    } else {
      ValidateVolumeSource(kind, *src, p, errs);
    }
  }
  if (sources == 0) errs.push_back(Required("spec", "must specify a volume type"));
  if (const bj::object* req = Obj(Obj(spec, "nodeAffinity"), "required")) {
    if (Size(Arr(req, "nodeSelectorTerms")) == 0) {
      errs.push_back(
          Required("spec.nodeAffinity.required.nodeSelectorTerms", "must have at least one node selector term"));
    }
    ForEach(Arr(req, "nodeSelectorTerms"), [&](size_t i, const bj::object& t) {
      ValidateNodeSelectorTerm(t, Idx("spec.nodeAffinity.required.nodeSelectorTerms", i), errs);
    });
  }
  if (old == nullptr) return;
  const bj::object* ospec = Obj(old, "spec");
  bj::object source;
  bj::object old_source;
  for (const char* kind : kPVSources) {
    if (const bj::value* v = Get(spec, kind)) source[kind] = *v;
    if (const bj::value* v = Get(ospec, kind)) old_source[kind] = *v;
  }
  bj::value a(source);
  bj::value b(old_source);
  if (!SemEq(&a, &b)) {
    errs.push_back(Forbidden(
        "spec.persistentvolumesource",
        "spec.persistentvolumesource is forbidden.\n" + SpecDiff(&old_source, source, "core.PersistentVolumeSource")));
  }
  if (!SemEq(spec, ospec, "volumeMode")) errs.push_back(InvalidStr("volumeMode", Str(spec, "volumeMode"), kImmutable));
}

void ValidatePersistentVolumeClaim(const bj::object& pvc, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&pvc, "spec");
  if (Size(Arr(spec, "accessModes")) == 0)
    errs.push_back(Required("spec.accessModes", "at least 1 access mode is required"));
  ValidateLabelSelector(Obj(spec, "selector"), "spec.selector", errs);
  CheckAccessModes(spec, errs);
  const bj::value* storage = Get(Obj(Obj(spec, "resources"), "requests"), "storage");
  if (storage == nullptr) {
    errs.push_back(Required("spec.resources[storage]", ""));
  } else if (auto q = QuantityAt(storage, "spec.resources[storage]", errs)) {
    if (q->Sign() <= 0) errs.push_back(InvalidStr("spec.resources[storage]", q->String(), kPositive));
  }
  if (std::string_view sc = Str(spec, "storageClassName"); !sc.empty())
    CheckSubdomain(errs, "spec.storageClassName", sc);
  CheckVolumeMode(spec, errs);
  if (old == nullptr) return;
  const bj::object* ospec = Obj(old, "spec");
  bj::object now = spec != nullptr ? *spec : bj::object();
  bj::object before = ospec != nullptr ? *ospec : bj::object();
  // volumeName may be set once; bound claims may change their storage request.
  for (bj::object* s : {&now, &before}) {
    if (Str(ospec, "volumeName").empty()) s->erase("volumeName");
    s->erase("volumeAttributesClassName");
  }
  if (Str(Obj(&pvc, "status"), "phase") == "Bound") {
    for (bj::object* s : {&now, &before}) {
      if (auto* res = s->if_contains("resources"); res != nullptr && res->is_object()) {
        if (auto* req = res->get_object().if_contains("requests"); req != nullptr && req->is_object()) {
          req->get_object().erase("storage");
        }
      }
    }
  }
  bj::value a(now);
  bj::value b(before);
  if (!SemEq(&a, &b)) {
    errs.push_back(
        Forbidden("spec",
                  "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound "
                  "claims\n" +
                      SpecDiff(&before, now, "core.PersistentVolumeClaimSpec")));
  }
  Errs ignored;
  auto size = QuantityAt(storage, "", ignored);
  auto old_size = QuantityAt(Get(Obj(Obj(ospec, "resources"), "requests"), "storage"), "", ignored);
  if (size && old_size && *size < *old_size) {
    errs.push_back(Forbidden("spec.resources.requests.storage", "field can not be less than previous value"));
  }
}

// -------------------------------------------------------------------- RBAC

void ValidatePolicyRules(const bj::object& role, bool namespaced, Errs& errs) {
  ForEach(Arr(&role, "rules"), [&](size_t i, const bj::object& rule) {
    std::string p = Idx("rules", i);
    if (Size(Arr(&rule, "verbs")) == 0)
      errs.push_back(Required(Child(p, "verbs"), "verbs must contain at least one value"));
    if (Size(Arr(&rule, "nonResourceURLs")) > 0) {
      std::string urls = GoStrSlice(Get(&rule, "nonResourceURLs"));
      if (namespaced) {
        errs.push_back(
            InvalidGo(Child(p, "nonResourceURLs"), urls, "namespaced rules cannot apply to non-resource URLs"));
      }
      if (Size(Arr(&rule, "apiGroups")) + Size(Arr(&rule, "resources")) + Size(Arr(&rule, "resourceNames")) > 0) {
        errs.push_back(InvalidGo(Child(p, "nonResourceURLs"), urls,
                                 "rules cannot apply to both regular resources and non-resource URLs"));
      }
      return;
    }
    if (Size(Arr(&rule, "apiGroups")) == 0) {
      errs.push_back(Required(Child(p, "apiGroups"), "resource rules must supply at least one api group"));
    }
    if (Size(Arr(&rule, "resources")) == 0) {
      errs.push_back(Required(Child(p, "resources"), "resource rules must supply at least one resource"));
    }
  });
}

void ValidateRole(const bj::object& role, const bj::object*, Errs& errs) { ValidatePolicyRules(role, true, errs); }

void ValidateClusterRole(const bj::object& role, const bj::object*, Errs& errs) {
  ValidatePolicyRules(role, false, errs);
  if (const bj::object* agg = Obj(&role, "aggregationRule")) {
    if (Size(Arr(agg, "clusterRoleSelectors")) == 0) {
      errs.push_back(Required("aggregationRule.clusterRoleSelectors",
                              "at least one clusterRoleSelector required if aggregationRule is non-nil"));
    }
    ForEach(Arr(agg, "clusterRoleSelectors"), [&](size_t i, const bj::object& sel) {
      ValidateLabelSelector(&sel, Idx("aggregationRule.clusterRoleSelectors", i), errs);
    });
  }
}

void ValidateBinding(const bj::object& binding, const bj::object* old, bool namespaced, Errs& errs) {
  const bj::object* ref = Obj(&binding, "roleRef");
  constexpr std::string_view kGroup = "rbac.authorization.k8s.io";
  if (Str(ref, "apiGroup") != kGroup)
    errs.push_back(NotSupported("roleRef.apiGroup", Str(ref, "apiGroup"), {std::string(kGroup)}));
  std::string_view kind = Str(ref, "kind");
  if (namespaced && kind != "Role" && kind != "ClusterRole") {
    errs.push_back(NotSupported("roleRef.kind", kind, {"Role", "ClusterRole"}));
  } else if (!namespaced && kind != "ClusterRole") {
    errs.push_back(NotSupported("roleRef.kind", kind, {"ClusterRole"}));
  }
  std::string_view name = Str(ref, "name");
  if (name.empty()) {
    errs.push_back(Required("roleRef.name", ""));
  } else {
    Msgs(errs, "roleRef.name", name, api::IsValidPathSegmentName(name));
  }
  ForEach(Arr(&binding, "subjects"), [&](size_t i, const bj::object& s) {
    std::string p = Idx("subjects", i);
    std::string_view sname = Str(&s, "name");
    std::string_view group = Str(&s, "apiGroup");
    std::string_view skind = Str(&s, "kind");
    if (sname.empty()) errs.push_back(Required(Child(p, "name"), ""));
    if (skind == "ServiceAccount") {
      if (!sname.empty()) CheckSubdomain(errs, Child(p, "name"), sname);
      if (!group.empty()) errs.push_back(NotSupported(Child(p, "apiGroup"), group, {""}));
      if (!namespaced && Str(&s, "namespace").empty()) errs.push_back(Required(Child(p, "namespace"), ""));
    } else if (skind == "User" || skind == "Group") {
      if (group != kGroup) errs.push_back(NotSupported(Child(p, "apiGroup"), group, {std::string(kGroup)}));
    } else {
      errs.push_back(NotSupported(Child(p, "kind"), skind, {"ServiceAccount", "User", "Group"}));
    }
  });
  if (old != nullptr && !SemEq(&binding, old, "roleRef")) {
    errs.push_back(InvalidGo("roleRef",
                             "rbac.RoleRef{APIGroup:" + Quote(Str(ref, "apiGroup")) + ", Kind:" + Quote(kind) +
                                 ", Name:" + Quote(name) + "}",
                             "cannot change roleRef"));
  }
}

// ---------------------------------------------------- scheduling, storage, coordination

void ValidatePriorityClass(const bj::object& pc, const bj::object* old, Errs& errs) {
  const bj::value* policy = Get(&pc, "preemptionPolicy");
  if (old != nullptr) {
    if (!SemEq(&pc, old, "value")) errs.push_back(Forbidden("value", "may not be changed in an update."));
    if (!SemEq(&pc, old, "preemptionPolicy")) {
      errs.push_back(InvalidGo("preemptionPolicy", policy != nullptr ? Quote(StrOf(*policy)) : "\"null\"", kImmutable));
    }
    return;
  }
  std::string_view name = api::Name(pc);
  int64_t value = Int(&pc, "value").value_or(0);
  bool global_default = Bool(&pc, "globalDefault");
  if (name.substr(0, 7) == "system-") {
    static const std::map<std::string_view, int64_t> kSystem = {{"system-node-critical", 2000001000},
                                                                {"system-cluster-critical", 2000000000}};
    std::string reason;
    if (auto it = kSystem.find(name); it == kSystem.end()) {
      reason = std::string(name) + " is not a known system priority class";
    } else if (it->second != value) {
      reason = "value of " + std::string(name) + " PriorityClass must be " + std::to_string(it->second);
    } else if (global_default) {
      reason = "globalDefault of " + std::string(name) + " PriorityClass must be false";
    }
    if (!reason.empty()) {
      errs.push_back(
          Forbidden("metadata.name",
                    "priority class names with 'system-' prefix are reserved for system use only. error: " + reason));
    }
  } else if (value > 1000000000) {
    errs.push_back(Forbidden("value", "maximum allowed value of a user defined priority is 1000000000"));
  }
  if (policy != nullptr && StrOf(*policy) != "PreemptLowerPriority" && StrOf(*policy) != "Never") {
    errs.push_back(NotSupported("preemptionPolicy", StrOf(*policy), {"PreemptLowerPriority", "Never"}));
  }
}

void ValidateStorageClass(const bj::object& sc, const bj::object* old, Errs& errs) {
  std::string provisioner(Str(&sc, "provisioner"));
  if (provisioner.empty()) {
    errs.push_back(Required("provisioner", ""));
  } else {
    std::string lower = provisioner;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    CheckQualified(errs, "provisioner", lower);
  }
  const bj::object* params = Obj(&sc, "parameters");
  if (Size(params) > 512) {
    errs.push_back(TooLongBytes("parameters", 512));
  } else {
    size_t total = 0;
    for (const auto& [k, v] : Sorted(params)) {
      if (k.empty()) errs.push_back(InvalidStr("parameters", k, "field can not be empty."));
      total += k.size() + StrOf(*v).size();
    }
    if (total > 256 * 1024) errs.push_back(TooLongBytes("parameters", 256 * 1024));
  }
  if (std::string_view policy = Str(&sc, "reclaimPolicy");
      !policy.empty() && policy != "Delete" && policy != "Retain") {
    errs.push_back(NotSupported("reclaimPolicy", policy, {"Delete", "Retain"}));
  }
  const bj::value* mode = Get(&sc, "volumeBindingMode");
  if (mode == nullptr) {
    errs.push_back(Required("volumeBindingMode", ""));
  } else if (StrOf(*mode) != "Immediate" && StrOf(*mode) != "WaitForFirstConsumer") {
    errs.push_back(NotSupported("volumeBindingMode", StrOf(*mode), {"Immediate", "WaitForFirstConsumer"}));
  }
  if (old == nullptr) return;
  if (!SemEq(&sc, old, "parameters")) errs.push_back(Forbidden("parameters", "updates to parameters are forbidden."));
  if (Str(&sc, "provisioner") != Str(old, "provisioner"))
    errs.push_back(Forbidden("provisioner", "updates to provisioner are forbidden."));
  if (Str(&sc, "reclaimPolicy") != Str(old, "reclaimPolicy")) {
    errs.push_back(Forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
  }
  if (!SemEq(&sc, old, "volumeBindingMode"))
    errs.push_back(InvalidStr("volumeBindingMode", Str(&sc, "volumeBindingMode"), kImmutable));
}

void ValidateLease(const bj::object& lease, const bj::object*, Errs& errs) {
  const bj::object* spec = Obj(&lease, "spec");
  if (auto d = Int(spec, "leaseDurationSeconds"); d && *d <= 0) {
    errs.push_back(InvalidInt("spec.leaseDurationSeconds", *d, "must be greater than 0"));
  }
  NonNegative(errs, "spec.leaseTransitions", Int(spec, "leaseTransitions"));
}

// ------------------------------------------------------------ certificates

const Strings kCsrUsages = {"any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
                            "data encipherment", "decipher only", "digital signature", "email protection",
                            "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
                            "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
                            "server auth", "signing", "timestamping"};

void ValidateSignerName(const std::string& path, std::string_view name, Errs& errs) {
  if (name.empty()) {
    errs.push_back(Required(path, ""));
    return;
  }
  size_t slash = name.find('/');
  if (slash == std::string_view::npos || name.find('/', slash + 1) != std::string_view::npos) {
    errs.push_back(InvalidStr(path, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'"));
    return;
  }
  std::string_view domain = name.substr(0, slash);
  std::string_view rest = name.substr(slash + 1);
  auto labels = [&](std::string_view seg) {
    size_t n = 0;
    size_t start = 0;
    while (true) {
      size_t dot = seg.find('.', start);
      std::string_view lbl = seg.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      ++n;
      Strings bad = api::IsDNS1123Label(lbl);
      if (!bad.empty()) {
        for (const auto& m : bad) errs.push_back(InvalidStr(path, seg, "validating label " + Quote(lbl) + ": " + m));
        break;
      }
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    return n;
  };
  if (labels(domain) < 2) errs.push_back(InvalidStr(path, domain, "should be a domain with at least two segments separated by dots"));
  labels(rest);
  if (domain.size() + 1 + rest.size() > 253) errs.push_back(api::TooLong(path, static_cast<int>(252 - domain.size())));
}

// The decoded PEM of a bytes field (base64 in JSON); nullopt if absent.
std::optional<std::string> BytesField(const bj::object* o, std::string_view k) {
  std::string_view b64 = Str(o, k);
  if (b64.empty()) return std::nullopt;
  auto dec = Base64Decode(b64);
  return dec.ok() ? std::optional<std::string>(std::move(*dec)) : std::optional<std::string>(std::string());
}

size_t CountConditions(const bj::object* status, std::string_view type) {
  size_t n = 0;
  ForEach(Arr(status, "conditions"), [&](size_t, const bj::object& c) { n += Str(&c, "type") == type ? 1 : 0; });
  return n;
}

void ValidateCertificateSigningRequest(const bj::object& csr, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&csr, "spec");
  if (auto req = BytesField(spec, "request")) {
    if (auto parsed = ParseCsr(*req); !parsed.ok()) {
      errs.push_back(InvalidGo("spec.request", "[]byte{...}", parsed.status().message()));
    }
  } else {
    errs.push_back(Required("spec.request", ""));
  }
  const bj::array* usages = Arr(spec, "usages");
  if (Size(usages) == 0) errs.push_back(Required("spec.usages", "usages must be provided"));
  std::set<std::string> seen;
  for (size_t i = 0; i < Size(usages); ++i) {
    std::string v = StrOf((*usages)[i]);
    if (std::find(kCsrUsages.begin(), kCsrUsages.end(), v) == kCsrUsages.end()) {
      errs.push_back(NotSupported(Idx("spec.usages", i), v, kCsrUsages));
    } else if (!seen.insert(v).second) {
      errs.push_back(Duplicate(Idx("spec.usages", i), v));
    }
  }
  std::string_view signer = Str(spec, "signerName");
  if (signer == "kubernetes.io/legacy-unknown") {
    errs.push_back(InvalidStr("spec.signerName", signer, "the legacy signerName is not allowed via this API version"));
  } else {
    ValidateSignerName("spec.signerName", signer, errs);
  }
  if (auto secs = Int(spec, "expirationSeconds"); secs && *secs < 600) {
    errs.push_back(InvalidInt("spec.expirationSeconds", *secs, "may not specify a duration less than 600 seconds (10 minutes)"));
  }
  const bj::object* status = Obj(&csr, "status");
  bool approved = false, denied = false;
  std::set<std::string> types;
  ForEach(Arr(status, "conditions"), [&](size_t i, const bj::object& cond) {
    const bj::object* c = &cond;
    std::string p = Idx("status.conditions", i);
    std::string_view type = Str(c, "type");
    std::string_view st = Str(c, "status");
    if (type.empty()) errs.push_back(Required(Child(p, "type"), ""));
    if (st.empty()) {
      errs.push_back(Required(Child(p, "status"), ""));
    } else if (st != "True" && st != "False" && st != "Unknown") {
      errs.push_back(NotSupported(Child(p, "status"), st, {"False", "True", "Unknown"}));
    }
    if (type == "Approved" || type == "Denied") {
      (type == "Approved" ? approved : denied) = true;
      if (st != "True") errs.push_back(InvalidStr(Child(p, "status"), st, std::string(type) + " condition may only be set to True"));
    }
    if (!type.empty() && !types.insert(std::string(type)).second) errs.push_back(Duplicate(Child(p, "type"), type));
  });
  if (approved && denied) {
    errs.push_back(InvalidGo("status.conditions", "[]certificates.CertificateSigningRequestCondition{...}",
                             "Approved and Denied conditions are mutually exclusive"));
  }
  std::optional<std::string> cert = BytesField(status, "certificate");
  if (cert) {
    if (Status st = CheckCertificatePem(*cert); !st.ok()) {
      errs.push_back(InvalidGo("status.certificate", "\"<certificate data>\"", st.message()));
    }
  }
  if (old == nullptr) return;
  const bj::object* old_status = Obj(old, "status");
  for (std::string_view t : {"Approved", "Denied", "Failed"}) {
    if (CountConditions(status, t) < CountConditions(old_status, t)) {
      errs.push_back(Forbidden("status.conditions", "updates may not remove a condition of type " + Quote(t)));
    }
  }
  std::optional<std::string> old_cert = BytesField(old_status, "certificate");
  if (old_cert && !old_cert->empty() && cert != old_cert) {
    errs.push_back(InvalidGo("status.certificate", "\"<certificate data>\"", "updates may not modify existing certificate content"));
  }
}

void ValidateControllerRevision(const bj::object& rev, const bj::object* old, Errs& errs) {
  if (!Has(&rev, "data")) errs.push_back(Required("data", "data is mandatory"));
  NonNegative(errs, "revision", Int(&rev, "revision"));
  if (old != nullptr && !SemEq(&rev, old, "data"))
    errs.push_back(InvalidGo("data", "runtime.RawExtension{...}", kImmutable));
}

// ------------------------------------------------------------- autoscaling

void CheckCrossVersionRef(const bj::object* ref, const std::string& path, Errs& errs) {
  for (std::string_view f : {"kind", "name"}) {
    std::string_view v = Str(ref, f);
    if (v.empty()) {
      errs.push_back(Required(Child(path, f), ""));
    } else {
      Msgs(errs, Child(path, f), v, api::IsValidPathSegmentName(v));
    }
  }
}

void ValidateMetricTarget(const bj::object* t, const std::string& path, Errs& errs) {
  std::string_view type = Str(t, "type");
  if (type.empty()) errs.push_back(Required(Child(path, "type"), "must specify a metric target type"));
  if (type != "Utilization" && type != "Value" && type != "AverageValue") {
    errs.push_back(InvalidStr(Child(path, "type"), type, "must be either Utilization, Value, or AverageValue"));
  }
  for (std::string_view f : {"value", "averageValue"}) {
    if (auto q = QuantityAt(Get(t, f), Child(path, f), errs); q && q->Sign() != 1) {
      errs.push_back(InvalidStr(Child(path, f), q->String(), "must be positive"));
    }
  }
  if (auto u = Int(t, "averageUtilization"); u && *u < 1) {
    errs.push_back(InvalidInt(Child(path, "averageUtilization"), *u, "must be greater than 0"));
  }
}

void CheckMetricName(const bj::object* metric, const std::string& path, Errs& errs) {
  std::string_view name = Str(metric, "name");
  if (name.empty()) {
    errs.push_back(Required(Child(path, "name"), "must specify a metric name"));
  } else {
    Msgs(errs, Child(path, "name"), name, api::IsValidPathSegmentName(name));
  }
}

void ValidateMetricSpec(const bj::object& m, const std::string& path, Errs& errs) {
  static const Strings kTypes = {"ContainerResource", "External", "Object", "Pods", "Resource"};
  std::string type(Str(&m, "type"));
  if (type.empty()) errs.push_back(Required(Child(path, "type"), "must specify a metric source type"));
  std::map<std::string, std::string> source_of = {{"Object", "object"},
                                                  {"Pods", "pods"},
                                                  {"Resource", "resource"},
                                                  {"External", "external"},
                                                  {"ContainerResource", "containerResource"}};
  if (!source_of.contains(type)) errs.push_back(NotSupported(Child(path, "type"), type, kTypes));
  Strings present;
  for (std::string_view src : {"object", "external", "pods", "resource", "containerResource"}) {
    const bj::object* s = Obj(&m, src);
    if (s == nullptr) continue;
    present.emplace_back(src);
    if (present.size() > 1) continue;
    std::string p = Child(path, src);
    const bj::object* target = Obj(s, "target");
    std::string tp = Child(p, "target");
    if (src == "resource" || src == "containerResource") {
      std::string_view name = Str(s, "name");
      if (name.empty()) {
        errs.push_back(Required(Child(p, "name"), "must specify a resource name"));
      } else {
        CheckContainerResourceName(errs, Child(p, "name"), name);
      }
      if (src == "containerResource") {
        std::string_view container = Str(s, "container");
        if (container.empty()) {
          errs.push_back(Required(Child(p, "container"), "must populate container name"));
        } else {
          CheckLabel(errs, Child(p, "container"), container);
        }
      }
      ValidateMetricTarget(target, tp, errs);
      if (!Has(target, "averageUtilization") && !Has(target, "averageValue")) {
        errs.push_back(
            Required(Child(tp, "averageUtilization"), "must set either a target raw value or a target utilization"));
      }
      if (Has(target, "averageUtilization") && Has(target, "averageValue")) {
        errs.push_back(
            Forbidden(Child(tp, "averageValue"), "may not set both a target raw value and a target utilization"));
      }
    } else {
      if (src == "object") CheckCrossVersionRef(Obj(s, "describedObject"), Child(p, "describedObject"), errs);
      CheckMetricName(Obj(s, "metric"), Child(p, "metric"), errs);
      ValidateMetricTarget(target, tp, errs);
      bool value = Has(target, "value");
      bool average = Has(target, "averageValue");
      if (src == "pods" && !average) {
        errs.push_back(Required(Child(tp, "averageValue"), "must specify a positive target averageValue"));
      } else if (src == "object" && !value && !average) {
        errs.push_back(Required(Child(tp, "averageValue"), "must set either a target value or averageValue"));
      } else if (src == "external" && !value && !average) {
        errs.push_back(
            Required(Child(tp, "averageValue"), "must set either a target value for metric or a per-pod target"));
      } else if (src == "external" && value && average) {
        errs.push_back(
            Forbidden(Child(tp, "value"), "may not set both a target value for metric and a per-pod target"));
      }
    }
  }
  std::string expected = source_of.contains(type) ? source_of[type] : "";
  if (!expected.empty() && std::find(present.begin(), present.end(), expected) == present.end()) {
    errs.push_back(Required(Child(path, expected), "must populate information for the given metric source"));
  }
  if (present.size() > 1) {
    for (const auto& src : present) {
      if (src != expected) errs.push_back(Forbidden(Child(path, src), "must populate the given metric source only"));
    }
  }
}

void ValidateScalingRules(const bj::object* rules, const std::string& path, Errs& errs) {
  if (rules == nullptr) return;
  if (auto w = Int(rules, "stabilizationWindowSeconds")) {
    if (*w < 0)
      errs.push_back(
          InvalidInt(Child(path, "stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"));
    if (*w > 3600)
      errs.push_back(InvalidInt(Child(path, "stabilizationWindowSeconds"), *w, "must be less than or equal to 3600"));
  }
  if (const bj::value* sp = Get(rules, "selectPolicy")) {
    std::string policy = StrOf(*sp);
    if (policy != "Disabled" && policy != "Max" && policy != "Min") {
      errs.push_back(NotSupported(Child(path, "selectPolicy"), policy, {"Disabled", "Max", "Min"}));
    }
  }
  if (Size(Arr(rules, "policies")) == 0)
    errs.push_back(Required(Child(path, "policies"), "must specify at least one Policy"));
  ForEach(Arr(rules, "policies"), [&](size_t i, const bj::object& policy) {
    std::string p = Idx(Child(path, "policies"), i);
    std::string_view type = Str(&policy, "type");
    if (type != "Pods" && type != "Percent") errs.push_back(NotSupported(Child(p, "type"), type, {"Percent", "Pods"}));
    if (int64_t v = Int(&policy, "value").value_or(0); v <= 0)
      errs.push_back(InvalidInt(Child(p, "value"), v, kPositive));
    int64_t period = Int(&policy, "periodSeconds").value_or(0);
    if (period <= 0) errs.push_back(InvalidInt(Child(p, "periodSeconds"), period, kPositive));
    if (period > 1800)
      errs.push_back(InvalidInt(Child(p, "periodSeconds"), period, "must be less than or equal to 1800"));
  });
}

// Validation runs on the internal (v2-shaped) object upstream; v1's
// targetCPUUtilizationPercentage is reported at its v2 location.
void ValidateHPA(const bj::object& hpa, bool v1, Errs& errs) {
  const bj::object* spec = Obj(&hpa, "spec");
  auto min = Int(spec, "minReplicas");
  int64_t max = Int(spec, "maxReplicas").value_or(0);
  if (min && *min < 1) errs.push_back(InvalidInt("spec.minReplicas", *min, "must be greater than or equal to 1"));
  if (max < 1) errs.push_back(InvalidInt("spec.maxReplicas", max, "must be greater than 0"));
  if (min && max < *min)
    errs.push_back(InvalidInt("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  CheckCrossVersionRef(Obj(spec, "scaleTargetRef"), "spec.scaleTargetRef", errs);
  if (v1) {
    if (auto t = Int(spec, "targetCPUUtilizationPercentage"); t && *t < 1) {
      errs.push_back(InvalidInt("spec.metrics[0].resource.target.averageUtilization", *t, "must be greater than 0"));
    }
    return;
  }
  ForEach(Arr(spec, "metrics"),
          [&](size_t i, const bj::object& m) { ValidateMetricSpec(m, Idx("spec.metrics", i), errs); });
  const bj::object* behavior = Obj(spec, "behavior");
  ValidateScalingRules(Obj(behavior, "scaleUp"), "spec.behavior.scaleUp", errs);
  ValidateScalingRules(Obj(behavior, "scaleDown"), "spec.behavior.scaleDown", errs);
}

void ValidatePodDisruptionBudget(const bj::object& pdb, const bj::object*, Errs& errs) {
  const bj::object* spec = Obj(&pdb, "spec");
  if (Has(spec, "minAvailable") && Has(spec, "maxUnavailable")) {
    errs.push_back(
        InvalidGo("spec", "policy.PodDisruptionBudgetSpec{...}", "minAvailable and maxUnavailable cannot be both set"));
  }
  for (std::string_view f : {"minAvailable", "maxUnavailable"}) {
    if (const bj::value* v = Get(spec, f)) {
      IntOrStr ios = ToIntOrStr(v);
      CheckIntOrPercent(errs, Child("spec", f), ios);
      CheckNotOver100Percent(errs, Child("spec", f), ios);
    }
  }
  ValidateLabelSelector(Obj(spec, "selector"), "spec.selector", errs);
  if (const bj::value* p = Get(spec, "unhealthyPodEvictionPolicy")) {
    std::string policy = StrOf(*p);
    if (policy != "AlwaysAllow" && policy != "IfHealthyBudget") {
      errs.push_back(NotSupported("spec.unhealthyPodEvictionPolicy", policy, {"AlwaysAllow", "IfHealthyBudget"}));
    }
  }
}

// --------------------------------------------------------------- networking

void ValidateEndpointSlice(const bj::object& slice, const bj::object* old, Errs& errs) {
  std::string_view type = Str(&slice, "addressType");
  if (type.empty()) {
    errs.push_back(Required("addressType", ""));
  } else if (type != "FQDN" && type != "IPv4" && type != "IPv6") {
    errs.push_back(NotSupported("addressType", type, {"FQDN", "IPv4", "IPv6"}));
  }
  const bj::array* endpoints = Arr(&slice, "endpoints");
  if (Size(endpoints) > 1000) {
    errs.push_back(api::TooMany("endpoints", static_cast<int64_t>(Size(endpoints)), 1000));
  } else {
    ForEach(endpoints, [&](size_t i, const bj::object& ep) {
      std::string p = Idx("endpoints", i);
      std::string ap = Child(p, "addresses");
      Strings addresses = StrList(Arr(&ep, "addresses"));
      if (addresses.empty()) {
        errs.push_back(Required(ap, "must contain at least 1 address"));
      } else if (addresses.size() > 100) {
        errs.push_back(api::TooMany(ap, static_cast<int64_t>(addresses.size()), 100));
      }
      for (size_t j = 0; j < addresses.size(); ++j) {
        const std::string& a = addresses[j];
        if (type == "IPv4" || type == "IPv6") {
          auto ip = ParseIP(a);
          bool v6 = a.find(':') != std::string::npos;
          if (!ip || (type == "IPv4") == v6) {
            errs.push_back(InvalidStr(
                Idx(ap, j), a, type == "IPv4" ? "must be a valid IPv4 address" : "must be a valid IPv6 address"));
          } else {
            CheckNonSpecialIP(errs, Idx(ap, j), a);
          }
        } else if (type == "FQDN") {
          std::string name = a;
          if (!name.empty() && name.back() == '.') name.pop_back();
          Strings msgs = api::IsDNS1123Subdomain(name);
          if (a.empty()) {
            errs.push_back(Required(Idx(ap, j), ""));
          } else if (!msgs.empty()) {
            std::string joined;
            for (const auto& m : msgs) joined += (joined.empty() ? "" : ",") + m;
            errs.push_back(InvalidStr(Idx(ap, j), name, joined));
          } else if (name.find('.') == std::string::npos) {
            errs.push_back(
                InvalidStr(Idx(ap, j), name, "should be a domain with at least two segments separated by dots"));
          }
        }
      }
      if (const bj::value* node = Get(&ep, "nodeName")) CheckSubdomain(errs, Child(p, "nodeName"), StrOf(*node));
      if (const bj::value* host = Get(&ep, "hostname")) CheckLabel(errs, Child(p, "hostname"), StrOf(*host));
    });
  }
  std::set<std::string> names;
  ForEach(Arr(&slice, "ports"), [&](size_t i, const bj::object& port) {
    std::string p = Idx("ports", i);
    std::string name(Str(&port, "name"));
    if (!name.empty()) CheckLabel(errs, Child(p, "name"), name);
    if (!names.insert(name).second) errs.push_back(Duplicate(Child(p, "name"), name));
    std::string_view protocol = Str(&port, "protocol");
    if (protocol.empty()) {
      errs.push_back(Required(Child(p, "protocol"), ""));
    } else if (protocol != "SCTP" && protocol != "TCP" && protocol != "UDP") {
      errs.push_back(NotSupported(Child(p, "protocol"), protocol, {"SCTP", "TCP", "UDP"}));
    }
    if (auto n = Int(&port, "port")) CheckPortNum(errs, Child(p, "port"), *n);
    if (const bj::value* ap = Get(&port, "appProtocol")) CheckQualified(errs, Child(p, "appProtocol"), StrOf(*ap));
  });
  if (old != nullptr && Str(old, "addressType") != type) errs.push_back(InvalidStr("addressType", type, kImmutable));
}

void ValidateNetworkPolicyPort(const bj::object& port, const std::string& path, Errs& errs) {
  if (const bj::value* proto = Get(&port, "protocol")) {
    std::string p = StrOf(*proto);
    if (p != "TCP" && p != "UDP" && p != "SCTP")
      errs.push_back(NotSupported(Child(path, "protocol"), p, {"TCP", "UDP", "SCTP"}));
  }
  auto end_port = Int(&port, "endPort");
  if (const bj::value* pv = Get(&port, "port")) {
    IntOrStr v = ToIntOrStr(pv);
    if (!v.is_str) {
      CheckPortNum(errs, Child(path, "port"), v.i);
      if (end_port) {
        if (*end_port < v.i)
          errs.push_back(InvalidInt(Child(path, "endPort"), v.i, "must be greater than or equal to `port`"));
        CheckPortNum(errs, Child(path, "endPort"), *end_port);
      }
    } else {
      if (end_port)
        errs.push_back(
            InvalidInt(Child(path, "endPort"), *end_port, "may not be specified when `port` is non-numeric"));
      Msgs(errs, Child(path, "port"), v.s, PortNameErrors(v.s));
    }
  } else if (end_port) {
    errs.push_back(InvalidInt(Child(path, "endPort"), *end_port, "may not be specified when `port` is not specified"));
  }
}

void ValidateNetworkPolicyPeer(const bj::object& peer, const std::string& path, Errs& errs) {
  int peers = 0;
  for (std::string_view sel : {"podSelector", "namespaceSelector"}) {
    if (const bj::object* s = Obj(&peer, sel)) {
      ++peers;
      ValidateLabelSelector(s, Child(path, sel), errs);
    }
  }
  if (const bj::object* block = Obj(&peer, "ipBlock")) {
    ++peers;
    std::string bp = Child(path, "ipBlock");
    std::string_view cidr = Str(block, "cidr");
    if (cidr.empty()) {
      errs.push_back(Required(Child(bp, "cidr"), ""));
    } else if (auto net = ParseCIDR(cidr); !net) {
      CheckCIDR(errs, Child(bp, "cidr"), cidr);
    } else {
      Strings except = StrList(Arr(block, "except"));
      for (size_t i = 0; i < except.size(); ++i) {
        std::string ep = Idx(Child(bp, "except"), i);
        auto sub = ParseCIDR(except[i]);
        if (!sub) {
          CheckCIDR(errs, ep, except[i]);
        } else if (sub->ip.v4 != net->ip.v4 || !CIDRContains(*net, sub->ip) || net->bits >= sub->bits) {
          errs.push_back(InvalidStr(ep, except[i], "must be a strict subset of `cidr`"));
        }
      }
    }
  }
  if (peers == 0) {
    errs.push_back(Required(path, "must specify a peer"));
  } else if (peers > 1 && Has(&peer, "ipBlock")) {
    errs.push_back(Forbidden(path, "may not specify both ipBlock and another peer"));
  }
}

void ValidateNetworkPolicy(const bj::object& np, const bj::object*, Errs& errs) {
  const bj::object* spec = Obj(&np, "spec");
  ValidateLabelSelector(Obj(spec, "podSelector"), "spec.podSelector", errs);
  for (auto [dir, peers] : {std::pair<std::string_view, std::string_view>{"ingress", "from"}, {"egress", "to"}}) {
    ForEach(Arr(spec, dir), [&](size_t i, const bj::object& rule) {
      std::string p = Idx(Child("spec", dir), i);
      ForEach(Arr(&rule, "ports"), [&](size_t j, const bj::object& port) {
        ValidateNetworkPolicyPort(port, Idx(Child(p, "ports"), j), errs);
      });
      ForEach(Arr(&rule, peers), [&](size_t j, const bj::object& peer) {
        ValidateNetworkPolicyPeer(peer, Idx(Child(p, peers), j), errs);
      });
    });
  }
  Strings types = StrList(Arr(spec, "policyTypes"));
  if (types.size() > 2) {
    return errs.push_back(InvalidGo("spec.policyTypes",
                                    "&" + GoStrSlice(Get(spec, "policyTypes"), "[]networking.PolicyType"),
                                    "may not specify more than two policyTypes"));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != "Ingress" && types[i] != "Egress") {
      errs.push_back(NotSupported(Idx("spec.policyTypes", i), types[i], {"Ingress", "Egress"}));
    }
  }
}

Strings WildcardSubdomainErrors(std::string_view host) {
  Strings errs;
  if (host.size() > 253) errs.push_back("must be no more than 253 characters");
  bool ok = host.substr(0, 2) == "*.";
  if (ok) {
    for (const auto& m : api::IsDNS1123Subdomain(host.substr(2))) ok = ok && m.rfind("must be no more than", 0) == 0;
  }
  if (!ok) {
    errs.push_back(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of "
        "lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', "
        "regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  return errs;
}

void ValidateIngressBackend(const bj::object& backend, const std::string& path, Errs& errs) {
  const bj::object* resource = Obj(&backend, "resource");
  const bj::object* service = Obj(&backend, "service");
  if (resource != nullptr && service != nullptr)
    return errs.push_back(InvalidStr(path, "", "cannot set both resource and service backends"));
  if (resource != nullptr) {
    std::string rp = Child(path, "resource");
    if (const bj::value* g = Get(resource, "apiGroup")) CheckSubdomain(errs, Child(rp, "apiGroup"), StrOf(*g));
    for (std::string_view f : {"kind", "name"}) {
      std::string_view v = Str(resource, f);
      if (v.empty()) {
        errs.push_back(Required(Child(rp, f), ""));
      } else {
        Msgs(errs, Child(rp, f), v, api::IsValidPathSegmentName(v));
      }
    }
    return;
  }
  if (service == nullptr) return errs.push_back(InvalidStr(path, "", "resource or service backend is required"));
  std::string sp = Child(path, "service");
  std::string_view name = Str(service, "name");
  if (name.empty()) {
    errs.push_back(Required(Child(sp, "name"), ""));
  } else {
    Msgs(errs, Child(sp, "name"), name, api::IsDNS1035Label(name));
  }
  const bj::object* port = Obj(service, "port");
  std::string_view port_name = Str(port, "name");
  int64_t number = Int(port, "number").value_or(0);
  if (!port_name.empty() && number != 0) {
    errs.push_back(InvalidStr(path, "", "cannot set both port name & port number"));
  } else if (!port_name.empty()) {
    Msgs(errs, Child(Child(sp, "port"), "name"), port_name, PortNameErrors(port_name));
  } else if (number != 0) {
    CheckPortNum(errs, Child(Child(sp, "port"), "number"), number);
  } else {
    errs.push_back(Required(path, "port name or number is required"));
  }
}

void ValidateIngress(const bj::object& ing, const bj::object*, Errs& errs) {
  const bj::object* spec = Obj(&ing, "spec");
  const bj::array* rules = Arr(spec, "rules");
  if (Size(rules) == 0 && !Has(spec, "defaultBackend")) {
    errs.push_back(InvalidGo("spec", rules != nullptr ? "[]networking.IngressRule{}" : "[]networking.IngressRule(nil)",
                             "either `defaultBackend` or `rules` must be specified"));
  }
  if (const bj::object* def = Obj(spec, "defaultBackend")) ValidateIngressBackend(*def, "spec.defaultBackend", errs);
  ForEach(rules, [&](size_t i, const bj::object& rule) {
    std::string p = Idx("spec.rules", i);
    if (std::string_view host = Str(&rule, "host"); !host.empty()) {
      if (ParseIP(host)) errs.push_back(InvalidStr(Child(p, "host"), host, "must be a DNS name, not an IP address"));
      Msgs(errs, Child(p, "host"), host,
           host.find('*') != std::string_view::npos ? WildcardSubdomainErrors(host) : api::IsDNS1123Subdomain(host));
    }
    const bj::object* http = Obj(&rule, "http");
    if (http == nullptr) return;
    std::string hp = Child(Child(p, "http"), "paths");
    if (Size(Arr(http, "paths")) == 0) errs.push_back(Required(hp, ""));
    ForEach(Arr(http, "paths"), [&](size_t j, const bj::object& path) {
      std::string pp = Idx(hp, j);
      const bj::value* type = Get(&path, "pathType");
      if (type == nullptr) return errs.push_back(Required(Child(pp, "pathType"), "pathType must be specified"));
      std::string t = StrOf(*type);
      std::string_view value = Str(&path, "path");
      if (t == "Exact" || t == "Prefix") {
        if (value.empty() || value.front() != '/')
          errs.push_back(InvalidStr(Child(pp, "path"), value, "must be an absolute path"));
        for (std::string_view bad : {"//", "/./", "/../", "%2f", "%2F"}) {
          if (value.find(bad) != std::string_view::npos) {
            errs.push_back(InvalidStr(Child(pp, "path"), value, "must not contain '" + std::string(bad) + "'"));
          }
        }
        for (std::string_view bad : {"/..", "/."}) {
          if (value.size() >= bad.size() && value.substr(value.size() - bad.size()) == bad) {
            errs.push_back(InvalidStr(Child(pp, "path"), value, "cannot end with '" + std::string(bad) + "'"));
          }
        }
      } else if (t == "ImplementationSpecific") {
        if (!value.empty() && value.front() != '/')
          errs.push_back(InvalidStr(Child(pp, "path"), value, "must be an absolute path"));
      } else {
        errs.push_back(NotSupported(Child(pp, "pathType"), t, {"Exact", "ImplementationSpecific", "Prefix"}));
      }
      const bj::object* backend = Obj(&path, "backend");
      ValidateIngressBackend(backend != nullptr ? *backend : bj::object(), Child(pp, "backend"), errs);
    });
  });
  ForEach(Arr(spec, "tls"), [&](size_t i, const bj::object& tls) {
    std::string p = Idx("spec.tls", i);
    Strings hosts = StrList(Arr(&tls, "hosts"));
    for (size_t j = 0; j < hosts.size(); ++j) {
      Msgs(errs, Idx(Child(p, "hosts"), j), hosts[j],
           hosts[j].find('*') != std::string::npos ? WildcardSubdomainErrors(hosts[j])
                                                   : api::IsDNS1123Subdomain(hosts[j]));
    }
    if (std::string_view secret = Str(&tls, "secretName"); !secret.empty())
      CheckSubdomain(errs, Child(p, "secretName"), secret);
  });
  if (const bj::value* cls = Get(spec, "ingressClassName")) CheckSubdomain(errs, "spec.ingressClassName", StrOf(*cls));
}

void ValidateIngressClass(const bj::object& ic, const bj::object* old, Errs& errs) {
  const bj::object* spec = Obj(&ic, "spec");
  std::string_view controller = Str(spec, "controller");
  if (controller.size() > 250) errs.push_back(TooLongBytes("spec.controller", 250));
  size_t slash = controller.find('/');
  if (controller.empty()) {
    errs.push_back(Required("spec.controller", ""));
  } else if (slash == std::string_view::npos || slash == 0 || slash + 1 == controller.size()) {
    errs.push_back(
        InvalidStr("spec.controller", controller, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
  } else {
    CheckSubdomain(errs, "spec.controller", controller.substr(0, slash));
    std::string_view path = controller.substr(slash + 1);
    static const std::string_view kPathChars = "/-._~%!$&'()*+,;=:";
    bool ok = std::all_of(path.begin(), path.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || kPathChars.find(c) != std::string_view::npos;
    });
    if (!ok) {
      errs.push_back(InvalidStr("spec.controller", path,
                                "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"));
    }
  }
  if (const bj::object* params = Obj(spec, "parameters")) {
    for (std::string_view f : {"kind", "name"}) {
      if (Str(params, f).empty()) errs.push_back(Required(Child("spec.parameters", f), ""));
    }
    if (const bj::value* scope = Get(params, "scope")) {
      std::string s = StrOf(*scope);
      if (s != "Cluster" && s != "Namespace") {
        errs.push_back(NotSupported("spec.parameters.scope", s, {"Cluster", "Namespace"}));
      } else if (s == "Namespace" && Str(params, "namespace").empty()) {
        errs.push_back(Required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'"));
      }
    }
  }
  if (old != nullptr && controller != Str(Obj(old, "spec"), "controller")) {
    errs.push_back(InvalidStr("spec.controller", controller, kImmutable));
  }
}

using Validator = void (*)(const bj::object& obj, const bj::object* old, Errs& errs);

}  // namespace

void InstallValidation(ResourceRegistry& registry) {
  auto set = [&](std::string_view group, std::string_view kind, Validator fn) {
    registry.ForKind(group, kind, [fn](ResourceDef& d) { d.hooks.validate = fn; });
  };
  set("", "Pod", ValidatePod);
  set("", "PodTemplate", ValidatePodTemplateKind);
  set("", "ReplicationController", ValidateReplicationController);
  set("", "Service", ValidateService);
  set("", "Endpoints", ValidateEndpoints);
  set("", "ConfigMap", ValidateConfigMap);
  set("", "Secret", ValidateSecret);
  set("", "Namespace", ValidateNamespace);
  set("", "Node", ValidateNode);
  set("", "ResourceQuota", ValidateResourceQuota);
  set("", "LimitRange", ValidateLimitRange);
  set("", "PersistentVolume", ValidatePersistentVolume);
  set("", "PersistentVolumeClaim", ValidatePersistentVolumeClaim);
  set("", "Event", [](const bj::object& o, const bj::object* old, Errs& e) { ValidateEvent(o, old, false, e); });
  set("events.k8s.io", "Event",
      [](const bj::object& o, const bj::object* old, Errs& e) { ValidateEvent(o, old, true, e); });
  set("apps", "Deployment", ValidateDeployment);
  set("apps", "ReplicaSet", ValidateReplicaSet);
  set("apps", "StatefulSet", ValidateStatefulSet);
  set("apps", "DaemonSet", ValidateDaemonSet);
  set("apps", "ControllerRevision", ValidateControllerRevision);
  set("batch", "Job", ValidateJob);
  set("batch", "CronJob", ValidateCronJob);
  registry.ForKind("autoscaling", "HorizontalPodAutoscaler", [](ResourceDef& d) {
    bool v1 = d.version == "v1";
    d.hooks.validate = [v1](const bj::object& o, const bj::object*, Errs& e) { ValidateHPA(o, v1, e); };
  });
  set("policy", "PodDisruptionBudget", ValidatePodDisruptionBudget);
  set("rbac.authorization.k8s.io", "Role", ValidateRole);
  set("rbac.authorization.k8s.io", "ClusterRole", ValidateClusterRole);
  set("rbac.authorization.k8s.io", "RoleBinding",
      [](const bj::object& o, const bj::object* old, Errs& e) { ValidateBinding(o, old, true, e); });
  set("rbac.authorization.k8s.io", "ClusterRoleBinding",
      [](const bj::object& o, const bj::object* old, Errs& e) { ValidateBinding(o, old, false, e); });
  set("scheduling.k8s.io", "PriorityClass", ValidatePriorityClass);
  set("storage.k8s.io", "StorageClass", ValidateStorageClass);
  set("coordination.k8s.io", "Lease", ValidateLease);
  set("certificates.k8s.io", "CertificateSigningRequest", ValidateCertificateSigningRequest);
  set("discovery.k8s.io", "EndpointSlice", ValidateEndpointSlice);
  set("networking.k8s.io", "NetworkPolicy", ValidateNetworkPolicy);
  set("networking.k8s.io", "Ingress", ValidateIngress);
  set("networking.k8s.io", "IngressClass", ValidateIngressClass);
}

}  // namespace kubepp::apiserver
