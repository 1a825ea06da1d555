#include "api/quantity.h"

#include <gtest/gtest.h>

namespace kubepp::api {
namespace {

Quantity Q(std::string_view s) {
  auto q = Quantity::Parse(s);
  EXPECT_TRUE(q.ok()) << s << ": " << q.status().ToString();
  return q.ok() ? *q : Quantity();
}

TEST(QuantityTest, ParsesEveryFormat) {
  EXPECT_EQ(Q("100m").MilliValue(), 100);
  EXPECT_EQ(Q("0.1").MilliValue(), 100);
  EXPECT_EQ(Q("1").MilliValue(), 1000);
  EXPECT_EQ(Q("2").Value(), 2);
  EXPECT_EQ(Q("64Mi").Value(), 64 << 20);
  EXPECT_EQ(Q("1.5Gi").Value(), 1536LL << 20);
  EXPECT_EQ(Q("1G").Value(), 1000000000);
  EXPECT_EQ(Q("1k").Value(), 1000);
  EXPECT_EQ(Q("1e3").Value(), 1000);
  EXPECT_EQ(Q("1E-3").MilliValue(), 1);
  EXPECT_EQ(Q("+5").Value(), 5);
  EXPECT_EQ(Q("-5").Value(), -5);
  EXPECT_EQ(Q("250u").MilliValue(), 1);  // rounds up, as upstream's MilliValue
  EXPECT_EQ(Q("1n").Value(), 1);
  EXPECT_EQ(Q("8Ei").Value(), std::numeric_limits<int64_t>::max());  // beyond int64: saturates
  EXPECT_EQ(Q(".5").MilliValue(), 500);
  EXPECT_EQ(Q("5.").Value(), 5);
}

TEST(QuantityTest, RefusesMalformed) {
  for (std::string_view bad : {"", "m", "1.2.3", "1Mb", "1KiB", "1 Mi", "abc", "1e", "1e1000000", "--1", "0x10", "1ki"}) {
    auto q = Quantity::Parse(bad);
    EXPECT_FALSE(q.ok()) << bad;
    if (!q.ok()) {
      EXPECT_EQ(q.status().code(), Code::kBadRequest) << bad;
    }
  }
}

TEST(QuantityTest, ComparesAndAddsExactly) {
  EXPECT_EQ(Q("1Gi"), Q("1024Mi"));
  EXPECT_EQ(Q("1000m"), Q("1"));
  EXPECT_LT(Q("999m"), Q("1"));
  EXPECT_GT(Q("1Gi"), Q("1G"));
  EXPECT_EQ(Q("100m") + Q("900m"), Q("1"));
  Quantity free = Q("4") - Q("3500m");
  EXPECT_EQ(free.MilliValue(), 500);
  EXPECT_EQ(Quantity::FromMilli(1500), Q("1.5"));
  EXPECT_EQ(Quantity::FromInt(110), Q("110"));
}

TEST(QuantityTest, CanonicalStrings) {
  EXPECT_EQ(Q("1000m").String(), "1");
  EXPECT_EQ(Q("100m").String(), "100m");
  EXPECT_EQ(Q("0.5").String(), "500m");
  EXPECT_EQ(Q("1024Mi").String(), "1Gi");
  EXPECT_EQ(Q("1536Mi").String(), "1536Mi");
  EXPECT_EQ(Q("1.5Ki").String(), "1536");  // 1.5 KiB is no whole number of KiB
  EXPECT_EQ(Q("2000k").String(), "2M");
  EXPECT_EQ(Q("1e3").String(), "1e3");
  EXPECT_EQ(Q("0").String(), "0");
  EXPECT_EQ(Q("-100m").String(), "-100m");
}

}  // namespace
}  // namespace kubepp::api
