// SHA-256 over a stream of bytes, as "sha256:<hex>" digests (OCI content
// addresses).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // Lowercase hex of the digest; the hasher is spent afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// "sha256:<hex>" of `data`.
std::string Sha256Digest(std::string_view data);
// "sha256:<hex>" of a file's content.
Result<std::string> Sha256File(const std::string& path);

}  // namespace kubepp
