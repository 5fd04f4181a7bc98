// catalog/dbt_manifest: which nodes of a dbt manifest become models, with
// which key, name and relation, on the fixtures the pg_regress test imports
// (test/fixtures/dbt/) and on small hand-written manifests for the edges.
#include <string>

#include <gtest/gtest.h>

#include "catalog/dbt_manifest.hpp"
#include "catalog/schedule.hpp"
#include "test_support.hpp"

namespace reverse_etl::catalog {
namespace {

using test::error_of;

DbtManifest read_text(const std::string &text) { return read_dbt_manifest(parse_json_text(text)); }

DbtManifest read_fixture(const std::string &name) {
    return read_text(test::repository_file("test/fixtures/dbt/" + name));
}

// A v12 manifest with the given nodes (JSON object members).
std::string manifest_with(const std::string &nodes) {
    return R"({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
               "nodes": {)" + nodes + "}}";
}

// A model node of package "p" in schema "s".
std::string model_node(const std::string &name, const std::string &extra) {
    return "\"model.p." + name + "\": {\"unique_id\": \"model.p." + name + "\", \"resource_type\": \"model\", " +
           "\"package_name\": \"p\", \"name\": \"" + name + "\", \"schema\": \"s\", \"alias\": \"" + name + "\"" +
           (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(DbtManifest, ReadsTheV12Fixture) {
    const DbtManifest manifest = read_fixture("jaffle_shop_v12.json");
    EXPECT_EQ(manifest.schema_version, "v12");
    ASSERT_EQ(manifest.models.size(), 4u);

    const DbtModelNode &customers = manifest.models[0];
    EXPECT_EQ(customers.unique_id, "model.jaffle_shop.customers");
    EXPECT_EQ(customers.model_name, "customers");
    EXPECT_EQ(customers.primary_key, "customer_id");
    EXPECT_EQ(customers.primary_key_origin, "meta.reverse_etl.primary_key");
    EXPECT_EQ(customers.description, std::optional<std::string>("One row per customer, with their order history."));
    EXPECT_EQ(customers.relation.relation_name, std::optional<std::string>("\"analytics\".\"jaffle\".\"customers\""));

    // A versioned model is named as dbt names its relation.
    const DbtModelNode &products = manifest.models[1];
    EXPECT_EQ(products.unique_id, "model.jaffle_shop.dim_products.v2");
    EXPECT_EQ(products.model_name, "dim_products_v2");
    EXPECT_EQ(products.primary_key, "product_id");

    // config.unique_key, and a name from meta.reverse_etl.name.
    const DbtModelNode &items = manifest.models[2];
    EXPECT_EQ(items.unique_id, "model.jaffle_shop.order_items");
    EXPECT_EQ(items.model_name, "order items");
    EXPECT_EQ(items.primary_key, "order_item_id");
    EXPECT_EQ(items.primary_key_origin, "config.unique_key");
    EXPECT_EQ(items.description, std::nullopt);

    // A unique test; the dbt_utils combination test does not count.
    const DbtModelNode &orders = manifest.models[3];
    EXPECT_EQ(orders.unique_id, "model.jaffle_shop.orders");
    EXPECT_EQ(orders.primary_key, "order_id");
    EXPECT_EQ(orders.primary_key_origin, "a unique test");

    // The ephemeral model asked for it; the snapshot (with a unique_key), the
    // seed and the view with only a not_null test did not and are not named.
    ASSERT_EQ(manifest.skipped.size(), 1u);
    EXPECT_EQ(manifest.skipped[0].unique_id, "model.jaffle_shop.customer_segments");
    EXPECT_EQ(manifest.skipped[0].reason, "it is ephemeral, so dbt builds no relation for it to read");
    EXPECT_EQ(manifest.packages, std::set<std::string>{"jaffle_shop"});
}

TEST(DbtManifest, ReadsTheV10Fixture) {
    const DbtManifest manifest = read_fixture("legacy_crm_v10.json");
    EXPECT_EQ(manifest.schema_version, "v10");
    ASSERT_EQ(manifest.models.size(), 3u);
    // config.meta only, a unique test, a one-element unique_key; the
    // two-column unique_key of "events" is no primary key.
    EXPECT_EQ(manifest.models[0].unique_id, "model.legacy_crm.accounts");
    EXPECT_EQ(manifest.models[0].primary_key, "account_id");
    EXPECT_EQ(manifest.models[1].unique_id, "model.legacy_crm.contacts");
    EXPECT_EQ(manifest.models[1].primary_key, "contact_id");
    EXPECT_EQ(manifest.models[2].unique_id, "model.legacy_crm.deals");
    EXPECT_EQ(manifest.models[2].primary_key, "deal_id");
    EXPECT_TRUE(manifest.skipped.empty());
}

TEST(DbtManifest, AcceptsV10ToV12Only) {
    for (const char *version : {"v10", "v11", "v12"}) {
        const DbtManifest manifest = read_text(std::string(R"({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/)") +
                                               version + R"(.json"}, "nodes": {}})");
        EXPECT_EQ(manifest.schema_version, version);
    }
    const Error old = error_of([] {
        read_text(R"({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v9.json"}, "nodes": {}})");
    });
    EXPECT_EQ(old.sqlstate(), "22023");
    EXPECT_EQ(old.message(), "dbt manifest schema version \"v9\" is not supported");
    EXPECT_EQ(old.detail(), "metadata.dbt_schema_version is \"https://schemas.getdbt.com/dbt/manifest/v9.json\".");
    EXPECT_EQ(error_of([] { read_text(R"({"nodes": {}})"); }).message(), "manifest has no metadata.dbt_schema_version");
    EXPECT_EQ(error_of([] { read_text("[1]"); }).detail(), "It is an array.");
    EXPECT_EQ(error_of([] {
                  read_text(R"({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}})");
              }).message(),
              "manifest has no \"nodes\" object");
}

TEST(DbtManifest, KeyOrderAndColumnSql) {
    // meta beats unique_key beats a test.
    const DbtManifest manifest = read_text(manifest_with(
        model_node("a", R"("meta": {"reverse_etl": {"primary_key": "Key"}}, "config": {"unique_key": "other"})") + ", " +
        model_node("b", R"("config": {"unique_key": "  ID  "})") + ", " +
        model_node("c", R"("config": {"unique_key": "\"Quoted\"\"Id\""})") + ", " +
        model_node("d", R"("config": {"unique_key": "id || '-' || day"})") + ", " +
        R"("test.p.u1": {"resource_type": "test", "attached_node": "model.p.d", "column_name": "zeta",
                         "test_metadata": {"name": "unique", "namespace": null}},
           "test.p.u2": {"resource_type": "test", "depends_on": {"nodes": ["model.p.d"]},
                         "test_metadata": {"name": "unique", "kwargs": {"column_name": "alpha"}}},
           "test.p.u3": {"resource_type": "test", "attached_node": "model.p.d", "column_name": "aaa",
                         "test_metadata": {"name": "unique", "namespace": "my_package"}})"));
    ASSERT_EQ(manifest.models.size(), 4u);
    EXPECT_EQ(manifest.models[0].primary_key, "Key");         // meta: as written
    EXPECT_EQ(manifest.models[1].primary_key, "id");          // SQL: folded as PostgreSQL folds it
    EXPECT_EQ(manifest.models[2].primary_key, "Quoted\"Id");
    EXPECT_EQ(manifest.models[3].primary_key, "alpha");       // an expression is no key; first tested column
    EXPECT_EQ(manifest.models[3].primary_key_origin, "a unique test");
}

TEST(DbtManifest, RelationFallbackAndSkips) {
    const DbtManifest manifest = read_text(manifest_with(
        model_node("a", R"("database": "db", "alias": "a_table", "config": {"unique_key": "id"})") + ", " +
        R"("seed.p.s": {"resource_type": "seed", "name": "s", "meta": {"reverse_etl": {"primary_key": "id"}}},
           "snapshot.p.n": {"resource_type": "snapshot", "name": "n", "config": {"unique_key": "id"}})"));
    ASSERT_EQ(manifest.models.size(), 1u);
    EXPECT_EQ(manifest.models[0].relation.relation_name, std::nullopt);
    EXPECT_EQ(manifest.models[0].relation.database, std::optional<std::string>("db"));
    EXPECT_EQ(manifest.models[0].relation.schema, "s");
    EXPECT_EQ(manifest.models[0].relation.identifier, "a_table");
    ASSERT_EQ(manifest.skipped.size(), 1u);
    EXPECT_EQ(manifest.skipped[0].unique_id, "seed.p.s");
    EXPECT_EQ(manifest.skipped[0].reason, "it is a seed, not a model");
}

TEST(DbtManifest, NodeErrorsNameTheNode) {
    const Error not_object = error_of([] {
        read_text(manifest_with(model_node("a", R"("meta": {"reverse_etl": "id"})")));
    });
    EXPECT_EQ(not_object.sqlstate(), "22023");
    EXPECT_EQ(not_object.message(), "dbt node \"model.p.a\": meta.reverse_etl must be an object, not a string");
    const Error bad_key = error_of([] {
        read_text(manifest_with(model_node("a", R"("meta": {"reverse_etl": {"primary_key": ["id"]}})")));
    });
    EXPECT_EQ(bad_key.message(), "dbt node \"model.p.a\": meta.reverse_etl.primary_key must be a column name (a string), not an array");
    const Error no_key = error_of([] {
        read_text(manifest_with(model_node("a", R"("meta": {"reverse_etl": {"name": "x"}})")));
    });
    EXPECT_EQ(no_key.message(), "dbt node \"model.p.a\": meta.reverse_etl is set but no primary key was found");
    const Error same_name = error_of([] {
        read_text(manifest_with(model_node("a", R"("config": {"unique_key": "id"}, "meta": {"reverse_etl": {"name": "b"}})") +
                                ", " + model_node("b", R"("config": {"unique_key": "id"})")));
    });
    EXPECT_EQ(same_name.sqlstate(), "42710");
    EXPECT_EQ(same_name.message(), "dbt nodes \"model.p.a\" and \"model.p.b\" would both be imported as model \"b\"");
}

TEST(DbtManifest, PackageOfUniqueId) {
    EXPECT_EQ(dbt_package_of("model.jaffle_shop.customers"), "jaffle_shop");
    EXPECT_EQ(dbt_package_of("model.jaffle_shop.dim_products.v2"), "jaffle_shop");
    EXPECT_EQ(dbt_package_of("nodots"), "");
}

// notify_dbt_run reads stored schedules as the schedule parser does.
TEST(DbtManifest, DbtScheduleAsTheParserReadsIt) {
    EXPECT_TRUE(is_dbt_schedule("dbt"));
    EXPECT_TRUE(is_dbt_schedule(" DBT\t"));
    EXPECT_FALSE(is_dbt_schedule("manual"));
    EXPECT_FALSE(is_dbt_schedule("dbt 09:00"));
}

}  // namespace
}  // namespace reverse_etl::catalog
