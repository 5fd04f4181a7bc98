// ElementCopyPlan (destinations/element_copy_plan): an element rendered for a
// payload key layout as copies must be byte for byte what ElementRenderer's
// walk of the element writes, for every payload: fields absent or present,
// merges overridden, members in compact text or not, keys repeated.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "common/json_object_view.hpp"
#include "destinations/element_copy_plan.hpp"
#include "destinations/element_renderer.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::ElementNode;

ElementNode literal(const std::string &json) {
    ElementNode node;
    node.kind = ElementNode::Kind::Literal;
    node.json = json;
    return node;
}

ElementNode field(const std::string &name) {
    ElementNode node;
    node.kind = ElementNode::Kind::Field;
    node.field = name;
    return node;
}

ElementNode fields(std::vector<std::string> except = {}) {
    ElementNode node;
    node.kind = ElementNode::Kind::Fields;
    node.except = std::move(except);
    return node;
}

ElementNode object(std::vector<std::pair<std::string, ElementNode>> members, std::vector<ElementNode> merge = {}) {
    ElementNode node;
    node.kind = ElementNode::Kind::Object;
    for (auto &[key, value] : members) {
        node.keys.push_back(key);
        node.values.push_back(std::move(value));
    }
    node.merge = std::move(merge);
    return node;
}

std::vector<JsonMemberSpan> spans_of(const std::string &payload) {
    const std::optional<JsonObjectView> view = JsonObjectView::of(payload);
    EXPECT_TRUE(view.has_value()) << payload;
    std::vector<JsonMemberSpan> spans;
    for (const JsonObjectView::Member &member : view->members())
        spans.push_back({static_cast<uint32_t>(member.key_json.data() - payload.data()),
                         static_cast<uint32_t>(member.key_json.size()),
                         static_cast<uint32_t>(member.value.data() - payload.data()),
                         static_cast<uint32_t>(member.value.size())});
    return spans;
}

const auto kNoSettings = [](const std::string &) { return std::optional<std::string>(); };

// Payloads of a few keys, some of them the elements' own, in random order
// and spacing, values of every kind, now and then a key twice.
class PayloadMaker {
  public:
    explicit PayloadMaker(unsigned seed) : random_(seed) {}

    std::string next() {
        static const std::vector<std::string> keys = {"user_id", "device_id", "email", "name", "x",
                                                      "y",       "attributes", "n",   "o"};
        std::vector<std::string> chosen;
        for (const std::string &key : keys)
            if (pick(3) != 0)
                chosen.push_back(key);
        std::shuffle(chosen.begin(), chosen.end(), random_);
        if (!chosen.empty() && pick(8) == 0)
            chosen.push_back(chosen.front());   // a key twice: the last one counts
        const bool compact = pick(4) != 0;
        std::string payload = compact ? "{" : "{ ";
        for (size_t i = 0; i < chosen.size(); ++i) {
            if (i > 0)
                payload += compact ? "," : (pick(2) ? ", " : " ,");
            payload += "\"" + chosen[i] + "\"" + (compact ? ":" : (pick(2) ? ": " : " :")) + value();
        }
        return payload + (compact ? "}" : " }");
    }

  private:
    size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

    std::string value() {
        static const std::vector<std::string> values = {
            "null", "1", "-2.50", "true", R"("a")", R"("say \"hi\", ok")", R"("\u00e9")", R"({"a":[1,{"b":null}]})",
            "[]", "{}", R"({ "k" : "v" })"};
        return values[pick(values.size())];
    }

    std::mt19937 random_;
};

// Renders each payload by the walk (no member spans given) and by the copy
// plan (spans given), and compares.
void expect_copies_write_the_walk(const ElementNode &element, unsigned seed) {
    ASSERT_TRUE(ElementCopyPlan::covers(element));
    const ElementRenderer renderer(element, kNoSettings);
    PayloadMaker payloads(seed);
    const std::string none;
    for (int i = 0; i < 3000; ++i) {
        const std::string payload = payloads.next();
        std::string walked, copied, problem;
        ASSERT_TRUE(renderer.render(payload, {}, {none, none, none}, walked, problem)) << problem;
        ASSERT_TRUE(renderer.render(payload, spans_of(payload), {none, none, none}, copied, problem)) << problem;
        ASSERT_EQ(copied, walked) << payload;
    }
}

TEST(ElementCopyPlan, AmplitudeIdentifyIsCopied) {
    const catalog::DestinationType &type = test::shipped_type("amplitude");
    const catalog::ActionDef &identify = *type.find_action("identify_user");
    ASSERT_TRUE(identify.element.has_value());
    EXPECT_TRUE(ElementCopyPlan::covers(*identify.element));
    expect_copies_write_the_walk(*identify.element, 1);
    // Events carry a text of the message id and a date as milliseconds:
    // rendered by the walk.
    EXPECT_FALSE(ElementCopyPlan::covers(*type.find_action("log_event")->element));
}

TEST(ElementCopyPlan, WritesWhatTheWalkWrites) {
    // Literals around fields, a merge its own keys override, fields absent
    // first, last and in between, nested objects and merges.
    expect_copies_write_the_walk(object({{"lit", literal(R"("s")")},
                                         {"x", field("x")},
                                         {"nested", object({{"f", field("y")}, {"g", fields({"y", "n"})}})},
                                         {"name", field("name")},
                                         {"tail", literal("[1,2]")}},
                                        {fields({"email"})}),
                                 2);
    expect_copies_write_the_walk(object({{"a", field("device_id")}, {"b", field("o")}}), 3);
    expect_copies_write_the_walk(object({}, {fields()}), 4);
    expect_copies_write_the_walk(fields({"user_id", "attributes"}), 5);
    expect_copies_write_the_walk(object({{"only", field("absent")}}, {fields({"x"})}), 6);
}

TEST(ElementCopyPlan, FitsOnlyItsLayout) {
    const ElementNode element = object({{"id", field("user_id")}, {"props", fields({"user_id"})}});
    std::vector<std::string> keys = {R"("user_id")", R"("name")"};
    ElementNode resolved = element;
    resolved.key_json = {R"("id":)", R"("props":)"};
    const ElementCopyPlan plan(resolved, keys);
    const std::string payload = R"({"user_id":"u-1","name":"Ann"})";
    ASSERT_TRUE(plan.fits(payload, spans_of(payload)));
    std::string out;
    plan.render(payload, spans_of(payload), out);
    EXPECT_EQ(out, R"({"id":"u-1","props":{"name":"Ann"}})");
    for (const std::string other : {R"({"name":"Ann","user_id":"u-1"})", R"({"user_id":"u-1"})",
                                    R"({"user_id":"u-1","name":"Ann","n":1})", R"({"user_id":"u-1","nam":"Ann"})"})
        EXPECT_FALSE(plan.fits(other, spans_of(other))) << other;
    // Spans past the payload's end do not fit.
    EXPECT_FALSE(plan.fits(R"({"user_id":"u-1"})", spans_of(payload)));
}

}  // namespace
}  // namespace reverse_etl::destinations
