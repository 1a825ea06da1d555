#include "scheduler/framework/affinity_index.h"

#include <algorithm>
#include <set>

namespace kubepp::scheduler {

void TopoCounts::Add(const std::string& key, const std::string& value, int64_t d) {
  auto& vals = m_[key];
  auto it = vals.try_emplace(value, 0).first;
  it->second += d;
  if (it->second == 0) {
    vals.erase(it);
    if (vals.empty()) m_.erase(key);
  }
}

int64_t TopoCounts::Get(const std::string& key, std::string_view value) const {
  auto k = m_.find(key);
  if (k == m_.end()) return 0;
  auto v = k->second.find(value);
  return v == k->second.end() ? 0 : v->second;
}

int64_t TopoCounts::SumFor(const Labels& labels) const {
  int64_t total = 0;
  for (const auto& [k, vals] : m_) {
    auto l = labels.find(k);
    if (l == labels.end()) continue;
    auto v = vals.find(l->second);
    if (v != vals.end()) total += v->second;
  }
  return total;
}

std::string TermsSignature(const std::vector<PodAffinityTerm>& terms) {
  std::string sig;
  for (const auto& t : terms) {
    // A selector that selects nothing has no requirements but is not empty.
    bool nothing = t.selector.requirements().empty() && !t.selector.empty();
    sig += t.topology_key + '\x1f' + (nothing ? "\x01" : t.selector.String()) + '\x1f';
    for (const auto& ns : t.namespaces) sig += ns + ',';
    sig += '\x1f';
    if (t.namespace_selector) sig += "ns:" + t.namespace_selector->String();
    sig += '\x1e';
  }
  return sig;
}

void AffinityIndex::AddTo(Group& g, const PodInfo& pod, const NodeInfo& node, int64_t delta) {
  for (const auto& t : g.terms) {
    auto l = node.labels.find(t.topology_key);
    if (l != node.labels.end()) g.counts.Add(t.topology_key, l->second, delta);
  }
}

void AffinityIndex::Apply(const PodInfo& pod, int64_t delta) {
  if (stale_) return;  // rebuilt before the next cycle reads it
  const NodeInfo* node = node_(pod.node_name);
  if (node == nullptr || !node->node) return;  // no node object: in no domain
  for (const auto& t : pod.required_anti_affinity) {
    std::string sig = TermsSignature({t});
    auto it = existing_anti_.find(sig);
    if (it == existing_anti_.end()) {
      if (delta < 0) continue;
      it = existing_anti_.emplace(sig, Group{.terms = {t}}).first;
    }
    Group& g = it->second;
    g.members += delta;
    auto l = node->labels.find(t.topology_key);
    if (l != node->labels.end()) g.counts.Add(t.topology_key, l->second, delta);
    if (g.members <= 0) existing_anti_.erase(it);
  }
  for (auto& [sig, g] : memos_) {
    bool all = std::all_of(g.terms.begin(), g.terms.end(), [&](const PodAffinityTerm& t) { return t.Matches(pod, nullptr); });
    if (!all) continue;
    g.members += delta;
    AddTo(g, pod, *node, delta);
  }
}

void AffinityIndex::Rebuild() {
  existing_anti_.clear();
  memos_.clear();
  stale_ = false;
  for (const auto& [ns, pods] : *pods_) {
    for (const auto& [key, pod] : pods) {
      if (!pod->required_anti_affinity.empty()) Apply(*pod, 1);
    }
  }
}

void AffinityIndex::BeginCycle() {
  if (stale_) Rebuild();
  ++cycle_;
}

const TopoCounts* AffinityIndex::Matching(const std::vector<PodAffinityTerm>& terms) {
  for (const auto& t : terms) {
    if (t.namespace_selector) return nullptr;
  }
  std::string sig = TermsSignature(terms);
  auto it = memos_.find(sig);
  if (it != memos_.end()) {
    it->second.last_used = cycle_;
    return &it->second.counts;
  }
  if (memos_.size() >= kMaxMemos) {
    // Drop the least recently used, never one this cycle holds.
    auto victim = memos_.end();
    for (auto m = memos_.begin(); m != memos_.end(); ++m) {
      if (m->second.last_used == cycle_) continue;
      if (victim == memos_.end() || m->second.last_used < victim->second.last_used) victim = m;
    }
    if (victim != memos_.end()) memos_.erase(victim);
  }
  Group g{.terms = terms, .last_used = cycle_};
  // The terms only select pods in the namespaces they name.
  std::set<std::string> namespaces;
  for (const auto& t : terms) namespaces.insert(t.namespaces.begin(), t.namespaces.end());
  for (const auto& ns : namespaces) {
    auto pods = pods_->find(ns);
    if (pods == pods_->end()) continue;
    for (const auto& [key, pod] : pods->second) {
      bool all = std::all_of(terms.begin(), terms.end(), [&](const PodAffinityTerm& t) { return t.Matches(*pod, nullptr); });
      if (!all) continue;
      const NodeInfo* node = node_(pod->node_name);
      if (node == nullptr || !node->node) continue;
      ++g.members;
      AddTo(g, *pod, *node, 1);
    }
  }
  return &memos_.emplace(std::move(sig), std::move(g)).first->second.counts;
}

}  // namespace kubepp::scheduler
