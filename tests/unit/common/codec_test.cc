#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/crc32c.h"
#include "common/json.h"

namespace kubepp {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string in = all.substr(0, n);
    auto out = Base64Decode(Base64Encode(in));
    ASSERT_TRUE(out.ok()) << n;
    EXPECT_EQ(*out, in);
  }
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
}

TEST(Base64Test, RejectsGarbage) {
  EXPECT_FALSE(Base64Decode("Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zm!v").ok());
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zm9v").ok());
}

TEST(Base64Test, UrlAlphabetWithoutPadding) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(255 - i));
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string enc = Base64UrlEncode(all.substr(0, n));
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    auto out = Base64UrlDecode(enc);
    ASSERT_TRUE(out.ok()) << n;
    EXPECT_EQ(*out, all.substr(0, n));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
  EXPECT_FALSE(Base64UrlDecode("a+b/").ok());
  EXPECT_FALSE(Base64UrlDecode("Z").ok());
}

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones), 0x62a8ab43u);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  // Extending in pieces equals one pass.
  std::string s = "hello, kubepp write-ahead log";
  uint32_t c = Crc32cExtend(0, s.data(), 7);
  c = Crc32cExtend(c, s.data() + 7, s.size() - 7);
  EXPECT_EQ(c, Crc32c(s));
}

TEST(JsonTest, ParsesAndLooksUp) {
  auto v = json::Parse(R"({"header":{"revision":"42"},"n":7,"ok":true,"s":"x"})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json::GetInt(json::Find(*v, "header") ? *json::Find(*v, "header") : *v, "revision"), 42);
  EXPECT_EQ(json::GetInt(*v, "n"), 7);
  EXPECT_EQ(json::GetInt(*v, "missing"), std::nullopt);
  EXPECT_TRUE(json::GetBool(*v, "ok"));
  EXPECT_EQ(json::GetString(*v, "s"), "x");
  EXPECT_EQ(json::GetString(*v, "n", "def"), "def");
  ASSERT_NE(json::FindPath(*v, {"header", "revision"}), nullptr);
}

TEST(JsonTest, MalformedIsBadRequest) {
  auto v = json::Parse("{\"a\":");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kBadRequest);
  EXPECT_FALSE(json::Parse("").ok());
  EXPECT_FALSE(json::Parse("{} trailing").ok());
}

}  // namespace
}  // namespace kubepp
