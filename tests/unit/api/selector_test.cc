#include "api/selector.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/names.h"

namespace kubepp::api {
namespace {

using Labels = std::map<std::string, std::string, std::less<>>;

TEST(LabelSelectorTest, EqualityAndSetBased) {
  auto s = LabelSelector::Parse("app=web,tier!=db,env in (prod, staging),!legacy,team");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"env", "prod"}, {"team", "a"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"env", "dev"}, {"team", "a"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"env", "prod"}, {"team", "a"}, {"legacy", "1"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"env", "prod"}, {"team", "a"}, {"tier", "db"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"env", "prod"}}));
  EXPECT_EQ(s->String(), "app=web,env in (prod,staging),!legacy,team,tier!=db");  // sorted by key
}

TEST(LabelSelectorTest, NotInAndDoubleEqualsAndGt) {
  auto s = LabelSelector::Parse("a==b, c notin (x,y), n>3");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches({{"a", "b"}, {"n", "4"}}));
  EXPECT_FALSE(s->Matches({{"a", "b"}, {"c", "x"}, {"n", "4"}}));
  EXPECT_FALSE(s->Matches({{"a", "b"}, {"n", "3"}}));
}

TEST(LabelSelectorTest, MatchesObjectReadsLabelsInPlace) {
  // An object and the same object as a value (through the labels map) agree,
  // with non-string label values taken as absent.
  auto s = LabelSelector::Parse("app=web,!legacy,n>3,env in (prod)");
  ASSERT_TRUE(s.ok());
  auto check = [&](const char* json, bool want) {
    boost::json::object o = boost::json::parse(json).as_object();
    EXPECT_EQ(s->MatchesObject(o), want) << json;
    EXPECT_EQ(s->MatchesObject(boost::json::value(o)), want) << json;
    EXPECT_EQ(s->Matches(ObjectLabels(boost::json::value(o))), want) << json;
  };
  check(R"({"metadata":{"labels":{"app":"web","n":"4","env":"prod"}}})", true);
  check(R"({"metadata":{"labels":{"app":"web","n":"4","env":"prod","legacy":"x"}}})", false);
  check(R"({"metadata":{"labels":{"app":"web","n":"4","env":"prod","legacy":1}}})", true);
  check(R"({"metadata":{"labels":{"app":"web","n":"3","env":"prod"}}})", false);
  check(R"({"metadata":{"labels":{"app":"db","n":"4","env":"prod"}}})", false);
  check(R"({"metadata":{}})", false);
  check(R"({})", false);
  auto nothing = LabelSelector::Nothing();
  EXPECT_FALSE(nothing.MatchesObject(boost::json::object{}));
  auto all = LabelSelector::Parse("");
  EXPECT_TRUE(all->MatchesObject(boost::json::object{}));
}

TEST(LabelSelectorTest, EmptySelectsEverything) {
  auto s = LabelSelector::Parse("");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches({}));
  EXPECT_TRUE(s->empty());
}

TEST(LabelSelectorTest, BadInputIsBadRequest) {
  for (const char* bad : {"a in (", "a in ()", "a=b c", "-x=y", "a=b,,", "a=in valid", "(a)", "a notin"}) {
    auto s = LabelSelector::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Code::kBadRequest) << bad;
  }
}

TEST(LabelSelectorTest, FromObject) {
  auto v = boost::json::parse(R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["fe"]}]})");
  auto s = LabelSelector::FromObject(&v);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"tier", "fe"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}}));
  EXPECT_EQ(s->String(), "app=web,tier in (fe)");
  boost::json::value empty = boost::json::object();
  EXPECT_TRUE(LabelSelector::FromObject(&empty)->Matches({}));
  EXPECT_FALSE(LabelSelector::FromObject(nullptr)->Matches({}));
  auto bad = boost::json::parse(R"({"matchExpressions":[{"key":"a","operator":"Near"}]})");
  EXPECT_FALSE(LabelSelector::FromObject(&bad).ok());
}

TEST(FieldSelectorTest, ParsesAndMatches) {
  auto s = FieldSelector::Parse("metadata.name=web,spec.nodeName!=node1,involvedObject.uid==abc\\,d");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->requirements().size(), 3u);
  EXPECT_EQ(s->requirements()[2].value, "abc,d");
  std::map<std::string, std::string> fields = {{"metadata.name", "web"}, {"spec.nodeName", "node2"}, {"involvedObject.uid", "abc,d"}};
  auto get = [&](std::string_view f) -> std::optional<std::string> {
    auto it = fields.find(std::string(f));
    if (it == fields.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_TRUE(s->Matches(get));
  fields["spec.nodeName"] = "node1";
  EXPECT_FALSE(s->Matches(get));
  EXPECT_EQ(s->RequiredValue("metadata.name"), "web");
  EXPECT_FALSE(FieldSelector::Parse("nonsense").ok());
  auto unsupported = s->Check([](std::string_view f) { return f == "metadata.name"; });
  EXPECT_EQ(unsupported.message(), "field label not supported: spec.nodeName");
}

TEST(NamesTest, UpstreamMessages) {
  EXPECT_TRUE(IsDNS1123Subdomain("my-app.example").empty());
  auto errs = IsDNS1123Subdomain("My_App");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  EXPECT_FALSE(IsDNS1123Label("a.b").empty());
  EXPECT_EQ(IsDNS1123Label(std::string(64, 'a')).front(), "must be no more than 63 characters");
  EXPECT_TRUE(IsQualifiedName("app.kubernetes.io/name").empty());
  EXPECT_FALSE(IsQualifiedName("-bad").empty());
  EXPECT_TRUE(IsValidLabelValue("").empty());
  EXPECT_FALSE(IsValidLabelValue("a b").empty());
}

}  // namespace
}  // namespace kubepp::api
