#include "api/schema/schema.h"

#include <charconv>
#include <functional>
#include <mutex>

#include "common/log.h"

namespace kubepp::api::schema {
namespace {

struct Builtin {
  std::string_view name;
  Kind kind;
};

constexpr Builtin kBuiltins[] = {
    {"string", Kind::kString},
    {"bool", Kind::kBool},
    {"int32", Kind::kInt32},
    {"int64", Kind::kInt64},
    {"double", Kind::kDouble},
    {"bytes", Kind::kBytes},
    {"object", Kind::kAny},
    {"io.k8s.apimachinery.pkg.apis.meta.v1.Time", Kind::kTime},
    {"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime", Kind::kMicroTime},
    {"io.k8s.apimachinery.pkg.apis.meta.v1.Duration", Kind::kDuration},
    {"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", Kind::kFieldsV1},
    {"io.k8s.apimachinery.pkg.api.resource.Quantity", Kind::kQuantity},
    {"io.k8s.apimachinery.pkg.util.intstr.IntOrString", Kind::kIntOrString},
    {"io.k8s.apimachinery.pkg.runtime.RawExtension", Kind::kRawExtension},
};

// Splits a line into words; a double-quoted word may hold spaces and \" \\.
bool Tokenize(std::string_view line, std::vector<std::string>* out, std::string* err) {
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (c == '#') break;
    std::string word;
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char d = line[i++];
        if (d == '\\' && i < line.size()) {
          word.push_back(line[i++]);
        } else if (d == '"') {
          closed = true;
          break;
        } else {
          word.push_back(d);
        }
      }
      if (!closed) {
        *err = "unterminated string";
        return false;
      }
      out->push_back("\"" + word);  // marks a quoted word
      continue;
    }
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') word.push_back(line[i++]);
    out->push_back(std::move(word));
  }
  return true;
}

bool IsQuoted(const std::string& w) { return !w.empty() && w[0] == '"'; }

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool ParseTypeRef(std::string_view s, TypeRef* out) {
  if (s.substr(0, 2) == "[]") {
    out->kind = Kind::kArray;
    out->elem = std::make_shared<TypeRef>();
    return ParseTypeRef(s.substr(2), out->elem.get());
  }
  if (s.substr(0, 4) == "map[" && s.back() == ']') {
    out->kind = Kind::kMap;
    out->elem = std::make_shared<TypeRef>();
    return ParseTypeRef(s.substr(4, s.size() - 5), out->elem.get());
  }
  if (s.empty()) return false;
  for (const auto& b : kBuiltins) {
    if (s == b.name) {
      out->kind = b.kind;
      return true;
    }
  }
  out->kind = Kind::kStruct;
  out->name = std::string(s);
  return true;
}

}  // namespace

const Field* Type::FindField(std::string_view json_name, const Field** via) const {
  if (via != nullptr) *via = nullptr;
  auto it = by_name_.find(std::string(json_name));
  if (it != by_name_.end() && !fields[it->second].inline_) return &fields[it->second];
  for (const Field& f : fields) {
    if (!f.inline_ || f.type.type == nullptr) continue;
    const Field* inner = f.type.type->FindField(json_name);
    if (inner != nullptr) {
      if (via != nullptr) *via = &f;
      return inner;
    }
  }
  return nullptr;
}

const Field* Type::FindFieldByNumber(int number) const {
  auto it = by_number_.find(number);
  return it == by_number_.end() ? nullptr : &fields[it->second];
}

Status Registry::Parse(std::string_view text, std::string_view filename) {
  std::string package;
  Type* current = nullptr;
  int lineno = 0;
  size_t pos = 0;
  auto fail = [&](const std::string& why) {
    return Status::BadRequest(std::string(filename) + ":" + std::to_string(lineno) + ": " + why);
  };
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    std::vector<std::string> w;
    std::string err;
    if (!Tokenize(line, &w, &err)) return fail(err);
    if (w.empty()) continue;
    bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    const std::string& head = w[0];
    if (!indented) {
      if (head == "package") {
        if (w.size() != 2) return fail("package takes one name");
        package = w[1];
        current = nullptr;
      } else if (head == "type") {
        if (w.size() != 2) return fail("type takes one name");
        if (package.empty()) return fail("type before any package");
        auto t = std::make_unique<Type>();
        t->package = package;
        t->name = w[1];
        t->full_name = package + "." + w[1];
        if (by_full_name_.count(t->full_name)) return fail("type " + t->full_name + " defined twice");
        current = t.get();
        by_full_name_[t->full_name] = t.get();
        types_.push_back(std::move(t));
      } else {
        return fail("expected 'package' or 'type', got '" + head + "'");
      }
      continue;
    }
    if (current == nullptr) return fail("indented line outside a type");
    if (head == "doc") {
      if (w.size() != 2 || !IsQuoted(w[1])) return fail("doc takes one quoted string");
      current->doc = w[1].substr(1);
    } else if (head == "gvk") {
      if (w.size() != 4) return fail("gvk takes group version kind");
      GroupVersionKind g;
      g.group = IsQuoted(w[1]) ? w[1].substr(1) : w[1];
      g.version = w[2];
      g.kind = w[3];
      current->gvks.push_back(std::move(g));
    } else if (head == "field") {
      if (w.size() < 4) return fail("field takes name, type and number");
      Field f;
      f.name = w[1];
      if (IsQuoted(w[1]) || IsQuoted(w[2]) || !ParseTypeRef(w[2], &f.type)) return fail("bad field type");
      auto [p, ec] = std::from_chars(w[3].data(), w[3].data() + w[3].size(), f.number);
      if (ec != std::errc() || p != w[3].data() + w[3].size() || f.number < 0) return fail("bad field number '" + w[3] + "'");
      for (size_t i = 4; i < w.size(); ++i) {
        const std::string& a = w[i];
        if (IsQuoted(a)) {
          if (i + 1 != w.size()) return fail("the description must come last");
          f.doc = a.substr(1);
        } else if (a == "required") {
          f.required = true;
        } else if (a == "zero") {
          f.keep_zero = true;
        } else if (a == "inline") {
          f.inline_ = true;
        } else if (a.rfind("merge=", 0) == 0) {
          f.merge_key = a.substr(6);
        } else if (a.rfind("strategy=", 0) == 0) {
          f.strategy = a.substr(9);
        } else if (a.rfind("list=", 0) == 0) {
          f.list_type = a.substr(5);
          if (f.list_type != "atomic" && f.list_type != "set" && f.list_type != "map") return fail("bad list type");
        } else if (a.rfind("keys=", 0) == 0) {
          f.list_keys = SplitComma(a.substr(5));
        } else if (a.rfind("enum=", 0) == 0) {
          f.enum_values = SplitComma(a.substr(5));
        } else {
          return fail("unknown field attribute '" + a + "'");
        }
      }
      if (current->by_name_.count(f.name)) return fail("field " + f.name + " defined twice");
      if (f.number != 0 && current->by_number_.count(f.number)) {
        return fail("field number " + std::to_string(f.number) + " used twice");
      }
      current->by_name_[f.name] = current->fields.size();
      if (f.number != 0) current->by_number_[f.number] = current->fields.size();
      current->fields.push_back(std::move(f));
    } else {
      return fail("expected 'doc', 'gvk' or 'field', got '" + head + "'");
    }
  }
  return Status::OK();
}

Status Registry::Resolve() {
  std::vector<std::string> missing;
  std::function<void(TypeRef&, const std::string&)> resolve = [&](TypeRef& r, const std::string& package) {
    if (r.kind == Kind::kArray || r.kind == Kind::kMap) {
      resolve(*r.elem, package);
      return;
    }
    if (r.kind != Kind::kStruct) return;
    auto it = by_full_name_.find(package + "." + r.name);
    if (it == by_full_name_.end()) it = by_full_name_.find(r.name);
    if (it == by_full_name_.end()) {
      missing.push_back(r.name + " (from " + package + ")");
      return;
    }
    r.type = it->second;
  };
  for (auto& t : types_) {
    for (auto& f : t->fields) resolve(f.type, t->package);
  }
  if (!missing.empty()) {
    std::string msg = "unresolved types:";
    for (const auto& m : missing) msg += " " + m;
    return Status::BadRequest(msg);
  }
  return Status::OK();
}

const Type* Registry::Find(std::string_view full_name) const {
  auto it = by_full_name_.find(std::string(full_name));
  return it == by_full_name_.end() ? nullptr : it->second;
}

const Type* Registry::FindKind(std::string_view group, std::string_view version, std::string_view kind) const {
  for (const auto& t : types_) {
    for (const auto& g : t->gvks) {
      if (g.group == group && g.version == version && g.kind == kind) return t.get();
    }
  }
  return nullptr;
}

// Generated at build time from defs/*.schema (cmake/embed_schema.cmake).
extern const char* const kSchemaFiles[];
extern const char* const kSchemaFileNames[];
extern const size_t kSchemaFileCount;

const Registry& Builtin() {
  static Registry* registry = [] {
    auto* r = new Registry();
    for (size_t i = 0; i < kSchemaFileCount; ++i) {
      Status st = r->Parse(kSchemaFiles[i], kSchemaFileNames[i]);
      if (!st.ok()) log::Logger("schema").Fatal("built-in schema does not parse", {{"err", st}});
    }
    Status st = r->Resolve();
    if (!st.ok()) log::Logger("schema").Fatal("built-in schema does not resolve", {{"err", st}});
    return r;
  }();
  return *registry;
}

}  // namespace kubepp::api::schema
