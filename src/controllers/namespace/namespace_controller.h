// The namespace controller: a namespace being deleted (Terminating, with the
// "kubernetes" finalizer) is emptied of every namespaced resource the API
// serves (found through discovery), then its finalizer is removed through
// /finalize and the API server deletes it (upstream's
// pkg/controller/namespace). Content that takes time to go (graceful pods,
// objects with finalizers) is waited for, re-checking with backoff.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controllers/manager.h"

namespace kubepp::controllers {

class NamespaceController : public QueueController {
 public:
  explicit NamespaceController(client::RestClient* client) : QueueController("namespace", 2), client_(client) {}
  void Init(InformerFactory* informers) override;

 private:
  // Deletes what is left; returns how many resource types still have content.
  Result<size_t> DeleteContent(const std::string& ns);
  // The key is a namespace name. Not done yet (content going away) is an
  // error, so the queue looks again with backoff.
  Status Reconcile(const std::string& ns) override;
  // Collection paths (without namespace) of namespaced resources that can be
  // listed and deleted, from discovery.
  Result<std::vector<std::pair<std::string, std::string>>> Resources();

  client::RestClient* client_;
  client::Informer* namespaces_ = nullptr;
  std::mutex mu_;
  // (group/version prefix, resource) pairs, e.g. ("/apis/apps/v1", "deployments").
  std::vector<std::pair<std::string, std::string>> resources_;  // GUARDED_BY(mu_)
};

}  // namespace kubepp::controllers
