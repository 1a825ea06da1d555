// File descriptors and files: an RAII fd, whole-file helpers, durable writes.
// Every failing system call comes back as an IOError naming the call and path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kubepp {

// Owns one file descriptor; closes it on destruction. Movable, not copyable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes all of `data` (retrying short writes and EINTR).
Status WriteAll(int fd, std::string_view data);
// pwrite(2) of all of `data` at `offset`.
Status PWriteAll(int fd, std::string_view data, uint64_t offset);
// Reads exactly `n` bytes at `offset`; fewer only at end of file (the result is shorter).
Result<std::string> PReadUpTo(int fd, size_t n, uint64_t offset);

Result<std::string> ReadFile(const std::string& path);
// Writes `path` so that a crash leaves either the old or the new content:
// temp file, fsync, rename, fsync of the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);
Status WriteFile(const std::string& path, std::string_view data, int mode = 0644);

// fsync(2) of a directory, making creates, renames and unlinks in it durable.
Status FsyncDir(const std::string& dir);
// mkdir -p.
Status MakeDirs(const std::string& path, int mode = 0755);
// rm -rf; OK when the path does not exist.
Status RemoveAll(const std::string& path);
bool PathExists(const std::string& path);
// Names (not paths) of the entries of `dir`, sorted, without "." and "..".
Result<std::vector<std::string>> ListDir(const std::string& dir);
std::string JoinPath(std::string_view a, std::string_view b);

// A fresh directory under $TMPDIR (or /tmp), removed with its content on destruction.
class TempDir {
 public:
  static Result<TempDir> Create(std::string_view prefix = "kubepp");
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace kubepp
