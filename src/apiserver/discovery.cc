#include "apiserver/discovery.h"

#include <boost/json.hpp>

namespace kubepp::apiserver {
namespace {

bj::array Strings(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(bj::string(s));
  return a;
}

bj::object AggResource(const ResourceDef& d) {
  bj::object r;
  r["resource"] = d.resource;
  r["responseKind"] = bj::object{{"group", ""}, {"version", ""}, {"kind", d.kind}};
  r["scope"] = d.namespaced ? "Namespaced" : "Cluster";
  r["singularResource"] = d.singular;
  r["verbs"] = Strings(d.verbs);
  if (!d.short_names.empty()) r["shortNames"] = Strings(d.short_names);
  if (!d.categories.empty()) r["categories"] = Strings(d.categories);
  if (!d.subresources.empty()) {
    bj::array subs;
    for (const auto& s : d.subresources) {
      bool same = s.kind == d.kind && s.group == d.group;
      bj::object rk{{"group", same ? "" : s.group}, {"version", same ? "" : s.version}, {"kind", s.kind}};
      subs.push_back(bj::object{{"subresource", s.name}, {"responseKind", std::move(rk)}, {"verbs", Strings(s.verbs)}});
    }
    r["subresources"] = std::move(subs);
  }
  return r;
}

}  // namespace

Discovery::Discovery(const ResourceRegistry& registry, std::string server_address) {
  // Aggregated documents.
  for (const char* agg_version : {"v2", "v2beta1"}) {
    bj::array core_items, apis_items;
    for (const auto& g : registry.groups()) {
      bj::array versions;
      for (const auto& v : g.versions) {
        bj::array resources;
        std::vector<const ResourceDef*> defs;
        for (const auto& d : registry.resources()) {
          if (d->group == g.name && d->version == v) defs.push_back(d.get());
        }
        std::sort(defs.begin(), defs.end(), [](auto* a, auto* b) { return a->resource < b->resource; });
        for (const auto* d : defs) resources.push_back(AggResource(*d));
        versions.push_back(bj::object{{"version", v}, {"resources", std::move(resources)}, {"freshness", "Current"}});
      }
      bj::object md{{"creationTimestamp", nullptr}};
      if (!g.name.empty()) md["name"] = g.name;
      bj::object item{{"metadata", std::move(md)}, {"versions", std::move(versions)}};
      (g.name.empty() ? core_items : apis_items).push_back(std::move(item));
    }
    std::string api_version = std::string("apidiscovery.k8s.io/") + agg_version;
    auto doc = [&](bj::array items) {
      return bj::serialize(bj::object{{"kind", "APIGroupDiscoveryList"}, {"apiVersion", api_version},
                                      {"metadata", bj::object()}, {"items", std::move(items)}});
    };
    if (std::string_view(agg_version) == "v2") {
      agg_core_v2_ = doc(std::move(core_items));
      agg_apis_v2_ = doc(std::move(apis_items));
    } else {
      agg_core_v2beta1_ = doc(std::move(core_items));
      agg_apis_v2beta1_ = doc(std::move(apis_items));
    }
  }
  bj::array cidrs{bj::object{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}};
  legacy_api_ = bj::serialize(bj::object{{"kind", "APIVersions"}, {"versions", bj::array{"v1"}},
                                         {"serverAddressByClientCIDRs", cidrs}});
  bj::array groups;
  for (const auto& g : registry.groups()) {
    bj::array versions;
    for (const auto& v : g.versions) versions.push_back(bj::object{{"groupVersion", g.name.empty() ? v : g.name + "/" + v}, {"version", v}});
    std::string pref = g.versions.front();
    bj::object preferred{{"groupVersion", g.name.empty() ? pref : g.name + "/" + pref}, {"version", pref}};
    // Per-version resource lists.
    for (const auto& v : g.versions) {
      std::string gv = g.name.empty() ? v : g.name + "/" + v;
      bj::array resources;
      std::vector<const ResourceDef*> defs;
      for (const auto& d : registry.resources()) {
        if (d->group == g.name && d->version == v) defs.push_back(d.get());
      }
      std::sort(defs.begin(), defs.end(), [](auto* a, auto* b) { return a->resource < b->resource; });
      for (const auto* d : defs) {
        bj::object r{{"name", d->resource}, {"singularName", d->singular}, {"namespaced", d->namespaced},
                     {"kind", d->kind}, {"verbs", Strings(d->verbs)}};
        if (!d->short_names.empty()) r["shortNames"] = Strings(d->short_names);
        if (!d->categories.empty()) r["categories"] = Strings(d->categories);
        resources.push_back(std::move(r));
        for (const auto& s : d->subresources) {
          bj::object sr{{"name", d->resource + "/" + s.name}, {"singularName", ""}, {"namespaced", d->namespaced},
                        {"kind", s.kind}, {"verbs", Strings(s.verbs)}};
          if (s.group != d->group) {
            sr["group"] = s.group;
            sr["version"] = s.version;
          }
          resources.push_back(std::move(sr));
        }
      }
      legacy_resources_[gv] = bj::serialize(bj::object{{"kind", "APIResourceList"}, {"apiVersion", "v1"},
                                                       {"groupVersion", gv}, {"resources", std::move(resources)}});
    }
    if (g.name.empty()) continue;
    bj::object group{{"name", g.name}, {"versions", versions}, {"preferredVersion", preferred}};
    bj::object single = group;
    single["kind"] = "APIGroup";
    single["apiVersion"] = "v1";
    legacy_group_[g.name] = bj::serialize(single);
    groups.push_back(std::move(group));
  }
  legacy_apis_ = bj::serialize(bj::object{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(groups)}});
}

const std::string& Discovery::Aggregated(bool core, std::string_view version) const {
  if (version == "v2beta1") return core ? agg_core_v2beta1_ : agg_apis_v2beta1_;
  return core ? agg_core_v2_ : agg_apis_v2_;
}

const std::string* Discovery::LegacyGroup(const std::string& group) const {
  auto it = legacy_group_.find(group);
  return it == legacy_group_.end() ? nullptr : &it->second;
}

const std::string* Discovery::LegacyResources(const std::string& group, const std::string& version) const {
  auto it = legacy_resources_.find(group.empty() ? version : group + "/" + version);
  return it == legacy_resources_.end() ? nullptr : &it->second;
}

}  // namespace kubepp::apiserver
