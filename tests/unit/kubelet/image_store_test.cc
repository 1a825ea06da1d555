// The image store on real archives: the busybox test image (an OCI layout
// built by scripts/build-test-images) and hand-made layer tars for
// whiteouts and hostile entries.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>

#include "common/file.h"
#include "common/json.h"
#include "common/sha256.h"
#include "kubelet/images/image_store.h"
#include "kubelet/images/layer.h"

namespace kubepp::kubelet::images {
namespace {

std::string TestImages() {
  const char* d = std::getenv("KUBEPP_TEST_IMAGES");
  return d ? d : "build/test-images";
}

// A minimal ustar writer for hand-made layers.
class TarWriter {
 public:
  void File(const std::string& name, const std::string& data, int mode = 0644) { Add(name, '0', data, mode); }
  void Dir(const std::string& name) { Add(name, '5', "", 0755); }
  void Symlink(const std::string& name, const std::string& target) { Add(name, '2', "", 0777, target); }
  std::string Finish() { return out_ + std::string(1024, '\0'); }

 private:
  void Add(const std::string& name, char type, const std::string& data, int mode, const std::string& link = "") {
    std::string h(512, '\0');
    std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
    std::snprintf(h.data() + 100, 8, "%07o", mode);
    std::snprintf(h.data() + 108, 8, "%07o", 0);
    std::snprintf(h.data() + 116, 8, "%07o", 0);
    std::snprintf(h.data() + 124, 12, "%011o", static_cast<unsigned>(data.size()));
    std::snprintf(h.data() + 136, 12, "%011o", 0);
    h[156] = type;
    std::memcpy(h.data() + 157, link.data(), std::min<size_t>(link.size(), 100));
    std::memcpy(h.data() + 257, "ustar\0" "00", 8);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    out_ += h + data + std::string((512 - data.size() % 512) % 512, '\0');
  }
  std::string out_;
};

TEST(Layers, WhiteoutsBecomeOverlayWhiteouts) {
  auto tmp = TempDir::Create("layer-test");
  ASSERT_TRUE(tmp.ok());
  TarWriter w;
  w.Dir("etc/");
  w.File("etc/.wh.gone", "");
  w.Dir("opaque/");
  w.File("opaque/.wh..wh..opq", "");
  w.File("opaque/kept", "k");
  w.Symlink("etc/link", "/etc/passwd");
  std::string tar = w.Finish();
  std::string path = tmp->path() + "/l.tar";
  ASSERT_TRUE(WriteFile(path, tar).ok());
  auto diff = UnpackLayer(path, tmp->path() + "/out");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ(*diff, Sha256Digest(tar));
  struct stat st {};
  ASSERT_EQ(::lstat((tmp->path() + "/out/etc/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((tmp->path() + "/out/opaque").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(*ReadFile(tmp->path() + "/out/opaque/kept"), "k");
  char link[64] = {};
  ASSERT_GT(::readlink((tmp->path() + "/out/etc/link").c_str(), link, sizeof link), 0);
  EXPECT_STREQ(link, "/etc/passwd");
}

TEST(Layers, EntriesThatEscapeAreRefused) {
  auto tmp = TempDir::Create("layer-test");
  ASSERT_TRUE(tmp.ok());
  TarWriter up;
  up.File("../escape", "x");
  ASSERT_TRUE(WriteFile(tmp->path() + "/up.tar", up.Finish()).ok());
  auto r = UnpackLayer(tmp->path() + "/up.tar", tmp->path() + "/a");
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_FALSE(PathExists(tmp->path() + "/escape"));
  // Through a symlink the same archive made.
  TarWriter via;
  via.Symlink("d", tmp->path());
  via.File("d/escape2", "x");
  ASSERT_TRUE(WriteFile(tmp->path() + "/via.tar", via.Finish()).ok());
  r = UnpackLayer(tmp->path() + "/via.tar", tmp->path() + "/b");
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_FALSE(PathExists(tmp->path() + "/escape2"));
  // Truncated.
  TarWriter t;
  t.File("f", std::string(2000, 'x'));
  ASSERT_TRUE(WriteFile(tmp->path() + "/t.tar", t.Finish().substr(0, 1200)).ok());
  EXPECT_EQ(UnpackLayer(tmp->path() + "/t.tar", tmp->path() + "/c").status().code(), Code::kCorruption);
}

TEST(ImageStore, ImportsTheTestImageAndFindsItByAnyName) {
  std::string tarball = TestImages() + "/busybox.tar";
  if (!PathExists(tarball)) GTEST_SKIP() << tarball << " missing: run scripts/build-test-images";
  auto tmp = TempDir::Create("images-test");
  ASSERT_TRUE(tmp.ok());
  auto store = ImageStore::Open(tmp->path() + "/images");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto got = (*store)->Import(tarball);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  const Image& im = got->front();
  EXPECT_EQ(im.repo_tags, std::vector<std::string>{"docker.io/library/busybox:latest"});
  ASSERT_EQ(im.repo_digests.size(), 1u);
  EXPECT_EQ(im.repo_digests[0].rfind("docker.io/library/busybox@sha256:", 0), 0u);
  EXPECT_EQ(im.config.cmd, std::vector<std::string>{"sh"});
  EXPECT_GT(im.size, 100000);
  for (const char* ref : {"busybox", "busybox:latest", "docker.io/library/busybox"}) {
    auto f = (*store)->Find(ref);
    ASSERT_TRUE(f.has_value()) << ref;
    EXPECT_EQ(f->id, im.id);
  }
  EXPECT_TRUE((*store)->Find(im.id).has_value());
  EXPECT_TRUE((*store)->Find(im.repo_digests[0]).has_value());
  EXPECT_FALSE((*store)->Find("busybox:other").has_value());
  auto dirs = (*store)->LayerDirs(im);
  ASSERT_EQ(dirs.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((dirs[0] + "/bin/busybox").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
  ASSERT_EQ(::lstat((dirs[0] + "/bin/sh").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::stat((dirs[0] + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777);
  // The directory form of the layout imports to the same image; a reopened
  // store still knows it.
  auto again = (*store)->Import(TestImages() + "/busybox");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->front().id, im.id);
  EXPECT_EQ((*store)->List().size(), 1u);
  store->reset();
  auto reopened = ImageStore::Open(tmp->path() + "/images");
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->Find("busybox").has_value());
  // Removing the only image removes its layer.
  ASSERT_TRUE((*reopened)->Remove(im.id).ok());
  EXPECT_FALSE(PathExists(dirs[0]));
  EXPECT_FALSE((*reopened)->Find("busybox").has_value());
}

TEST(ImageStore, ACorruptBlobLeavesNothingBehind) {
  std::string layout = TestImages() + "/busybox";
  if (!PathExists(layout)) GTEST_SKIP() << layout << " missing: run scripts/build-test-images";
  auto tmp = TempDir::Create("images-test");
  ASSERT_TRUE(tmp.ok());
  // A copy of the layout with one byte of the layer changed.
  std::string copy = tmp->path() + "/layout";
  ASSERT_EQ(std::system(("cp -r " + layout + " " + copy).c_str()), 0);
  auto blobs = ListDir(copy + "/blobs/sha256");
  ASSERT_TRUE(blobs.ok());
  std::string biggest;
  size_t max = 0;
  for (const auto& b : *blobs) {
    auto data = ReadFile(copy + "/blobs/sha256/" + b);
    if (data->size() > max) max = data->size(), biggest = b;
  }
  auto data = ReadFile(copy + "/blobs/sha256/" + biggest);
  (*data)[data->size() / 2] ^= 1;
  ASSERT_TRUE(WriteFile(copy + "/blobs/sha256/" + biggest, *data).ok());
  auto store = ImageStore::Open(tmp->path() + "/images");
  ASSERT_TRUE(store.ok());
  auto got = (*store)->Import(copy);
  EXPECT_EQ(got.status().code(), Code::kCorruption) << got.status().ToString();
  EXPECT_TRUE((*store)->List().empty());
  EXPECT_TRUE(ListDir(tmp->path() + "/images/layers")->empty());
  // Not an image at all.
  ASSERT_TRUE(WriteFile(tmp->path() + "/junk.tar", "not a tar").ok());
  EXPECT_FALSE((*store)->Import(tmp->path() + "/junk.tar").ok());
}

}  // namespace
}  // namespace kubepp::kubelet::images
