#include "kubelet/images/image_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "api/image_ref.h"
#include "api/object.h"
#include "common/file.h"
#include "common/json.h"
#include "common/sha256.h"
#include "kubelet/images/layer.h"

namespace kubepp::kubelet::images {
namespace {

namespace bj = boost::json;

std::string Hex(const std::string& digest) {
  size_t c = digest.find(':');
  return c == std::string::npos ? digest : digest.substr(c + 1);
}

bool ValidSha256(const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0 || digest.size() != 71) return false;
  return std::all_of(digest.begin() + 7, digest.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::vector<std::string> Strings(const bj::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* a = api::ArrAt(o, {key})) {
    for (const auto& v : *a) {
      if (v.is_string()) out.emplace_back(v.get_string());
    }
  }
  return out;
}

bj::array ToArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

bj::value ToJson(const Image& im) {
  return bj::object{{"id", im.id},
                    {"repoTags", ToArray(im.repo_tags)},
                    {"repoDigests", ToArray(im.repo_digests)},
                    {"size", im.size},
                    {"chainIds", ToArray(im.chain_ids)},
                    {"config", bj::object{{"Env", ToArray(im.config.env)},
                                          {"Entrypoint", ToArray(im.config.entrypoint)},
                                          {"Cmd", ToArray(im.config.cmd)},
                                          {"WorkingDir", im.config.working_dir},
                                          {"User", im.config.user}}}};
}

ImageConfig ConfigFrom(const bj::object& c) {
  ImageConfig cfg;
  cfg.env = Strings(c, "Env");
  cfg.entrypoint = Strings(c, "Entrypoint");
  cfg.cmd = Strings(c, "Cmd");
  cfg.working_dir = std::string(api::StrAt(c, {"WorkingDir"}));
  cfg.user = std::string(api::StrAt(c, {"User"}));
  return cfg;
}

Image FromJson(const bj::object& o) {
  Image im;
  im.id = std::string(api::StrAt(o, {"id"}));
  im.repo_tags = Strings(o, "repoTags");
  im.repo_digests = Strings(o, "repoDigests");
  im.size = api::IntAt(o, {"size"}).value_or(0);
  im.chain_ids = Strings(o, "chainIds");
  if (const auto* c = api::ObjAt(o, {"config"})) im.config = ConfigFrom(*c);
  return im;
}

Result<bj::object> ReadJsonObject(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto v = json::Parse(*text);
  if (!v.ok()) return Status::Corruption(path + ": " + v.status().message());
  if (!v->is_object()) return Status::Corruption(path + ": not a JSON object");
  return std::move(v->get_object());
}

// Reads a blob and checks it against its digest.
Result<std::string> ReadVerified(const BlobSource& blobs, const std::string& digest) {
  if (!ValidSha256(digest)) return Status::BadRequest("unsupported digest \"" + digest + "\"");
  auto path = blobs(digest);
  if (!path.ok()) return path.status();
  auto data = ReadFile(*path);
  if (!data.ok()) return data.status();
  if (Sha256Digest(*data) != digest) return Status::Corruption("blob " + digest + " does not match its digest");
  return data;
}

std::atomic<uint64_t> g_tmp_seq{0};

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& root) {
  for (const char* sub : {"blobs/sha256", "layers", "tmp"}) {
    if (Status st = MakeDirs(JoinPath(root, sub), 0700); !st.ok()) return st;
  }
  // Leftovers of imports cut short.
  (void)RemoveAll(JoinPath(root, "tmp"));
  (void)MakeDirs(JoinPath(root, "tmp"), 0700);
  if (auto names = ListDir(JoinPath(root, "layers")); names.ok()) {
    for (const auto& n : *names) {
      if (n.rfind(".tmp-", 0) == 0) (void)RemoveAll(JoinPath(JoinPath(root, "layers"), n));
    }
  }
  auto store = std::unique_ptr<ImageStore>(new ImageStore(root));
  if (Status st = store->Load(); !st.ok()) return st;
  return store;
}

namespace {
int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}
}  // namespace

void ImageStore::MaybeReload() const {
  std::string path = JoinPath(root_, "images.json");
  int64_t m = MtimeNs(path);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (m == loaded_mtime_ns_) return;
  }
  (void)const_cast<ImageStore*>(this)->Load();
}

Status ImageStore::Load() {
  std::string path = JoinPath(root_, "images.json");
  if (!PathExists(path)) return Status::OK();
  int64_t m = MtimeNs(path);
  auto o = ReadJsonObject(path);
  if (!o.ok()) return o.status();
  std::lock_guard<std::mutex> l(mu_);
  loaded_mtime_ns_ = m;
  images_.clear();
  if (const auto* a = api::ArrAt(*o, {"images"})) {
    for (const auto& v : *a) {
      if (!v.is_object()) continue;
      Image im = FromJson(v.get_object());
      if (!im.id.empty()) images_[im.id] = std::move(im);
    }
  }
  return Status::OK();
}

Status ImageStore::SaveLocked() {
  bj::array a;
  for (const auto& [id, im] : images_) a.push_back(ToJson(im));
  std::string path = JoinPath(root_, "images.json");
  RETURN_IF_ERROR(WriteFileAtomic(path, json::Serialize(bj::object{{"images", std::move(a)}}), 0600));
  loaded_mtime_ns_ = MtimeNs(path);
  return Status::OK();
}

Result<std::vector<Image>> ImageStore::Import(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("no such file: " + path);
  if (S_ISDIR(st.st_mode)) {
    if (PathExists(JoinPath(path, "index.json"))) return ImportLayout(path);
    if (PathExists(JoinPath(path, "manifest.json"))) return ImportDockerArchive(path);
    return Status::BadRequest(path + ": neither an OCI image layout nor a docker archive");
  }
  std::string tmp = JoinPath(JoinPath(root_, "tmp"), "import-" + std::to_string(::getpid()) + "-" + std::to_string(g_tmp_seq++));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)RemoveAll(dir); }
  } cleanup{tmp};
  if (Status s = ExtractArchive(path, tmp); !s.ok()) return s;
  return Import(tmp);
}

Result<std::vector<Image>> ImageStore::ImportLayout(const std::string& dir) {
  auto index = ReadJsonObject(JoinPath(dir, "index.json"));
  if (!index.ok()) return index.status();
  BlobSource blobs = [dir](const std::string& digest) -> Result<std::string> {
    std::string p = JoinPath(dir, "blobs/sha256/" + Hex(digest));
    if (!PathExists(p)) return Status::NotFound("blob " + digest + " not in the layout");
    return p;
  };
  std::vector<Image> out;
  const auto* manifests = api::ArrAt(*index, {"manifests"});
  if (manifests == nullptr || manifests->empty()) return Status::BadRequest(dir + ": index.json lists no manifests");
  for (const auto& m : *manifests) {
    if (!m.is_object()) continue;
    const auto& desc = m.get_object();
    std::string digest(api::StrAt(desc, {"digest"}));
    std::vector<std::string> refs;
    std::string name(api::StrAt(desc, {"annotations", "io.containerd.image.name"}));
    if (name.empty()) name = std::string(api::StrAt(desc, {"annotations", "org.opencontainers.image.ref.name"}));
    // A bare tag ("latest") names no repository: the image is known by id only.
    if (!name.empty() && name.find_first_of("/:") != std::string::npos) refs.push_back(name);
    auto manifest = ReadVerified(blobs, digest);
    if (!manifest.ok()) return manifest.status();
    auto im = Store(*manifest, blobs, refs, digest);
    if (!im.ok()) return im.status();
    out.push_back(std::move(*im));
  }
  return out;
}

Result<std::vector<Image>> ImageStore::ImportDockerArchive(const std::string& dir) {
  auto text = ReadFile(JoinPath(dir, "manifest.json"));
  if (!text.ok()) return text.status();
  auto v = json::Parse(*text);
  if (!v.ok() || !v->is_array()) return Status::BadRequest(dir + "/manifest.json: not a docker archive manifest");
  std::vector<Image> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_object()) continue;
    const auto& m = e.get_object();
    std::string config_path = JoinPath(dir, api::StrAt(m, {"Config"}));
    auto config = ReadFile(config_path);
    if (!config.ok()) return config.status();
    std::vector<std::string> layers;
    int64_t size = 0;
    for (const auto& l : Strings(m, "Layers")) {
      if (l.find("..") != std::string::npos) return Status::BadRequest("layer path escapes the archive: " + l);
      std::string p = JoinPath(dir, l);
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) return Status::NotFound("layer " + l + " not in the archive");
      size += st.st_size;
      layers.push_back(p);
    }
    auto im = Commit(*config, Sha256Digest(*config), layers, size, Strings(m, "RepoTags"), "");
    if (!im.ok()) return im.status();
    out.push_back(std::move(*im));
  }
  return out;
}

Result<Image> ImageStore::Store(const std::string& manifest, const BlobSource& blobs, const std::vector<std::string>& refs,
                                const std::string& manifest_digest) {
  auto v = json::Parse(manifest);
  if (!v.ok() || !v->is_object()) return Status::BadRequest("image manifest is not a JSON object");
  const bj::object& m = v->get_object();
  if (const auto* list = api::ArrAt(m, {"manifests"})) {
    // An index or manifest list: the linux/amd64 image.
    const bj::object* pick = nullptr;
    for (const auto& d : *list) {
      if (!d.is_object()) continue;
      const auto& o = d.get_object();
      const auto* plat = api::ObjAt(o, {"platform"});
      bool ours = plat == nullptr || (api::StrAt(*plat, {"os"}) == "linux" && api::StrAt(*plat, {"architecture"}) == "amd64");
      if (ours) {
        pick = &o;
        break;
      }
    }
    if (pick == nullptr) return Status::NotFound("no linux/amd64 image in the index");
    std::string digest(api::StrAt(*pick, {"digest"}));
    auto inner = ReadVerified(blobs, digest);
    if (!inner.ok()) return inner.status();
    // The index's digest is what `image@digest` names.
    return Store(*inner, blobs, refs, manifest_digest.empty() ? digest : manifest_digest);
  }
  std::string config_digest(api::StrAt(m, {"config", "digest"}));
  auto config = ReadVerified(blobs, config_digest);
  if (!config.ok()) return config.status();
  std::vector<std::string> paths;
  int64_t size = 0;
  if (const auto* layers = api::ArrAt(m, {"layers"})) {
    for (const auto& l : *layers) {
      if (!l.is_object()) continue;
      std::string digest(api::StrAt(l.get_object(), {"digest"}));
      std::string_view media = api::StrAt(l.get_object(), {"mediaType"});
      if (media.find("zstd") != std::string_view::npos) return Status::BadRequest("zstd layers are not supported: " + digest);
      if (!ValidSha256(digest)) return Status::BadRequest("unsupported layer digest \"" + digest + "\"");
      auto p = blobs(digest);
      if (!p.ok()) return p.status();
      auto got = Sha256File(*p);
      if (!got.ok()) return got.status();
      if (*got != digest) return Status::Corruption("layer " + digest + " does not match its digest");
      size += api::IntAt(l.get_object(), {"size"}).value_or(0);
      paths.push_back(*p);
    }
  }
  return Commit(*config, config_digest, paths, size, refs, manifest_digest);
}

Result<Image> ImageStore::Commit(const std::string& config_json, const std::string& config_digest,
                                 const std::vector<std::string>& layer_paths, int64_t size,
                                 const std::vector<std::string>& refs, const std::string& repo_digest) {
  auto v = json::Parse(config_json);
  if (!v.ok() || !v->is_object()) return Status::BadRequest("image config is not a JSON object");
  const bj::object& cfg = v->get_object();
  std::vector<std::string> diff_ids;
  if (const auto* r = api::ObjAt(cfg, {"rootfs"})) diff_ids = Strings(*r, "diff_ids");
  if (diff_ids.size() != layer_paths.size()) {
    return Status::Corruption("image config lists " + std::to_string(diff_ids.size()) + " layers, the manifest " +
                              std::to_string(layer_paths.size()));
  }
  Image im;
  im.id = config_digest;
  im.size = size;
  if (const auto* c = api::ObjAt(cfg, {"config"})) im.config = ConfigFrom(*c);
  std::string chain;
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    if (!ValidSha256(diff_ids[i])) return Status::Corruption("bad diff id \"" + diff_ids[i] + "\"");
    chain = i == 0 ? diff_ids[i] : Sha256Digest(chain + " " + diff_ids[i]);
    im.chain_ids.push_back(chain);
    std::string dir = JoinPath(JoinPath(root_, "layers"), Hex(chain));
    if (PathExists(dir)) continue;  // unpacked for another image already
    std::string tmp = JoinPath(JoinPath(root_, "layers"), ".tmp-" + Hex(chain) + "-" + std::to_string(g_tmp_seq++));
    auto got = UnpackLayer(layer_paths[i], tmp);
    if (!got.ok() || *got != diff_ids[i]) {
      (void)RemoveAll(tmp);
      if (!got.ok()) return got.status();
      return Status::Corruption("layer " + std::to_string(i) + " unpacks to " + *got + ", the config says " + diff_ids[i]);
    }
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      (void)RemoveAll(tmp);
      if (!PathExists(dir)) return Status::IOError("rename " + tmp + ": " + std::strerror(errno));
    }
  }
  if (Status st = WriteFileAtomic(JoinPath(root_, "blobs/sha256/" + Hex(config_digest)), config_json, 0600); !st.ok()) return st;
  for (const auto& r : refs) {
    auto ref = api::ParseImageRef(r);
    if (!ref.ok()) return ref.status();
    if (!ref->tag.empty()) {
      api::ImageRef tagged = *ref;
      tagged.digest.clear();
      im.repo_tags.push_back(tagged.String());
    }
    std::string digest = !ref->digest.empty() ? ref->digest : repo_digest;
    if (!digest.empty()) im.repo_digests.push_back(ref->Repository() + "@" + digest);
  }
  MaybeReload();  // another process may have imported meanwhile
  std::lock_guard<std::mutex> l(mu_);
  // A tag names one image: it moves here from any other.
  for (auto& [id, other] : images_) {
    if (id == im.id) continue;
    std::erase_if(other.repo_tags, [&](const std::string& t) {
      return std::find(im.repo_tags.begin(), im.repo_tags.end(), t) != im.repo_tags.end();
    });
  }
  if (auto it = images_.find(im.id); it != images_.end()) {
    for (const auto& t : it->second.repo_tags) {
      if (std::find(im.repo_tags.begin(), im.repo_tags.end(), t) == im.repo_tags.end()) im.repo_tags.push_back(t);
    }
    for (const auto& d : it->second.repo_digests) {
      if (std::find(im.repo_digests.begin(), im.repo_digests.end(), d) == im.repo_digests.end()) im.repo_digests.push_back(d);
    }
  }
  images_[im.id] = im;
  if (Status st = SaveLocked(); !st.ok()) return st;
  return im;
}

std::optional<Image> ImageStore::Find(std::string_view ref) const {
  MaybeReload();
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = images_.find(std::string(ref)); it != images_.end()) return it->second;
  if (ref.size() == 64) {
    if (auto it = images_.find("sha256:" + std::string(ref)); it != images_.end()) return it->second;
  }
  auto parsed = api::ParseImageRef(ref);
  if (!parsed.ok()) return std::nullopt;
  for (const auto& [id, im] : images_) {
    if (!parsed->digest.empty()) {
      std::string want = parsed->Repository() + "@" + parsed->digest;
      if (std::find(im.repo_digests.begin(), im.repo_digests.end(), want) != im.repo_digests.end()) return im;
    } else if (std::find(im.repo_tags.begin(), im.repo_tags.end(), parsed->String()) != im.repo_tags.end()) {
      return im;
    }
  }
  return std::nullopt;
}

std::vector<Image> ImageStore::List() const {
  MaybeReload();
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Image> out;
  for (const auto& [id, im] : images_) out.push_back(im);
  return out;
}

Status ImageStore::Remove(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = images_.find(id);
  if (it == images_.end()) return Status::NotFound("image " + id + " not found");
  std::vector<std::string> chains = it->second.chain_ids;
  images_.erase(it);
  if (Status st = SaveLocked(); !st.ok()) return st;
  std::set<std::string> used;
  for (const auto& [oid, im] : images_) used.insert(im.chain_ids.begin(), im.chain_ids.end());
  for (const auto& c : chains) {
    if (!used.count(c)) (void)RemoveAll(JoinPath(JoinPath(root_, "layers"), Hex(c)));
  }
  (void)::unlink(JoinPath(root_, "blobs/sha256/" + Hex(id)).c_str());
  return Status::OK();
}

std::vector<std::string> ImageStore::LayerDirs(const Image& image) const {
  std::vector<std::string> dirs;
  for (auto it = image.chain_ids.rbegin(); it != image.chain_ids.rend(); ++it) {
    dirs.push_back(JoinPath(JoinPath(root_, "layers"), Hex(*it)));
  }
  return dirs;
}

}  // namespace kubepp::kubelet::images
