#include "api/quantity.h"

#include <algorithm>
#include <limits>
#include <map>

namespace kubepp::api {
namespace {

__extension__ typedef __int128 Int128;

constexpr Int128 kNano = 1000000000;
constexpr Int128 kQuantityMax = static_cast<Int128>(1) << 100;

Status Malformed() {
  return Status::BadRequest("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
}

std::string I128String(Int128 v) {
  if (v == 0) return "0";
  std::string s;
  bool neg = v < 0;
  if (neg) v = -v;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

int64_t Saturate(Int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Division rounding up (away from zero for positive values, as upstream's
// Value and MilliValue round).
Int128 CeilDiv(Int128 a, Int128 b) {
  Int128 q = a / b;
  if (a % b != 0 && a > 0) ++q;
  return q;
}

}  // namespace

Quantity Quantity::FromMilli(int64_t milli, Format f) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(milli) * 1000000;
  q.format_ = f;
  return q;
}

Quantity Quantity::FromInt(int64_t v, Format f) {
  Quantity q;
  q.nanos_ = static_cast<Int128>(v) * kNano;
  q.format_ = f;
  return q;
}

Result<Quantity> Quantity::Parse(std::string_view s) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  std::string digits;
  int frac = -1;
  for (; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      if (frac >= 0) return Malformed();
      frac = 0;
      continue;
    }
    digits.push_back(s[i]);
    if (frac >= 0) ++frac;
  }
  if (digits.empty()) return Malformed();
  std::string_view suffix = s.substr(i);
  static const std::map<std::string_view, int> kDec = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0},   {"k", 3},
                                                       {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  static const std::map<std::string_view, int> kBin = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                       {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  Quantity q;
  int dec = 0;
  int bin = 0;
  if (auto it = kDec.find(suffix); it != kDec.end()) {
    dec = it->second;
  } else if (auto jt = kBin.find(suffix); jt != kBin.end()) {
    q.format_ = Format::kBinarySI;
    bin = jt->second;
  } else if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string exp(suffix.substr(1));
    size_t start = (exp[0] == '+' || exp[0] == '-') ? 1 : 0;
    if (start >= exp.size() || exp.size() > 6) return Malformed();
    for (size_t j = start; j < exp.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(exp[j]))) return Malformed();
    }
    dec = std::stoi(exp);
    q.format_ = Format::kDecimalExponent;
  } else {
    return Malformed();
  }
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  // Values beyond any real use saturate instead of overflowing.
  Int128 v = 0;
  for (char c : digits) v = std::min(v * 10 + (c - '0'), kQuantityMax);
  if (v != 0 && bin > 0) v = v > (kQuantityMax >> bin) ? kQuantityMax : v << bin;
  int d = 9 + dec - std::max(frac, 0);
  for (; d > 0 && v != 0; --d) v = std::min(v * 10, kQuantityMax);
  for (; d < 0 && v != 0; ++d) v = v / 10 + (v % 10 != 0 ? 1 : 0);  // round up, like upstream
  q.nanos_ = neg ? -v : v;
  return q;
}

int64_t Quantity::Value() const { return Saturate(CeilDiv(nanos_, kNano)); }

int64_t Quantity::MilliValue() const { return Saturate(CeilDiv(nanos_, 1000000)); }

// CanonicalizeBytes: binary suffixes for exact multiples of 1024 of at
// least 1024, otherwise the largest SI suffix (or exponent) keeping an integer.
std::string Quantity::String() const {
  if (nanos_ == 0) return "0";
  std::string sign = nanos_ < 0 ? "-" : "";
  Int128 m = nanos_ < 0 ? -nanos_ : nanos_;
  if (format_ == Format::kBinarySI && m >= 1024 * kNano && m % kNano == 0) {
    static const char* const kBin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    Int128 v = m / kNano;
    int k = 0;
    while (k < 6 && v % 1024 == 0) {
      v /= 1024;
      ++k;
    }
    return sign + I128String(v) + kBin[k];
  }
  int e = -9;
  while (m % 10 == 0) {
    m /= 10;
    ++e;
  }
  for (int r = ((e % 3) + 3) % 3; r > 0; --r) {
    m *= 10;
    --e;
  }
  std::string suffix;
  if (format_ == Format::kDecimalExponent) {
    if (e != 0) suffix = "e" + std::to_string(e);
  } else {
    static const std::map<int, std::string> kSI = {{-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""},   {3, "k"},
                                                   {6, "M"},  {9, "G"},  {12, "T"}, {15, "P"}, {18, "E"}};
    auto it = kSI.find(e);
    suffix = it != kSI.end() ? it->second : "e" + std::to_string(e);
  }
  return sign + I128String(m) + suffix;
}

}  // namespace kubepp::api
