#include "storage/embedded/mvcc.h"

#include <gtest/gtest.h>

namespace kubepp::storage::embedded {
namespace {

class MvccTest : public ::testing::Test {
 protected:
  int64_t Put(const std::string& key, const std::string& value) {
    int64_t rev = idx_.current_revision() + 1;
    const KeyValue* cur = idx_.Latest(key);
    KvPtr prev = idx_.LatestPtr(key);
    if (prev && prev->version == 0) prev = nullptr;
    auto kv = std::make_shared<KeyValue>(KeyValue{key, value, prev ? cur->create_revision : rev, rev,
                                                  prev ? cur->version + 1 : 1});
    idx_.Apply(Event{EventType::kPut, kv, prev});
    return rev;
  }
  int64_t Del(const std::string& key) {
    int64_t rev = idx_.current_revision() + 1;
    KvPtr prev = idx_.LatestPtr(key);
    idx_.Apply(Event{EventType::kDelete, std::make_shared<KeyValue>(KeyValue{key, "", 0, rev, 0}), prev});
    return rev;
  }
  MvccIndex idx_;
};

TEST_F(MvccTest, CompactionKeepsStateAtThePoint) {
  Put("a", "1");      // 1
  Put("a", "2");      // 2
  Put("b", "1");      // 3
  Del("b");           // 4
  Put("a", "3");      // 5
  Put("c", "1");      // 6
  idx_.Compact(5);
  EXPECT_EQ(idx_.compact_revision(), 5);
  EXPECT_EQ(idx_.log_first(), 5);
  EXPECT_EQ(idx_.Get("a", 5)->value, "3");
  EXPECT_TRUE(idx_.Get("b", 5).status().IsNotFound());
  EXPECT_EQ(idx_.key_count(), 2u) << "b's tombstone below the point is gone";
  EXPECT_EQ(idx_.EventAt(5).kv->value, "3");
  ASSERT_NE(idx_.EventAt(5).prev_kv, nullptr);
  // Compact at a revision where a key was live but unchanged since: its
  // older version must survive as the state at the point.
  idx_.Compact(6);
  EXPECT_EQ(idx_.Get("a", 6)->value, "3");
}

TEST_F(MvccTest, LoadRebuildsTheLog) {
  Put("a", "1");
  Put("b", "1");
  Put("a", "2");
  Del("b");
  Put("b", "again");
  idx_.Compact(3);
  MvccIndex copy;
  ASSERT_TRUE(copy.Load(idx_.current_revision(), idx_.compact_revision(), idx_.CopyVersions()).ok());
  EXPECT_EQ(copy.current_revision(), 5);
  EXPECT_EQ(copy.log_first(), 3);
  for (int64_t r = 3; r <= 5; ++r) {
    EXPECT_EQ(copy.EventAt(r).kv->mod_revision, r);
    EXPECT_EQ(copy.EventAt(r).type, idx_.EventAt(r).type);
    EXPECT_EQ(copy.EventAt(r).prev_kv == nullptr, idx_.EventAt(r).prev_kv == nullptr) << r;
  }
  EXPECT_EQ(copy.EventAt(5).prev_kv, nullptr) << "a create after a delete has no prev";
  EXPECT_EQ(copy.EventAt(4).prev_kv->value, "1");
}

TEST_F(MvccTest, LoadRefusesGaps) {
  auto a = std::make_shared<KeyValue>(KeyValue{"a", "1", 1, 1, 1});
  auto b = std::make_shared<KeyValue>(KeyValue{"b", "1", 3, 3, 1});
  MvccIndex idx;
  EXPECT_EQ(idx.Load(3, 0, {{a}, {b}}).code(), Code::kCorruption);
}

TEST_F(MvccTest, RevisionKeepingBytes) {
  for (int i = 0; i < 100; ++i) Put("k" + std::to_string(i % 3), std::string(1000, 'x'));
  uint64_t total = idx_.history_bytes();
  int64_t r = idx_.RevisionKeepingBytes(total / 2);
  EXPECT_GT(r, 40);
  EXPECT_LT(r, 60);
  idx_.Compact(r);
  EXPECT_LE(idx_.history_bytes(), total / 2 + 1100);
}

}  // namespace
}  // namespace kubepp::storage::embedded
