// resource.Quantity: the fixed-point numbers of resource requests, limits,
// capacities and quotas ("100m", "1.5", "64Mi", "2G", "1e3").
//
// Held exactly as a count of nano-units (10^-9) in 128 bits, so values and
// their sums compare exactly; finer digits round up, and values beyond any
// real use (2^100 nano-units) saturate, as upstream's do. String() gives
// upstream's canonical form (CanonicalizeBytes) in the parsed format:
// BinarySI ("Ki".."Ei") for exact multiples of 1024, else DecimalSI
// ("n".."E") or DecimalExponent ("1e3").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp::api {

class Quantity {
 public:
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;
  static Quantity FromMilli(int64_t milli, Format f = Format::kDecimalSI);
  static Quantity FromInt(int64_t v, Format f = Format::kDecimalSI);
  // BadRequest with upstream's message on malformed text.
  static Result<Quantity> Parse(std::string_view text);

  // Rounded up to a whole unit / milli-unit (upstream's Value, MilliValue),
  // saturating at the int64 range.
  int64_t Value() const;
  int64_t MilliValue() const;
  int Sign() const { return nanos_ > 0 ? 1 : (nanos_ < 0 ? -1 : 0); }
  bool IsZero() const { return nanos_ == 0; }
  bool IsInteger() const { return nanos_ % 1000000000 == 0; }
  Format format() const { return format_; }

  std::string String() const;

  Quantity& operator+=(const Quantity& o) {
    nanos_ += o.nanos_;
    return *this;
  }
  Quantity& operator-=(const Quantity& o) {
    nanos_ -= o.nanos_;
    return *this;
  }
  friend Quantity operator+(Quantity a, const Quantity& b) { return a += b; }
  friend Quantity operator-(Quantity a, const Quantity& b) { return a -= b; }
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nanos_ == b.nanos_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) { return a.nanos_ <=> b.nanos_; }

 private:
  __extension__ __int128 nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

}  // namespace kubepp::api
