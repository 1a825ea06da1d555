#include "apiserver/sa_token.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/file.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace {

class SaTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sa-token-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto t = ServiceAccountTokens::Load(dir_, "https://issuer.test");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokens_ = std::make_unique<ServiceAccountTokens>(std::move(*t));
  }
  void TearDown() override { (void)RemoveAll(dir_); }

  TokenClaims Claims() const {
    TokenClaims c;
    c.ns = "team";
    c.sa_name = "robot";
    c.sa_uid = "uid-1";
    c.audiences = {"https://issuer.test", "vault"};
    c.issued_at = 1'000'000;
    c.expires_at = 1'003'600;
    c.jti = "jti-1";
    c.bound_kind = "Pod";
    c.bound_name = "p";
    c.bound_uid = "pod-uid";
    c.node_name = "n1";
    c.node_uid = "node-uid";
    return c;
  }

  std::string dir_;
  std::unique_ptr<ServiceAccountTokens> tokens_;
};

TEST_F(SaTokenTest, IssuedTokensVerifyWithTheirClaims) {
  auto tok = tokens_->Issue(Claims());
  ASSERT_TRUE(tok.ok());
  auto c = tokens_->Verify(*tok, {"vault"}, 1'000'100);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Subject(), "system:serviceaccount:team:robot");
  EXPECT_EQ(c->sa_uid, "uid-1");
  EXPECT_EQ(c->bound_kind, "Pod");
  EXPECT_EQ(c->bound_uid, "pod-uid");
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->expires_at, 1'003'600);
  // The payload is plain JSON in upstream's shape.
  std::string payload = tok->substr(tok->find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  auto claims = json::Parse(*Base64UrlDecode(payload));
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->at("sub").as_string(), "system:serviceaccount:team:robot");
  EXPECT_EQ(claims->at("kubernetes.io").at("pod").at("name").as_string(), "p");
}

TEST_F(SaTokenTest, RefusesTamperingExpiryAndForeignAudiences) {
  auto tok = tokens_->Issue(Claims());
  ASSERT_TRUE(tok.ok());
  EXPECT_FALSE(tokens_->Verify(*tok, {"other"}, 1'000'100).ok());
  EXPECT_FALSE(tokens_->Verify(*tok, {"vault"}, 1'003'600 + 61).ok());
  EXPECT_FALSE(tokens_->Verify(*tok, {"vault"}, 1'000'000 - 61).ok());
  // Swap the payload for one naming someone else: the signature no longer fits.
  TokenClaims evil = Claims();
  evil.sa_name = "admin";
  auto other = tokens_->Issue(evil);
  size_t a = tok->find('.'), b = tok->rfind('.');
  size_t oa = other->find('.'), ob = other->rfind('.');
  std::string forged = tok->substr(0, a) + other->substr(oa, ob - oa) + tok->substr(b);
  auto v = tokens_->Verify(forged, {"vault"}, 1'000'100);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kUnauthorized);
  for (const std::string& junk : std::vector<std::string>{"", "a.b", "a.b.c", "..", *tok + "x", tok->substr(0, b) + ".AAAA"}) {
    EXPECT_FALSE(tokens_->Verify(junk, {"vault"}, 1'000'100).ok()) << junk;
  }
}

TEST_F(SaTokenTest, KeyPersistsAndOtherKeysAreRefused) {
  auto tok = tokens_->Issue(Claims());
  auto again = ServiceAccountTokens::Load(dir_, "https://issuer.test");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key_id(), tokens_->key_id());
  EXPECT_TRUE(again->Verify(*tok, {"vault"}, 1'000'100).ok());
  char tmpl[] = "/tmp/sa-token-test-XXXXXX";
  std::string other_dir = mkdtemp(tmpl);
  auto other = ServiceAccountTokens::Load(other_dir, "https://issuer.test");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Verify(*tok, {"vault"}, 1'000'100).ok());
  auto jwks = json::Parse(other->Jwks());
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->at("keys").at(0).at("kid").as_string(), other->key_id());
  EXPECT_EQ(jwks->at("keys").at(0).at("x").as_string().size(), 43u);
  (void)RemoveAll(other_dir);
  // A damaged key file is refused, not replaced.
  ASSERT_TRUE(WriteFile(JoinPath(dir_, "pki/sa.key"), "garbage", 0600).ok());
  EXPECT_FALSE(ServiceAccountTokens::Load(dir_, "https://issuer.test").ok());
}

}  // namespace
}  // namespace kubepp::apiserver
