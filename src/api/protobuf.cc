#include "api/protobuf.h"

#include <boost/json.hpp>
#include <cstring>

#include "api/time.h"
#include "common/base64.h"
#include "common/json.h"

namespace kubepp::api {
namespace bj = boost::json;
namespace {

using schema::Field;
using schema::Kind;
using schema::TypeRef;

constexpr int64_t kZeroTimeSeconds = -62135596800;  // Go's time.Time{} as Unix seconds

Status Malformed(std::string what) { return Status::BadRequest("unable to decode protobuf body: " + what); }

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (pos_ + 8 > in_.size()) return false;
    std::memcpy(v, in_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (pos_ + 4 > in_.size()) return false;
    std::memcpy(v, in_.data() + pos_, 4);
    pos_ += 4;
    return true;
  }
  bool Bytes(std::string_view* v) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size() - pos_) return false;
    *v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Skips a field of `wire` type.
  bool Skip(int wire) {
    uint64_t u;
    uint32_t f;
    std::string_view b;
    switch (wire) {
      case 0: return Varint(&u);
      case 1: return Fixed64(&u);
      case 2: return Bytes(&b);
      case 5: return Fixed32(&f);
      default: return false;
    }
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// The protobuf bytes of one occurrence of a field, with its wire type.
struct Occurrence {
  int wire;
  uint64_t varint = 0;
  uint64_t fixed = 0;
  std::string_view bytes;
};

std::string GoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  if (u < 1000000000ull) {
    // Sub-second: ms/us/ns units as Go prints them.
    char buf[64];
    if (u < 1000) {
      std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(u), "ns");
    } else if (u < 1000000) {
      std::snprintf(buf, sizeof buf, "%g%s", static_cast<double>(u) / 1e3, "µs");
    } else {
      std::snprintf(buf, sizeof buf, "%g%s", static_cast<double>(u) / 1e6, "ms");
    }
    return sign + buf;
  }
  uint64_t h = u / 3600000000000ull;
  uint64_t rem = u % 3600000000000ull;
  uint64_t m = rem / 60000000000ull;
  rem %= 60000000000ull;
  double s = static_cast<double>(rem) / 1e9;
  std::string out = sign;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  out += buf;
  out += "s";
  return out;
}

Result<bj::value> DecodeScalar(const TypeRef& t, const Occurrence& o);

Result<bj::value> DecodeTime(std::string_view bytes, bool micro) {
  Reader r(bytes);
  int64_t seconds = 0, nanos = 0;
  while (!r.done()) {
    uint64_t key;
    if (!r.Varint(&key)) return Malformed("bad Time");
    uint64_t v;
    if ((key & 7) != 0 || !r.Varint(&v)) return Malformed("bad Time");
    if ((key >> 3) == 1) seconds = static_cast<int64_t>(v);
    if ((key >> 3) == 2) nanos = static_cast<int32_t>(v);
  }
  // Go encodes a zero time as an empty message (or as year 1): both are null.
  if ((seconds == kZeroTimeSeconds || seconds == 0) && nanos == 0) return bj::value(nullptr);
  WallTime t = std::chrono::system_clock::time_point(std::chrono::seconds(seconds)) +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos));
  return bj::value(bj::string(micro ? FormatMicroTime(t) : FormatTime(t)));
}

Result<bj::value> DecodeWellKnown(const TypeRef& t, std::string_view bytes) {
  Reader r(bytes);
  switch (t.kind) {
    case Kind::kTime:
      return DecodeTime(bytes, false);
    case Kind::kMicroTime:
      return DecodeTime(bytes, true);
    case Kind::kDuration: {
      int64_t ns = 0;
      while (!r.done()) {
        uint64_t key, v;
        if (!r.Varint(&key)) return Malformed("bad Duration");
        if ((key & 7) != 0 || !r.Varint(&v)) return Malformed("bad Duration");
        if ((key >> 3) == 1) ns = static_cast<int64_t>(v);
      }
      return bj::value(bj::string(GoDuration(ns)));
    }
    case Kind::kQuantity: {
      std::string s;
      while (!r.done()) {
        uint64_t key;
        std::string_view b;
        if (!r.Varint(&key)) return Malformed("bad Quantity");
        if ((key & 7) == 2 && (key >> 3) == 1) {
          if (!r.Bytes(&b)) return Malformed("bad Quantity");
          s = std::string(b);
        } else if (!r.Skip(static_cast<int>(key & 7))) {
          return Malformed("bad Quantity");
        }
      }
      return bj::value(bj::string(s));
    }
    case Kind::kIntOrString: {
      int64_t type = 0, iv = 0;
      std::string sv;
      while (!r.done()) {
        uint64_t key, v;
        std::string_view b;
        if (!r.Varint(&key)) return Malformed("bad IntOrString");
        int f = static_cast<int>(key >> 3);
        if ((key & 7) == 0) {
          if (!r.Varint(&v)) return Malformed("bad IntOrString");
          if (f == 1) type = static_cast<int64_t>(v);
          if (f == 2) iv = static_cast<int32_t>(v);
        } else if ((key & 7) == 2) {
          if (!r.Bytes(&b)) return Malformed("bad IntOrString");
          if (f == 3) sv = std::string(b);
        } else if (!r.Skip(static_cast<int>(key & 7))) {
          return Malformed("bad IntOrString");
        }
      }
      if (type == 1) return bj::value(bj::string(sv));
      return bj::value(iv);
    }
    case Kind::kRawExtension:
    case Kind::kFieldsV1: {
      std::string_view raw;
      while (!r.done()) {
        uint64_t key;
        if (!r.Varint(&key)) return Malformed("bad raw field");
        if ((key & 7) == 2 && (key >> 3) == 1) {
          if (!r.Bytes(&raw)) return Malformed("bad raw field");
        } else if (!r.Skip(static_cast<int>(key & 7))) {
          return Malformed("bad raw field");
        }
      }
      if (raw.empty()) return bj::value(nullptr);
      auto v = json::Parse(raw);
      if (!v.ok()) return Malformed("embedded raw object is not JSON");
      return std::move(*v);
    }
    default:
      return Malformed("unexpected well-known type");
  }
}

bool IsZero(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: return true;
    case bj::kind::bool_: return !v.get_bool();
    case bj::kind::int64: return v.get_int64() == 0;
    case bj::kind::uint64: return v.get_uint64() == 0;
    case bj::kind::double_: return v.get_double() == 0;
    case bj::kind::string: return v.get_string().empty();
    default: return false;
  }
}

Result<bj::value> DecodeScalar(const TypeRef& t, const Occurrence& o) {
  switch (t.kind) {
    case Kind::kString:
      if (o.wire != 2) return Malformed("string field with wire type " + std::to_string(o.wire));
      return bj::value(bj::string(o.bytes));
    case Kind::kBytes:
      if (o.wire != 2) return Malformed("bytes field with wire type " + std::to_string(o.wire));
      return bj::value(bj::string(Base64Encode(o.bytes)));
    case Kind::kBool:
      if (o.wire != 0) return Malformed("bool field with wire type " + std::to_string(o.wire));
      return bj::value(o.varint != 0);
    case Kind::kInt32:
      if (o.wire != 0) return Malformed("int32 field with wire type " + std::to_string(o.wire));
      return bj::value(static_cast<int64_t>(static_cast<int32_t>(o.varint)));
    case Kind::kInt64:
      if (o.wire != 0) return Malformed("int64 field with wire type " + std::to_string(o.wire));
      return bj::value(static_cast<int64_t>(o.varint));
    case Kind::kDouble: {
      if (o.wire != 1) return Malformed("double field with wire type " + std::to_string(o.wire));
      double d;
      std::memcpy(&d, &o.fixed, 8);
      return bj::value(d);
    }
    case Kind::kStruct:
      if (o.wire != 2) return Malformed("message field with wire type " + std::to_string(o.wire));
      return DecodeMessage(o.bytes, t.type);
    case Kind::kAny:
      if (o.wire != 2) return Malformed("object field with wire type " + std::to_string(o.wire));
      {
        auto v = json::Parse(o.bytes);
        return v.ok() ? std::move(*v) : bj::value(bj::string(o.bytes));
      }
    default:
      if (o.wire != 2) return Malformed("message field with wire type " + std::to_string(o.wire));
      return DecodeWellKnown(t, o.bytes);
  }
}

// Reads the packed or unpacked occurrences of a repeated scalar.
Status AppendRepeated(const TypeRef& elem, const Occurrence& o, bj::array* out) {
  bool numeric = elem.kind == Kind::kInt32 || elem.kind == Kind::kInt64 || elem.kind == Kind::kBool ||
                 elem.kind == Kind::kDouble;
  if (numeric && o.wire == 2) {
    Reader r(o.bytes);
    while (!r.done()) {
      Occurrence e{elem.kind == Kind::kDouble ? 1 : 0};
      bool ok = elem.kind == Kind::kDouble ? r.Fixed64(&e.fixed) : r.Varint(&e.varint);
      if (!ok) return Malformed("bad packed field");
      ASSIGN_OR_RETURN(bj::value v, DecodeScalar(elem, e));
      out->push_back(std::move(v));
    }
    return Status::OK();
  }
  ASSIGN_OR_RETURN(bj::value v, DecodeScalar(elem, o));
  out->push_back(std::move(v));
  return Status::OK();
}

Status AddMapEntry(const TypeRef& elem, std::string_view entry, bj::object* out) {
  Reader r(entry);
  std::string key;
  bj::value value = nullptr;
  bool have_value = false;
  while (!r.done()) {
    uint64_t k;
    if (!r.Varint(&k)) return Malformed("bad map entry");
    Occurrence o{static_cast<int>(k & 7)};
    bool ok = o.wire == 0 ? r.Varint(&o.varint) : o.wire == 1 ? r.Fixed64(&o.fixed) : o.wire == 2 ? r.Bytes(&o.bytes) : false;
    if (!ok) return Malformed("bad map entry");
    if ((k >> 3) == 1) {
      key = std::string(o.bytes);
    } else if ((k >> 3) == 2) {
      ASSIGN_OR_RETURN(value, DecodeScalar(elem, o));
      have_value = true;
    }
  }
  if (!have_value) {
    // The value's zero form.
    switch (elem.kind) {
      case Kind::kString:
      case Kind::kBytes:
      case Kind::kQuantity:
        value = bj::string();
        break;
      case Kind::kStruct:
        value = bj::object();
        break;
      default:
        break;
    }
  }
  (*out)[key] = std::move(value);
  return Status::OK();
}

Status DecodeInto(std::string_view bytes, const schema::Type* type, bj::object* out) {
  Reader r(bytes);
  while (!r.done()) {
    uint64_t key;
    if (!r.Varint(&key)) return Malformed("bad field key");
    Occurrence o{static_cast<int>(key & 7)};
    bool ok;
    switch (o.wire) {
      case 0: ok = r.Varint(&o.varint); break;
      case 1: ok = r.Fixed64(&o.fixed); break;
      case 2: ok = r.Bytes(&o.bytes); break;
      case 5: {
        uint32_t f = 0;
        ok = r.Fixed32(&f);
        o.fixed = f;
        break;
      }
      default: ok = false;
    }
    if (!ok) return Malformed("truncated field");
    const Field* f = type != nullptr ? type->FindFieldByNumber(static_cast<int>(key >> 3)) : nullptr;
    if (f == nullptr) continue;  // unknown to us: dropped, as an unknown JSON field would be
    const TypeRef& t = f->type;
    if (f->inline_ && t.kind == Kind::kStruct) {
      if (o.wire != 2) return Malformed("inline message with wire type " + std::to_string(o.wire));
      RETURN_IF_ERROR(DecodeInto(o.bytes, t.type, out));
      continue;
    }
    if (t.kind == Kind::kArray) {
      auto it = out->find(f->name);
      if (it == out->end()) it = out->emplace(f->name, bj::array()).first;
      RETURN_IF_ERROR(AppendRepeated(*t.elem, o, &it->value().get_array()));
      continue;
    }
    if (t.kind == Kind::kMap) {
      if (o.wire != 2) return Malformed("map entry with wire type " + std::to_string(o.wire));
      auto it = out->find(f->name);
      if (it == out->end()) it = out->emplace(f->name, bj::object()).first;
      RETURN_IF_ERROR(AddMapEntry(*t.elem, o.bytes, &it->value().get_object()));
      continue;
    }
    ASSIGN_OR_RETURN(bj::value v, DecodeScalar(t, o));
    if (v.is_null()) {
      out->erase(f->name);
      continue;
    }
    if (!f->keep_zero && IsZero(v)) {
      out->erase(f->name);
      continue;
    }
    (*out)[f->name] = std::move(v);
  }
  return Status::OK();
}

}  // namespace

Result<UnknownEnvelope> DecodeUnknown(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, 4) != kMagic) return Malformed("missing the k8s protobuf magic prefix");
  Reader r(body.substr(4));
  UnknownEnvelope env;
  while (!r.done()) {
    uint64_t key;
    std::string_view b;
    if (!r.Varint(&key)) return Malformed("bad envelope");
    if ((key & 7) != 2) {
      if (!r.Skip(static_cast<int>(key & 7))) return Malformed("bad envelope");
      continue;
    }
    if (!r.Bytes(&b)) return Malformed("truncated envelope");
    switch (key >> 3) {
      case 1: {
        Reader tm(b);
        while (!tm.done()) {
          uint64_t k;
          std::string_view v;
          if (!tm.Varint(&k) || (k & 7) != 2 || !tm.Bytes(&v)) return Malformed("bad TypeMeta");
          if ((k >> 3) == 1) env.api_version = std::string(v);
          if ((k >> 3) == 2) env.kind = std::string(v);
        }
        break;
      }
      case 2: env.raw = std::string(b); break;
      case 3: env.content_encoding = std::string(b); break;
      case 4: env.content_type = std::string(b); break;
      default: break;
    }
  }
  return env;
}

Result<bj::value> DecodeMessage(std::string_view bytes, const schema::Type* type) {
  bj::object out;
  RETURN_IF_ERROR(DecodeInto(bytes, type, &out));
  return bj::value(std::move(out));
}

Result<bj::value> DecodeProtobufObject(std::string_view body, const schema::Registry& registry) {
  ASSIGN_OR_RETURN(UnknownEnvelope env, DecodeUnknown(body));
  if (!env.content_encoding.empty()) return Malformed("content encoding " + env.content_encoding + " is not supported");
  std::string group, version = env.api_version;
  if (size_t slash = env.api_version.find('/'); slash != std::string::npos) {
    group = env.api_version.substr(0, slash);
    version = env.api_version.substr(slash + 1);
  }
  const schema::Type* type = registry.FindKind(group, version, env.kind);
  if (type == nullptr) {
    return Status(Code::kUnsupportedMediaType, "no kind \"" + env.kind + "\" is registered for version \"" +
                                                   env.api_version + "\"");
  }
  ASSIGN_OR_RETURN(bj::value obj, DecodeMessage(env.raw, type));
  bj::object out;
  out["apiVersion"] = env.api_version;
  out["kind"] = env.kind;
  for (auto& [k, v] : obj.get_object()) out[k] = std::move(v);
  return bj::value(std::move(out));
}

}  // namespace kubepp::api
