// A tar reader of our own (ustar, pax extended headers incl. SCHILY.xattr,
// GNU long names): libarchive links statically only with libxml2 and ICU.
#include "kubelet/images/layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "common/file.h"
#include "common/sha256.h"

namespace kubepp::kubelet::images {
namespace {

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

// The uncompressed tar stream (gunzipped when the file is gzip), hashed on
// the way: the diff id in the same pass as the unpack.
class TarStream {
 public:
  static Result<std::unique_ptr<TarStream>> Open(const std::string& path) {
    auto s = std::unique_ptr<TarStream>(new TarStream());
    s->fd_.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!s->fd_.valid()) return Errno("open " + path);
    unsigned char magic[2] = {0, 0};
    s->gzip_ = ::pread(s->fd_.get(), magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (s->gzip_ && inflateInit2(&s->z_, 15 + 32) != Z_OK) return Status::Internal("inflateInit2");
    s->in_.resize(1 << 16);
    return s;
  }
  ~TarStream() {
    if (gzip_) inflateEnd(&z_);
  }
  // Exactly n bytes into out (appended); Corruption at a premature end.
  Status Read(size_t n, std::string* out) {
    size_t start = out->size();
    out->resize(start + n);
    size_t got = 0;
    while (got < n) {
      auto r = Some(out->data() + start + got, n - got);
      if (!r.ok()) return r.status();
      if (*r == 0) return Status::Corruption("tar stream ends early");
      got += *r;
    }
    return Status::OK();
  }
  Status Skip(size_t n) {
    std::string buf;
    while (n > 0) {
      size_t k = std::min<size_t>(n, 1 << 16);
      buf.clear();
      if (Status st = Read(k, &buf); !st.ok()) return st;
      n -= k;
    }
    return Status::OK();
  }
  // Reads to the end (trailing padding counts in the diff id).
  Status Drain() {
    char buf[1 << 14];
    for (;;) {
      auto r = Some(buf, sizeof buf);
      if (!r.ok()) return r.status();
      if (*r == 0) return Status::OK();
    }
  }
  std::string DiffId() { return "sha256:" + hash_.HexDigest(); }

 private:
  TarStream() = default;
  Result<size_t> Some(char* dst, size_t n) {
    if (!gzip_) {
      ssize_t r;
      do r = ::read(fd_.get(), dst, n);
      while (r < 0 && errno == EINTR);
      if (r < 0) return Errno("read layer");
      hash_.Update(std::string_view(dst, static_cast<size_t>(r)));
      return static_cast<size_t>(r);
    }
    for (;;) {
      if (done_) return size_t{0};
      if (z_.avail_in == 0) {
        ssize_t r;
        do r = ::read(fd_.get(), in_.data(), in_.size());
        while (r < 0 && errno == EINTR);
        if (r < 0) return Errno("read layer");
        if (r == 0) return Status::Corruption("gzip stream ends early");
        z_.next_in = reinterpret_cast<Bytef*>(in_.data());
        z_.avail_in = static_cast<uInt>(r);
      }
      z_.next_out = reinterpret_cast<Bytef*>(dst);
      z_.avail_out = static_cast<uInt>(n);
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) done_ = true;
      else if (rc != Z_OK && rc != Z_BUF_ERROR) return Status::Corruption(std::string("gzip: ") + (z_.msg ? z_.msg : "corrupt"));
      size_t got = n - z_.avail_out;
      if (got > 0) {
        hash_.Update(std::string_view(dst, got));
        return got;
      }
    }
  }

  UniqueFd fd_;
  bool gzip_ = false, done_ = false;
  z_stream z_{};
  std::string in_;
  Sha256 hash_;
};

struct Entry {
  char type = '0';
  std::string path, link;
  int64_t size = 0, mode = 0, uid = 0, gid = 0, mtime = 0, devmajor = 0, devminor = 0;
  std::map<std::string, std::string> xattrs;
};

// An octal (or base-256) numeric header field.
int64_t Number(const char* f, size_t n) {
  if (n > 0 && (static_cast<unsigned char>(f[0]) & 0x80)) {
    int64_t v = static_cast<unsigned char>(f[0]) & 0x7f;
    for (size_t i = 1; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(f[i]);
    return v;
  }
  int64_t v = 0;
  for (size_t i = 0; i < n && f[i]; ++i) {
    if (f[i] >= '0' && f[i] <= '7') v = v * 8 + (f[i] - '0');
  }
  return v;
}

std::string Field(const char* f, size_t n) { return std::string(f, strnlen(f, n)); }

// Pax records: "<len> key=value\n".
void ApplyPax(const std::string& data, Entry* e) {
  size_t i = 0;
  while (i < data.size()) {
    size_t sp = data.find(' ', i);
    if (sp == std::string::npos) break;
    size_t len = std::strtoul(data.c_str() + i, nullptr, 10);
    if (len == 0 || i + len > data.size()) break;
    std::string rec = data.substr(sp + 1, i + len - sp - 2);  // without the newline
    size_t eq = rec.find('=');
    if (eq != std::string::npos) {
      std::string k = rec.substr(0, eq), v = rec.substr(eq + 1);
      if (k == "path") e->path = v;
      else if (k == "linkpath") e->link = v;
      else if (k == "size") e->size = std::strtoll(v.c_str(), nullptr, 10);
      else if (k == "uid") e->uid = std::strtoll(v.c_str(), nullptr, 10);
      else if (k == "gid") e->gid = std::strtoll(v.c_str(), nullptr, 10);
      else if (k == "mtime") e->mtime = std::strtoll(v.c_str(), nullptr, 10);
      else if (k.rfind("SCHILY.xattr.", 0) == 0) e->xattrs[k.substr(13)] = v;
    }
    i += len;
  }
}

// The next entry (header fields merged with pax and GNU long names), or
// nullopt at the end of the archive.
Result<std::optional<Entry>> NextEntry(TarStream& s) {
  Entry pending;
  bool have_pax = false, have_long = false, have_longlink = false;
  std::string long_name, long_link;
  for (;;) {
    std::string h;
    if (Status st = s.Read(512, &h); !st.ok()) return st;
    if (h.find_first_not_of('\0') == std::string::npos) return std::optional<Entry>();  // end blocks
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    if (sum != static_cast<unsigned>(Number(h.data() + 148, 8))) return Status::Corruption("tar header checksum mismatch");
    Entry e;
    e.type = h[156] ? h[156] : '0';
    e.path = Field(h.data(), 100);
    if (std::memcmp(h.data() + 257, "ustar", 5) == 0) {
      std::string prefix = Field(h.data() + 345, 155);
      if (!prefix.empty()) e.path = prefix + "/" + e.path;
    }
    e.mode = Number(h.data() + 100, 8);
    e.uid = Number(h.data() + 108, 8);
    e.gid = Number(h.data() + 116, 8);
    e.size = Number(h.data() + 124, 12);
    e.mtime = Number(h.data() + 136, 12);
    e.link = Field(h.data() + 157, 100);
    e.devmajor = Number(h.data() + 329, 8);
    e.devminor = Number(h.data() + 337, 8);
    if (e.size < 0) return Status::Corruption("negative tar entry size");
    size_t padded = static_cast<size_t>((e.size + 511) / 512 * 512);
    if (e.type == 'x' || e.type == 'g' || e.type == 'L' || e.type == 'K') {
      if (e.size > (16 << 20)) return Status::Corruption("tar extended header too large");
      std::string data;
      if (Status st = s.Read(padded, &data); !st.ok()) return st;
      data.resize(static_cast<size_t>(e.size));
      if (e.type == 'x') {
        ApplyPax(data, &pending);
        have_pax = true;
      } else if (e.type == 'L') {
        long_name = std::string(data.c_str());
        have_long = true;
      } else if (e.type == 'K') {
        long_link = std::string(data.c_str());
        have_longlink = true;
      }
      continue;
    }
    if (have_long) e.path = long_name;
    if (have_longlink) e.link = long_link;
    if (have_pax) {
      if (!pending.path.empty()) e.path = pending.path;
      if (!pending.link.empty()) e.link = pending.link;
      if (pending.size) e.size = pending.size;
      if (pending.uid) e.uid = pending.uid;
      if (pending.gid) e.gid = pending.gid;
      if (pending.mtime) e.mtime = pending.mtime;
      e.xattrs = std::move(pending.xattrs);
    }
    return std::optional<Entry>(std::move(e));
  }
}

// A relative, normalized path; empty for the root; nullopt when it escapes.
std::optional<std::string> CleanPath(std::string_view p) {
  std::string out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

// Refuses a path whose parent directories inside `root` include a symlink
// (an archive must not write through its own links); creates missing ones.
Status SafeParents(const std::string& root, const std::string& rel) {
  std::string cur = root;
  size_t i = 0;
  for (;;) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) return Status::OK();
    cur += "/" + rel.substr(i, j - i);
    struct stat st {};
    if (::lstat(cur.c_str(), &st) != 0) {
      if (errno != ENOENT) return Errno("lstat " + cur);
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir " + cur);
    } else if (S_ISLNK(st.st_mode)) {
      return Status::BadRequest("archive entry " + rel + " goes through a symbolic link");
    } else if (!S_ISDIR(st.st_mode)) {
      return Status::BadRequest("archive entry " + rel + " goes through a non-directory");
    }
    i = j + 1;
  }
}

Status WriteEntry(TarStream& s, const Entry& e, const std::string& root, const std::string& rel) {
  std::string path = root + "/" + rel;
  if (Status st = SafeParents(root, rel); !st.ok()) return st;
  mode_t perm = static_cast<mode_t>(e.mode & 07777);
  struct stat old {};
  bool exists = ::lstat(path.c_str(), &old) == 0;
  // Replace what is there, except a directory by a directory.
  if (exists && !(e.type == '5' && S_ISDIR(old.st_mode))) {
    if (Status st = RemoveAll(path); !st.ok()) return st;
  }
  size_t padded = static_cast<size_t>((e.size + 511) / 512 * 512);
  switch (e.type) {
    case '0':
    case '7': {
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd.valid()) return Errno("create " + path);
      std::string buf;
      int64_t left = e.size;
      while (left > 0) {
        size_t k = static_cast<size_t>(std::min<int64_t>(left, 1 << 16));
        buf.clear();
        if (Status st = s.Read(k, &buf); !st.ok()) return st;
        if (Status st = WriteAll(fd.get(), buf); !st.ok()) return st;
        left -= static_cast<int64_t>(k);
      }
      if (Status st = s.Skip(padded - static_cast<size_t>(e.size)); !st.ok()) return st;
      padded = 0;
      break;
    }
    case '1': {
      auto target = CleanPath(e.link);
      if (!target || target->empty()) return Status::BadRequest("hard link escapes the archive: " + e.link);
      if (::link((root + "/" + *target).c_str(), path.c_str()) != 0) return Errno("link " + path);
      break;
    }
    case '2':
      if (::symlink(e.link.c_str(), path.c_str()) != 0) return Errno("symlink " + path);
      break;
    case '3':
    case '4':
    case '6': {
      mode_t kind = e.type == '3' ? S_IFCHR : e.type == '4' ? S_IFBLK : S_IFIFO;
      if (::mknod(path.c_str(), kind | perm,
                  makedev(static_cast<unsigned>(e.devmajor), static_cast<unsigned>(e.devminor))) != 0) {
        return Errno("mknod " + path);
      }
      break;
    }
    case '5':
      if (!exists && ::mkdir(path.c_str(), 0700) != 0) return Errno("mkdir " + path);
      break;
    default:  // unknown types are skipped, as tar does
      return s.Skip(padded);
  }
  if (padded > 0) {
    if (Status st = s.Skip(padded); !st.ok()) return st;
  }
  if (e.type == '1') return Status::OK();  // shares the target's inode
  if (::lchown(path.c_str(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid)) != 0) return Errno("lchown " + path);
  for (const auto& [k, v] : e.xattrs) {
    if (::lsetxattr(path.c_str(), k.c_str(), v.data(), v.size(), 0) != 0 && errno != ENOTSUP) return Errno("setxattr " + path);
  }
  if (e.type != '2' && ::chmod(path.c_str(), perm) != 0) return Errno("chmod " + path);
  struct timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
  (void)::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return Status::OK();
}

Status Extract(TarStream& s, const std::string& dir, bool whiteouts) {
  for (;;) {
    auto next = NextEntry(s);
    if (!next.ok()) return next.status();
    if (!next->has_value()) return Status::OK();
    const Entry& e = **next;
    auto rel = CleanPath(e.path);
    if (!rel) return Status::BadRequest("archive entry escapes its root: " + e.path);
    size_t padded = static_cast<size_t>((e.size + 511) / 512 * 512);
    if (rel->empty()) {
      if (Status st = s.Skip(padded); !st.ok()) return st;
      continue;
    }
    size_t slash = rel->rfind('/');
    std::string parent = slash == std::string::npos ? "" : rel->substr(0, slash);
    std::string base = slash == std::string::npos ? *rel : rel->substr(slash + 1);
    if (whiteouts && base.rfind(".wh.", 0) == 0) {
      if (Status st = SafeParents(dir, *rel); !st.ok()) return st;
      std::string pdir = parent.empty() ? dir : dir + "/" + parent;
      if (base == ".wh..wh..opq") {
        if (::setxattr(pdir.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) return Errno("setxattr " + pdir);
      } else {
        std::string target = pdir + "/" + base.substr(4);
        (void)RemoveAll(target);
        if (::mknod(target.c_str(), S_IFCHR, makedev(0, 0)) != 0) return Errno("mknod " + target);
      }
      if (Status st = s.Skip(padded); !st.ok()) return st;
      continue;
    }
    if (Status st = WriteEntry(s, e, dir, *rel); !st.ok()) return st;
  }
}

}  // namespace

Result<std::string> UnpackLayer(const std::string& tar_path, const std::string& dir) {
  auto s = TarStream::Open(tar_path);
  if (!s.ok()) return s.status();
  if (Status st = MakeDirs(dir); !st.ok()) return st;
  if (Status st = Extract(**s, dir, true); !st.ok()) return st;
  if (Status st = (*s)->Drain(); !st.ok()) return st;
  return (*s)->DiffId();
}

Status ExtractArchive(const std::string& tar_path, const std::string& dir) {
  auto s = TarStream::Open(tar_path);
  if (!s.ok()) return s.status();
  if (Status st = MakeDirs(dir); !st.ok()) return st;
  return Extract(**s, dir, false);
}

}  // namespace kubepp::kubelet::images
