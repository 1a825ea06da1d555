// The admission chain: namespace lifecycle (no objects in a missing or
// terminating namespace; the system namespaces cannot be deleted), service
// cluster-IP and node-port allocation, and the pod defaults upstream's
// admission plugins add (service account name, priority, default
// tolerations for not-ready and unreachable nodes).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "apiserver/registry/store.h"

namespace kubepp::apiserver {

struct AdmissionConfig {
  std::string service_cidr = "10.43.0.0/16";
  int node_port_min = 30000;
  int node_port_max = 32767;
};

class DefaultAdmission : public Admission {
 public:
  DefaultAdmission(RegistryStore* store, const ResourceRegistry* registry, AdmissionConfig config);
  Status Admit(const ResourceDef& def, bj::object& obj, const bj::object* old, const UserInfo& user) override;
  Status AdmitDelete(const ResourceDef& def, const bj::object& obj, const UserInfo& user) override;

  // The first address of the service CIDR (the kubernetes service's).
  std::string FirstServiceIP() const;

 private:
  Status CheckNamespace(const ResourceDef& def, const bj::object& obj);
  Status AllocateService(bj::object& svc, const bj::object* old);
  Status AdmitPod(bj::object& pod);
  // Priority admission: spec.priority (and preemptionPolicy) from the PriorityClass.
  Status AdmitPriority(bj::object& pod);
  Result<std::string> NewClusterIP();
  Result<int> NewNodePort();

  RegistryStore* store_;
  const ResourceRegistry* registry_;
  AdmissionConfig config_;
  uint32_t cidr_base_ = 0;
  uint32_t cidr_size_ = 0;
  std::mutex mu_;
  // Handed out but maybe not yet visible in the cache.
  std::map<std::string, std::chrono::steady_clock::time_point> reserved_ips_;  // GUARDED_BY(mu_)
  std::map<int, std::chrono::steady_clock::time_point> reserved_ports_;        // GUARDED_BY(mu_)
};

}  // namespace kubepp::apiserver
