// A node's heartbeat Lease in kube-node-lease (what kubelets renew every
// 10 s and the node lifecycle controller reads).
#pragma once

#include <string>

#include "client/rest.h"

namespace kubepp::client {

// Renews the node's Lease, creating it (owned by the Node, 40 s duration)
// when it does not exist yet.
Status RenewNodeLease(RestClient* client, const std::string& node, const std::string& node_uid);

}  // namespace kubepp::client
