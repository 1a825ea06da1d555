#include "common/file.h"

#include <gtest/gtest.h>

namespace kubepp {
namespace {

TEST(FileTest, WriteAtomicAndRead) {
  auto dir = TempDir::Create("file-test");
  ASSERT_TRUE(dir.ok());
  std::string p = JoinPath(dir->path(), "a/b");
  ASSERT_TRUE(MakeDirs(JoinPath(dir->path(), "a")).ok());
  ASSERT_TRUE(WriteFileAtomic(p, std::string("x\0y", 3)).ok());
  auto got = ReadFile(p);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::string("x\0y", 3));
  EXPECT_FALSE(PathExists(p + ".tmp"));
  auto names = ListDir(JoinPath(dir->path(), "a"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"b"});
  EXPECT_TRUE(ReadFile(p + "-missing").status().IsNotFound());
}

TEST(FileTest, TempDirIsRemoved) {
  std::string path;
  {
    auto dir = TempDir::Create("file-test");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    ASSERT_TRUE(WriteFile(JoinPath(path, "f"), "data").ok());
    EXPECT_TRUE(PathExists(path));
  }
  EXPECT_FALSE(PathExists(path));
}

}  // namespace
}  // namespace kubepp
