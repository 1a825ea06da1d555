#include "common/status.h"

#include <gtest/gtest.h>

namespace kubepp {
namespace {

TEST(StatusTest, OkByDefault) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.code(), Code::kOk);
  EXPECT_EQ(st.HttpCode(), 200);
  EXPECT_EQ(st.ToString(), "OK");
}

TEST(StatusTest, CodesMapToKubernetesReasons) {
  EXPECT_EQ(Status::NotFound("x").HttpCode(), 404);
  EXPECT_EQ(Status::NotFound("x").Reason(), "NotFound");
  EXPECT_EQ(Status::AlreadyExists("x").HttpCode(), 409);
  EXPECT_EQ(Status::AlreadyExists("x").Reason(), "AlreadyExists");
  EXPECT_EQ(Status::Conflict("x").Reason(), "Conflict");
  EXPECT_EQ(Status::Expired("x").HttpCode(), 410);
  EXPECT_EQ(Status::Expired("x").Reason(), "Expired");
  EXPECT_EQ(Status::Invalid("x").HttpCode(), 422);
  EXPECT_EQ(Status::TooLarge("x").HttpCode(), 413);
  EXPECT_EQ(Status::TooLarge("x").Reason(), "RequestEntityTooLarge");
  EXPECT_EQ(Status::IOError("x").HttpCode(), 500);
  EXPECT_EQ(Status::IOError("x").Reason(), "InternalError");
  EXPECT_EQ(Status::Corruption("x").Reason(), "InternalError");
  EXPECT_EQ(Status::Timeout("x").HttpCode(), 504);
}

TEST(StatusTest, CopiesCausesAndAddsContext) {
  Status st = Status::Invalid("bad pod", {{"FieldValueRequired", "Required value", "spec.containers[0].image"}});
  Status copy = st;
  EXPECT_EQ(copy, st);
  ASSERT_EQ(copy.causes().size(), 1u);
  EXPECT_EQ(copy.causes()[0].field, "spec.containers[0].image");
  Status ctx = st.WithContext("create");
  EXPECT_EQ(ctx.message(), "create: bad pod");
  EXPECT_EQ(ctx.code(), Code::kInvalid);
  EXPECT_TRUE(Status().WithContext("x").ok());
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::BadRequest("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, ValueOrStatus) {
  auto r = Quarter(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  // A Result can never hold an OK status without a value.
  Result<int> weird{Status::OK()};
  EXPECT_FALSE(weird.ok());
}

TEST(StatusTest, ErrnoStatusNamesTheCall) {
  Status st = ErrnoStatus("open", "/nope", ENOENT);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.message(), "open /nope: No such file or directory");
}

}  // namespace
}  // namespace kubepp
