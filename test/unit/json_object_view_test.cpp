// common/json_object_view: the shallow view the element renderer reads
// payloads with: members' keys and their values' text as written; and the
// elements of an array (the response reader's results in order).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_object_view.hpp"

namespace reverse_etl {
namespace {

TEST(JsonObjectView, SeesEachMemberAndItsValueAsWritten) {
    const std::string text = R"({"a":1.50,"b":"x\"y","c":{"d":[1,{"e":"}"}]},"f":null,"g":true,"h":[]})";
    const std::optional<JsonObjectView> view = JsonObjectView::of(text);
    ASSERT_TRUE(view);
    ASSERT_EQ(view->members().size(), 6u);
    EXPECT_EQ(view->members()[0].key, "a");
    EXPECT_EQ(view->members()[0].value, "1.50");   // digits as written, not re-printed
    EXPECT_EQ(view->members()[1].value, R"("x\"y")");
    EXPECT_EQ(view->members()[2].value, R"({"d":[1,{"e":"}"}]})");   // a brace inside a string does not close it
    EXPECT_EQ(view->members()[3].value, "null");
    EXPECT_EQ(view->members()[4].value, "true");
    EXPECT_EQ(view->members()[5].value, "[]");
    EXPECT_EQ(view->members()[2].key_json, R"("c")");
}

TEST(JsonObjectView, ReadsWhitespaceBetweenTokens) {
    const std::optional<JsonObjectView> view = JsonObjectView::of(" {\n \"a\" : [ 1, 2 ] ,\t\"b\":\"c\" } ");
    ASSERT_TRUE(view);
    ASSERT_EQ(view->members().size(), 2u);
    EXPECT_EQ(view->members()[0].value, "[ 1, 2 ]");
    EXPECT_EQ(view->members()[1].value, "\"c\"");
    EXPECT_TRUE(JsonObjectView::of("{}"));
    EXPECT_TRUE(JsonObjectView::of("{ }")->members().empty());
}

TEST(JsonObjectView, UnescapesKeysAndFindsTheLastOfDuplicates) {
    const std::string text = R"({"a\u0062":1,"k":2,"k":3})";
    const std::optional<JsonObjectView> view = JsonObjectView::of(text);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->members()[0].key, "ab");
    EXPECT_EQ(view->members()[0].key_json, R"("a\u0062")");
    ASSERT_NE(view->member("ab"), nullptr);
    EXPECT_EQ(view->member("ab")->value, "1");
    EXPECT_EQ(view->member("k")->value, "3");
    EXPECT_EQ(view->member("missing"), nullptr);
    // The view stays valid when moved: unescaped keys live in the view.
    const JsonObjectView moved = std::move(*JsonObjectView::of(text));
    EXPECT_EQ(moved.member("ab")->value, "1");
}

TEST(JsonObjectView, RefusesWhatIsNotAnObject) {
    for (const char *text : {"", "[]", "1", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1 \"b\":2}",
                             "{\"a\":[1}", "{\"a\":{]}", "{\"a\":\"open}", "{\"a\":1} x", "{a:1}"})
        EXPECT_FALSE(JsonObjectView::of(text)) << text;
}

// One view reused for one text after another holds only the last one's
// members, and none after a text that is not an object.
TEST(JsonObjectView, ViewsOneTextAfterAnother) {
    JsonObjectView view;
    const std::string first = R"({"a\u0062":1,"c":{"d":2},"e":[3]})", second = R"({"x":"y"})", bad = "[1]";
    ASSERT_TRUE(view.view(first));
    EXPECT_EQ(view.members().size(), 3u);
    EXPECT_EQ(view.member("ab")->value, "1");
    EXPECT_EQ(view.member("c")->value, R"({"d":2})");
    ASSERT_TRUE(view.view(second));
    ASSERT_EQ(view.members().size(), 1u);
    EXPECT_EQ(view.member("ab"), nullptr);
    EXPECT_EQ(view.member("x")->value, R"("y")");
    EXPECT_FALSE(view.view(bad));
    EXPECT_TRUE(view.members().empty());
    EXPECT_FALSE(view.view(R"({"a":1,"b")"));
    EXPECT_TRUE(view.members().empty());
    ASSERT_TRUE(view.view("{}"));
    EXPECT_TRUE(view.members().empty());
}

// Members at places their writer recorded: taken as they are, with no scan;
// a place outside the text, or an escaped key, is declined (view() it).
TEST(JsonObjectView, TakesMembersAtRecordedPlaces) {
    const std::string text = R"({"id":7,"p":{"x":[1]}})";
    JsonObjectView view;
    ASSERT_TRUE(view.view_known(text, {{1, 4, 6, 1}, {8, 3, 12, 9}}));
    ASSERT_EQ(view.members().size(), 2u);
    EXPECT_EQ(view.member("id")->value, "7");
    EXPECT_EQ(view.member("p")->key_json, R"("p")");
    EXPECT_EQ(view.member("p")->value, R"({"x":[1]})");
    EXPECT_FALSE(view.view_known(text, {{1, 4, 6, 1}, {8, 3, 12, 99}}));
    EXPECT_TRUE(view.members().empty());
    EXPECT_FALSE(view.view_known(text, {{0, 4, 6, 1}}));   // not a key's quotes
    const std::string escaped = R"({"a\"b":1})";
    EXPECT_FALSE(view.view_known(escaped, {{1, 6, 8, 1}}));
    ASSERT_TRUE(view.view(escaped));
    EXPECT_EQ(view.member("a\"b")->value, "1");
}

TEST(JsonStringContent, DecodesEscapesAndRefusesOtherKinds) {
    EXPECT_EQ(json_string_content(R"("plain")"), "plain");
    EXPECT_EQ(json_string_content(R"("a\nb\u00e9")"), "a\nb\xc3\xa9");
    EXPECT_EQ(json_string_content("1"), std::nullopt);
    EXPECT_EQ(json_string_content(R"("unclosed)"), std::nullopt);
}

}  // namespace
}  // namespace reverse_etl
