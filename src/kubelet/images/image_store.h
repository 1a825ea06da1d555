// The node's images (the CRI image service's storage half): image records
// with their config, and layers unpacked once under their chain id and shared
// by every image that has them.
//
//   <root>/images.json           the records (rewritten atomically)
//   <root>/blobs/sha256/<hex>    manifests and configs
//   <root>/layers/<chain hex>/   unpacked layers (overlayfs lower dirs)
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace kubepp::kubelet::images {

// What a container inherits from its image (the OCI image config).
struct ImageConfig {
  std::vector<std::string> env, entrypoint, cmd;
  std::string working_dir, user;
};

struct Image {
  std::string id;  // the config's digest
  std::vector<std::string> repo_tags;     // normalized ("docker.io/library/busybox:latest")
  std::vector<std::string> repo_digests;  // "repo@sha256:..." of the manifest, when known
  int64_t size = 0;                       // bytes of the layers as stored
  ImageConfig config;
  std::vector<std::string> chain_ids;  // bottom layer first
};

// Where an image's blobs come from while it is stored: returns a local path
// holding the blob with this digest (an OCI layout's blob, a download).
using BlobSource = std::function<Result<std::string>(const std::string& digest)>;

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> Open(const std::string& root);

  // Imports every image of an OCI image layout (a directory or a tar of one)
  // or a docker-archive tar (`docker save`).
  Result<std::vector<Image>> Import(const std::string& path);

  // Stores the image a manifest (or index: linux/amd64 is chosen) describes,
  // verifying every blob's digest, under the given references.
  // `manifest_digest` is recorded in repoDigests when not empty.
  Result<Image> Store(const std::string& manifest, const BlobSource& blobs, const std::vector<std::string>& refs,
                      const std::string& manifest_digest = "");

  // By reference ("busybox", "docker.io/library/busybox:latest",
  // "repo@sha256:..."), or by id.
  std::optional<Image> Find(std::string_view ref) const;
  std::vector<Image> List() const;
  // Removes the image and the layers no other image uses.
  Status Remove(const std::string& id);
  // The unpacked layer directories, top first (overlayfs lowerdir order).
  std::vector<std::string> LayerDirs(const Image& image) const;
  const std::string& root() const { return root_; }

 private:
  explicit ImageStore(std::string root) : root_(std::move(root)) {}
  Status Load();
  // Re-reads images.json when another process (`kubepp images import`) changed it.
  void MaybeReload() const;
  Status SaveLocked();
  Result<std::vector<Image>> ImportLayout(const std::string& dir);
  Result<std::vector<Image>> ImportDockerArchive(const std::string& dir);
  // Unpacks the layers (paths, bottom first) whose diff ids the config
  // lists; records the image under `refs`.
  Result<Image> Commit(const std::string& config_json, const std::string& config_digest,
                       const std::vector<std::string>& layer_paths, int64_t size, const std::vector<std::string>& refs,
                       const std::string& repo_digest);

  std::string root_;
  mutable std::mutex mu_;
  mutable std::map<std::string, Image> images_;  // GUARDED_BY(mu_) by id
  mutable int64_t loaded_mtime_ns_ = 0;          // GUARDED_BY(mu_)
};

}  // namespace kubepp::kubelet::images
