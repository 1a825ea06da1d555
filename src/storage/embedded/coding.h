// Fixed-width little-endian encoding for the WAL and snapshot formats
// (docs/storage.md describes both byte by byte).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kubepp::storage::embedded {

inline void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
inline void PutI64(std::string* out, int64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
inline void PutBytes(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads from a byte range; every Get fails (returns false) past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool GetU8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool GetU32(uint32_t* v) { return GetRaw(v, 4); }
  bool GetI64(int64_t* v) { return GetRaw(v, 8); }
  bool GetBytes(std::string_view* v) {
    uint32_t n;
    if (!GetU32(&n) || in_.size() < n) return false;
    *v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  bool GetRaw(void* v, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(v, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

}  // namespace kubepp::storage::embedded
