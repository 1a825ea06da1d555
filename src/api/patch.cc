#include "api/patch.h"

#include <boost/json.hpp>
#include <charconv>

namespace kubepp::api {
namespace bj = boost::json;
namespace {

using schema::Field;
using schema::Kind;
using schema::TypeRef;

Status PatchError(std::string msg) { return Status::Invalid("the server rejected our request due to an error in our request: " + msg); }

// --- JSON patch -------------------------------------------------------------

Result<std::vector<std::string>> ParsePointer(std::string_view ptr) {
  std::vector<std::string> out;
  if (ptr.empty()) return out;
  if (ptr[0] != '/') return PatchError("JSON pointer must start with '/': " + std::string(ptr));
  size_t start = 1;
  for (;;) {
    size_t end = ptr.find('/', start);
    std::string_view raw = ptr.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    std::string tok;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        if (raw[i + 1] == '0') {
          tok.push_back('~');
          ++i;
          continue;
        }
        if (raw[i + 1] == '1') {
          tok.push_back('/');
          ++i;
          continue;
        }
      }
      tok.push_back(raw[i]);
    }
    out.push_back(std::move(tok));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool ArrayIndex(std::string_view tok, size_t size, bool allow_end, size_t* idx) {
  if (tok == "-") {
    *idx = size;
    return allow_end;
  }
  if (tok.empty() || (tok.size() > 1 && tok[0] == '0')) return false;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), *idx);
  if (ec != std::errc() || p != tok.data() + tok.size()) return false;
  return allow_end ? *idx <= size : *idx < size;
}

// The container holding the last token of `path`, or an error.
Result<bj::value*> Parent(bj::value& doc, const std::vector<std::string>& path, std::string_view op) {
  bj::value* cur = &doc;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (auto* o = cur->if_object()) {
      auto it = o->find(path[i]);
      if (it == o->end()) return PatchError("jsonpatch " + std::string(op) + " operation does not apply: doc is missing path");
      cur = &it->value();
    } else if (auto* a = cur->if_array()) {
      size_t idx;
      if (!ArrayIndex(path[i], a->size(), false, &idx)) return PatchError("jsonpatch " + std::string(op) + " operation does not apply: invalid index");
      cur = &(*a)[idx];
    } else {
      return PatchError("jsonpatch " + std::string(op) + " operation does not apply: doc is missing path");
    }
  }
  return cur;
}

Result<bj::value> Get(bj::value& doc, const std::vector<std::string>& path) {
  if (path.empty()) return doc;
  ASSIGN_OR_RETURN(bj::value * parent, Parent(doc, path, "copy"));
  if (auto* o = parent->if_object()) {
    auto it = o->find(path.back());
    if (it == o->end()) return PatchError("jsonpatch operation does not apply: doc is missing key: " + path.back());
    return it->value();
  }
  if (auto* a = parent->if_array()) {
    size_t idx;
    if (!ArrayIndex(path.back(), a->size(), false, &idx)) return PatchError("jsonpatch operation does not apply: invalid index");
    return (*a)[idx];
  }
  return PatchError("jsonpatch operation does not apply: doc is missing path");
}

Status Add(bj::value& doc, const std::vector<std::string>& path, bj::value v) {
  if (path.empty()) {
    doc = std::move(v);
    return Status::OK();
  }
  ASSIGN_OR_RETURN(bj::value * parent, Parent(doc, path, "add"));
  if (auto* o = parent->if_object()) {
    (*o)[path.back()] = std::move(v);
    return Status::OK();
  }
  if (auto* a = parent->if_array()) {
    size_t idx;
    if (!ArrayIndex(path.back(), a->size(), true, &idx)) return PatchError("jsonpatch add operation does not apply: invalid index");
    a->insert(a->begin() + static_cast<ptrdiff_t>(idx), std::move(v));
    return Status::OK();
  }
  return PatchError("jsonpatch add operation does not apply: doc is missing path");
}

Status Remove(bj::value& doc, const std::vector<std::string>& path, std::string_view op) {
  if (path.empty()) return PatchError("jsonpatch remove operation does not apply: cannot remove the root");
  ASSIGN_OR_RETURN(bj::value * parent, Parent(doc, path, op));
  if (auto* o = parent->if_object()) {
    if (o->erase(path.back()) == 0) {
      return PatchError("jsonpatch " + std::string(op) + " operation does not apply: doc is missing key: /" + path.back());
    }
    return Status::OK();
  }
  if (auto* a = parent->if_array()) {
    size_t idx;
    if (!ArrayIndex(path.back(), a->size(), false, &idx)) return PatchError("jsonpatch " + std::string(op) + " operation does not apply: invalid index");
    a->erase(a->begin() + static_cast<ptrdiff_t>(idx));
    return Status::OK();
  }
  return PatchError("jsonpatch " + std::string(op) + " operation does not apply: doc is missing path");
}

// --- strategic merge ---------------------------------------------------------

constexpr std::string_view kPatch = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitive = "$deleteFromPrimitiveList/";

bool HasMergeStrategy(const Field* f) { return f != nullptr && f->strategy.find("merge") != std::string::npos; }

const schema::Type* StructOf(const TypeRef* t) { return t != nullptr && t->kind == Kind::kStruct ? t->type : nullptr; }

Result<bj::value> MergeValue(const bj::value& orig, const bj::value& patch, const TypeRef* type, const Field* field);

Result<bj::value> MergeObject(const bj::value& orig_v, const bj::object& patch, const schema::Type* type,
                              const TypeRef* map_elem) {
  // $patch directives on the map itself.
  if (const auto* p = patch.if_contains(kPatch); p != nullptr && p->is_string()) {
    std::string_view d = p->get_string();
    if (d == "replace") {
      bj::object out = patch;
      out.erase(kPatch);
      return bj::value(std::move(out));
    }
    if (d == "delete") return bj::value(nullptr);
    if (d != "merge") return PatchError("unknown patch type: " + std::string(d));
  }
  bj::object out = orig_v.is_object() ? orig_v.get_object() : bj::object();
  std::vector<std::string> retain;
  bool has_retain = false;
  if (const auto* rk = patch.if_contains(kRetainKeys); rk != nullptr) {
    if (!rk->is_array()) return PatchError("$retainKeys must be a list of field names");
    has_retain = true;
    for (const auto& k : rk->get_array()) {
      if (k.is_string()) retain.emplace_back(k.get_string());
    }
  }
  // Deletions from primitive lists first, then the fields.
  for (const auto& [key, value] : patch) {
    if (key.starts_with(kDeleteFromPrimitive)) {
      std::string name(key.substr(kDeleteFromPrimitive.size()));
      if (!value.is_array()) return PatchError(std::string(key) + " must be a list");
      auto it = out.find(name);
      if (it != out.end() && it->value().is_array()) {
        bj::array kept;
        for (const auto& e : it->value().get_array()) {
          bool drop = false;
          for (const auto& d : value.get_array()) {
            if (d == e) drop = true;
          }
          if (!drop) kept.push_back(e);
        }
        it->value() = std::move(kept);
      }
    }
  }
  for (const auto& [key, value] : patch) {
    if (key == kPatch || key == kRetainKeys || key.starts_with(kDeleteFromPrimitive) || key.starts_with(kSetElementOrder)) {
      continue;
    }
    const Field* f = type != nullptr ? type->FindField(key) : nullptr;
    const TypeRef* ftype = f != nullptr ? &f->type : map_elem;
    if (value.is_null()) {
      out.erase(key);
      continue;
    }
    auto it = out.find(key);
    if (it == out.end()) {
      // New: still apply directives inside (e.g. nested $patch, $setElementOrder).
      ASSIGN_OR_RETURN(bj::value merged, MergeValue(bj::value(nullptr), value, ftype, f));
      if (!merged.is_null()) out[key] = std::move(merged);
    } else {
      ASSIGN_OR_RETURN(bj::value merged, MergeValue(it->value(), value, ftype, f));
      if (merged.is_null() && value.is_object()) {
        out.erase(key);
      } else {
        it->value() = std::move(merged);
      }
    }
  }
  // $setElementOrder/<list>: reorder the merged list.
  for (const auto& [key, value] : patch) {
    if (!key.starts_with(kSetElementOrder) || !value.is_array()) continue;
    std::string name(key.substr(kSetElementOrder.size()));
    auto it = out.find(name);
    if (it == out.end() || !it->value().is_array()) continue;
    const Field* f = type != nullptr ? type->FindField(name) : nullptr;
    std::string mk = f != nullptr ? f->merge_key : "";
    bj::array& list = it->value().get_array();
    auto key_of = [&](const bj::value& e) -> bj::value {
      if (!mk.empty() && e.is_object()) {
        const auto* kv = e.get_object().if_contains(mk);
        return kv != nullptr ? *kv : bj::value(nullptr);
      }
      return e;
    };
    bj::array ordered;
    std::vector<bool> used(list.size(), false);
    for (const auto& want : value.get_array()) {
      bj::value wk = want.is_object() && !mk.empty() ? key_of(want) : want;
      for (size_t i = 0; i < list.size(); ++i) {
        if (!used[i] && key_of(list[i]) == wk) {
          ordered.push_back(list[i]);
          used[i] = true;
          break;
        }
      }
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (!used[i]) ordered.push_back(list[i]);
    }
    list = std::move(ordered);
  }
  if (has_retain) {
    bj::object kept;
    for (const auto& k : retain) {
      auto it = out.find(k);
      if (it != out.end()) kept[k] = it->value();
    }
    out = std::move(kept);
  }
  return bj::value(std::move(out));
}

Result<bj::value> MergeList(const bj::value& orig_v, const bj::array& patch, const TypeRef* type, const Field* field) {
  const TypeRef* elem = type != nullptr && type->kind == Kind::kArray ? type->elem.get() : nullptr;
  // A {"$patch": "replace"} element replaces the whole list with the others.
  bool replace = false;
  for (const auto& e : patch) {
    if (e.is_object()) {
      const auto* p = e.get_object().if_contains(kPatch);
      if (p != nullptr && p->is_string() && p->get_string() == "replace" && e.get_object().size() == 1) replace = true;
    }
  }
  if (replace) {
    bj::array out;
    for (const auto& e : patch) {
      if (e.is_object() && e.get_object().if_contains(kPatch) != nullptr && e.get_object().size() == 1) continue;
      out.push_back(e);
    }
    return bj::value(std::move(out));
  }
  if (!HasMergeStrategy(field)) return bj::value(patch);  // atomic: replace
  bj::array out = orig_v.is_array() ? orig_v.get_array() : bj::array();
  const std::string& mk = field->merge_key;
  if (mk.empty()) {
    // A merged list of primitives: a set union in order.
    for (const auto& e : patch) {
      bool have = false;
      for (const auto& o : out) {
        if (o == e) have = true;
      }
      if (!have) out.push_back(e);
    }
    return bj::value(std::move(out));
  }
  for (const auto& e : patch) {
    if (!e.is_object()) return PatchError("list elements of a merge-by-key list must be objects");
    const bj::object& pe = e.get_object();
    const auto* key = pe.if_contains(mk);
    const auto* directive = pe.if_contains(kPatch);
    if (key == nullptr) {
      if (directive != nullptr) continue;
      return PatchError("map: " + bj::serialize(e) + " does not contain declared merge key: " + mk);
    }
    size_t found = out.size();
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].is_object()) {
        const auto* ok = out[i].get_object().if_contains(mk);
        if (ok != nullptr && *ok == *key) {
          found = i;
          break;
        }
      }
    }
    if (directive != nullptr && directive->is_string() && directive->get_string() == "delete") {
      if (found < out.size()) out.erase(out.begin() + static_cast<ptrdiff_t>(found));
      continue;
    }
    const schema::Type* et = StructOf(elem);
    if (found < out.size()) {
      ASSIGN_OR_RETURN(bj::value merged, MergeObject(out[found], pe, et, nullptr));
      out[found] = std::move(merged);
    } else {
      ASSIGN_OR_RETURN(bj::value merged, MergeObject(bj::value(nullptr), pe, et, nullptr));
      out.push_back(std::move(merged));
    }
  }
  return bj::value(std::move(out));
}

Result<bj::value> MergeValue(const bj::value& orig, const bj::value& patch, const TypeRef* type, const Field* field) {
  if (patch.is_object()) {
    if (type != nullptr && (type->kind == Kind::kAny || type->kind == Kind::kRawExtension || type->kind == Kind::kFieldsV1)) {
      return MergePatch(orig, patch);
    }
    const TypeRef* map_elem = type != nullptr && type->kind == Kind::kMap ? type->elem.get() : nullptr;
    return MergeObject(orig, patch.get_object(), StructOf(type), map_elem);
  }
  if (patch.is_array()) return MergeList(orig, patch.get_array(), type, field);
  return patch;
}

}  // namespace

bj::value MergePatch(const bj::value& target, const bj::value& patch) {
  if (!patch.is_object()) return patch;
  bj::object out = target.is_object() ? target.get_object() : bj::object();
  for (const auto& [k, v] : patch.get_object()) {
    if (v.is_null()) {
      out.erase(k);
      continue;
    }
    auto it = out.find(k);
    out[k] = MergePatch(it != out.end() ? it->value() : bj::value(nullptr), v);
  }
  return out;
}

Result<bj::value> JsonPatch(const bj::value& target, const bj::value& patch) {
  if (!patch.is_array()) return PatchError("json patch must be a list of operations");
  bj::value doc = target;
  for (const auto& opv : patch.get_array()) {
    if (!opv.is_object()) return PatchError("json patch operations must be objects");
    const auto& op = opv.get_object();
    const auto* opname = op.if_contains("op");
    const auto* pathv = op.if_contains("path");
    if (opname == nullptr || !opname->is_string()) return PatchError("json patch operation has no \"op\"");
    if (pathv == nullptr || !pathv->is_string()) return PatchError("json patch operation has no \"path\"");
    std::string_view name = opname->get_string();
    ASSIGN_OR_RETURN(auto path, ParsePointer(pathv->get_string()));
    if (name == "add" || name == "replace" || name == "test") {
      const auto* v = op.if_contains("value");
      if (v == nullptr) return PatchError("json patch " + std::string(name) + " operation has no \"value\"");
      if (name == "add") {
        RETURN_IF_ERROR(Add(doc, path, *v));
      } else if (name == "replace") {
        if (path.empty()) {
          doc = *v;
        } else {
          RETURN_IF_ERROR(Remove(doc, path, "replace"));
          RETURN_IF_ERROR(Add(doc, path, *v));
        }
      } else {
        auto cur = Get(doc, path);
        if (!cur.ok() || *cur != *v) return PatchError("testing value " + std::string(pathv->get_string()) + " failed");
      }
    } else if (name == "remove") {
      RETURN_IF_ERROR(Remove(doc, path, "remove"));
    } else if (name == "move" || name == "copy") {
      const auto* fromv = op.if_contains("from");
      if (fromv == nullptr || !fromv->is_string()) return PatchError("json patch " + std::string(name) + " operation has no \"from\"");
      ASSIGN_OR_RETURN(auto from, ParsePointer(fromv->get_string()));
      ASSIGN_OR_RETURN(bj::value v, Get(doc, from));
      if (name == "move") RETURN_IF_ERROR(Remove(doc, from, "move"));
      RETURN_IF_ERROR(Add(doc, path, std::move(v)));
    } else {
      return PatchError("unexpected kind of json patch operation: " + std::string(name));
    }
  }
  return doc;
}

Result<bj::value> StrategicMergePatch(const bj::value& original, const bj::value& patch, const schema::Type* type) {
  if (!patch.is_object()) return PatchError("strategic merge patch must be a JSON object");
  return MergeObject(original, patch.get_object(), type, nullptr);
}

}  // namespace kubepp::api
