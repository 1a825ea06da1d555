#include "client/node_lease.h"

#include <chrono>

#include "api/time.h"

namespace kubepp::client {

Status RenewNodeLease(RestClient* client, const std::string& name, const std::string& node_uid) {
  std::string now = api::FormatMicroTime(std::chrono::system_clock::now());
  auto r = client->Patch(ResourcePath("coordination.k8s.io", "v1", "leases", "kube-node-lease", name),
                         "application/merge-patch+json", bj::object{{"spec", bj::object{{"renewTime", now}}}});
  if (r.ok() || !r.status().IsNotFound()) return r.status();
  bj::object lease{{"apiVersion", "coordination.k8s.io/v1"},
                   {"kind", "Lease"},
                   {"metadata", bj::object{{"name", name},
                                           {"namespace", "kube-node-lease"},
                                           {"ownerReferences", bj::array{bj::object{{"apiVersion", "v1"},
                                                                                    {"kind", "Node"},
                                                                                    {"name", name},
                                                                                    {"uid", node_uid}}}}}},
                   {"spec", bj::object{{"holderIdentity", name}, {"leaseDurationSeconds", 40}, {"renewTime", now}}}};
  auto c = client->Post(ResourcePath("coordination.k8s.io", "v1", "leases", "kube-node-lease"), lease);
  return c.ok() || c.status().IsAlreadyExists() ? Status::OK() : c.status();
}

}  // namespace kubepp::client
