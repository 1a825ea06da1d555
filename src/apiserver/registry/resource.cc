#include "apiserver/registry/resource.h"

#include <algorithm>

namespace kubepp::apiserver {

bool ResourceDef::HasSubresource(std::string_view name) const {
  for (const auto& s : subresources) {
    if (s.name == name) return true;
  }
  return false;
}

std::string ResourceDef::KeyPrefix() const {
  if (!key_prefix.empty()) return key_prefix;
  std::string r = storage_resource.empty() ? resource : storage_resource;
  return group.empty() ? "/registry/" + r + "/" : "/registry/" + group + "/" + r + "/";
}

std::string ResourceDef::Key(std::string_view ns, std::string_view name) const {
  std::string k = KeyPrefix();
  if (namespaced) {
    k.append(ns);
    k.push_back('/');
  }
  k.append(name);
  return k;
}

bool ResourceDef::HasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

ResourceDef& ResourceRegistry::Add(ResourceDef def) {
  auto g = std::find_if(groups_.begin(), groups_.end(), [&](const GroupInfo& gi) { return gi.name == def.group; });
  if (g == groups_.end()) {
    groups_.push_back({def.group, {def.version}});
  } else if (std::find(g->versions.begin(), g->versions.end(), def.version) == g->versions.end()) {
    g->versions.push_back(def.version);
  }
  if (def.list_kind.empty()) def.list_kind = def.kind + "List";
  resources_.push_back(std::make_unique<ResourceDef>(std::move(def)));
  return *resources_.back();
}

const ResourceDef* ResourceRegistry::Find(std::string_view group, std::string_view version,
                                          std::string_view resource) const {
  for (const auto& r : resources_) {
    if (r->group == group && r->version == version && r->resource == resource) return r.get();
  }
  return nullptr;
}

const ResourceDef* ResourceRegistry::FindKind(std::string_view group, std::string_view version,
                                              std::string_view kind) const {
  for (const auto& r : resources_) {
    if (r->group == group && r->version == version && r->kind == kind) return r.get();
  }
  return nullptr;
}

void ResourceRegistry::ForKind(std::string_view group, std::string_view kind,
                               const std::function<void(ResourceDef&)>& fn) {
  for (auto& r : resources_) {
    if (r->group == group && r->kind == kind) fn(*r);
  }
}

void ResourceRegistry::Prefer(std::string_view group, std::string_view version) {
  for (auto& g : groups_) {
    if (g.name != group) continue;
    auto it = std::find(g.versions.begin(), g.versions.end(), version);
    if (it != g.versions.end()) std::rotate(g.versions.begin(), it, it + 1);
  }
}

}  // namespace kubepp::apiserver
