#include "catalog/response_definition.hpp"

#include <algorithm>
#include <utility>

#include "catalog/job_definition.hpp"

namespace reverse_etl::catalog::definition {

namespace {

JsonPath path_of(const Node &node, const std::string &text) { return read_dotted_path(node, text, kKeyFieldStep); }

JsonPath read_path(const Node &node) { return path_of(node, read_string(node)); }

long read_status(const Node &node) {
    const long long status = read_integer(node);
    node.expect(status >= 200 && status <= 599, "must be an HTTP status from 200 to 599");
    return static_cast<long>(status);
}

std::vector<long> read_statuses(const Node &node) {
    require_array(node);
    std::vector<long> statuses;
    for (size_t i = 0; i < json_array_size(node.value()); ++i)
        statuses.push_back(read_status(node.element(i)));
    node.expect(!statuses.empty(), "must not be empty");
    return statuses;
}

RecordOutcomeKind read_kind(const Node &node) {
    const std::string kind = read_string(node);
    if (kind == "errors_by_index")
        return RecordOutcomeKind::ErrorsByIndex;
    if (kind == "results_in_order")
        return RecordOutcomeKind::ResultsInOrder;
    if (kind == "index_lists")
        return RecordOutcomeKind::IndexLists;
    if (kind == "keyed_results")
        return RecordOutcomeKind::KeyedResults;
    if (kind == "key_lists")
        return RecordOutcomeKind::KeyLists;
    if (kind == "single")
        return RecordOutcomeKind::Single;
    node.fail("\"" + kind +
              "\" is not a kind of record outcomes (errors_by_index, results_in_order, index_lists, keyed_results, "
              "key_lists, single)");
}

// key_lists: {"failedUpdates.invalidEmails": "{{fields.email}}", ...}: each
// list's path, and the record key its entries are. Keys written alike are
// computed once per record.
void read_key_lists(const Node &node, const DestinationType &type, RecordOutcomeSpec &spec) {
    require_present(node).expect(json_is_object(node.value()) && json_object_size(node.value()) > 0,
                                 "must be a non-empty object of list paths to record keys");
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), name, value) {
        const Node item = node.member(name);
        KeyList list;
        list.path = path_of(item, name);
        item.expect(!list.path.empty(), "must name a list inside the answer");
        const RequestTemplate key = read_template(item, type, kRecordId | kFields);
        size_t index = 0;
        while (index < spec.list_keys.size() && spec.list_keys[index].source != key.source)
            ++index;
        if (index == spec.list_keys.size())
            spec.list_keys.push_back(key);
        list.key = index;
        spec.key_lists.push_back(std::move(list));
    }
}

RecordOutcomeSpec read_records(const Node &node, const DestinationType &type) {
    RecordOutcomeSpec spec;
    if (!node.present())
        return spec;
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"kind", "status", "list", "index", "message", "success", "object_id", "objects", "others",
                            "record_key", "key", "errors", "error_keys", "lists"});
    spec.kind = read_kind(node.member("kind"));
    spec.statuses = read_statuses(node.member("status"));
    const auto only_for = [&](const char *key, bool allowed) {
        node.member(key).expect(allowed || !node.member(key).present(), "does not apply to this kind");
    };
    const bool indexed = spec.kind == RecordOutcomeKind::ErrorsByIndex;
    const bool ordered = spec.kind == RecordOutcomeKind::ResultsInOrder;
    const bool keyed = spec.kind == RecordOutcomeKind::KeyedResults;
    only_for("list", indexed || ordered || keyed);
    only_for("index", indexed);
    only_for("success", ordered);
    const bool single = spec.kind == RecordOutcomeKind::Single;
    only_for("object_id", ordered || keyed || single);
    only_for("objects", spec.kind == RecordOutcomeKind::IndexLists);
    only_for("message", indexed || ordered || keyed);
    for (const char *member : {"record_key", "key", "errors", "error_keys"})
        only_for(member, keyed);
    only_for("lists", spec.kind == RecordOutcomeKind::KeyLists);
    if (spec.kind == RecordOutcomeKind::KeyLists)
        read_key_lists(node.member("lists"), type, spec);
    if (indexed || ordered || keyed)
        spec.list = read_path(node.member("list"));
    if (keyed) {
        // Both left out: the action's key field (a lookup's only; read_request checks).
        const bool by_key_field = !node.member("record_key").present() && !node.member("key").present();
        spec.keyed_by_key_field = by_key_field;
        if (!by_key_field) {
            spec.record_key = read_template(node.member("record_key"), type, kRecordId | kFields);
            spec.key = read_path(node.member("key"));
        }
        if (node.member("object_id").present())
            spec.object_id = read_path(node.member("object_id"));
        if (node.member("errors").present()) {
            spec.errors = read_path(node.member("errors"));
            spec.error_keys = read_path(node.member("error_keys"));
        }
    }
    if (indexed)
        spec.index = read_path(node.member("index"));
    if (ordered) {
        spec.success = read_path(node.member("success"));
        if (node.member("object_id").present())
            spec.object_id = read_path(node.member("object_id"));
    }
    if (spec.kind == RecordOutcomeKind::IndexLists)
        spec.objects = read_name_list(node.member("objects"));
    if (single) {
        // Read only from an answer that is the result: a failure status has
        // its own rules, and a success without an id gives nothing to read.
        node.member("object_id").expect(node.member("object_id").present(), "is required for kind \"single\"");
        spec.object_id = read_path(node.member("object_id"));
        for (const long status : spec.statuses)
            node.member("status").expect(status >= 200 && status < 300, "must list success statuses for kind \"single\"");
    }
    const Node message = node.member("message");
    if (message.present()) {
        require_array(message);
        for (size_t i = 0; i < json_array_size(message.value()); ++i)
            spec.message.push_back(read_path(message.element(i)));
    }
    const Node others = node.member("others");
    if (others.present()) {
        const std::string fate = read_string(others);
        others.expect(fate == "delivered" || fate == "retry", "must be \"delivered\" or \"retry\"");
        spec.others_retry = fate == "retry";
    }
    return spec;
}

std::vector<FatalAnswer> read_fatal(const Node &node) {
    if (!node.present())
        return {};
    require_array(node);
    std::vector<FatalAnswer> answers;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        item.expect(json_is_object(item.value()), "must be an object");
        expect_only_keys(item, {"status", "path", "prefix"});
        FatalAnswer answer;
        answer.status = read_status(item.member("status"));
        answer.path = read_path(item.member("path"));
        answer.prefix = read_text(item.member("prefix"));
        answers.push_back(std::move(answer));
    }
    return answers;
}

}  // namespace

ResponseSpec read_response(const Node &node, const DestinationType &type) {
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"records", "success_bodies", "fatal", "exhausted", "retry", "job"});
    ResponseSpec spec;
    spec.records = read_records(node.member("records"), type);
    const Node bodies = node.member("success_bodies");
    if (bodies.present())
        spec.success_bodies = read_name_list(bodies);
    spec.fatal = read_fatal(node.member("fatal"));
    spec.exhausted = read_fatal(node.member("exhausted"));
    spec.retry = read_fatal(node.member("retry"));
    if (node.member("job").present())
        spec.job = read_job(node.member("job"), type);
    // An answer either starts a job or names the records itself.
    for (const long status : spec.job ? spec.job->statuses : std::vector<long>())
        node.member("job").expect(std::find(spec.records.statuses.begin(), spec.records.statuses.end(), status) ==
                                      spec.records.statuses.end(),
                                  "lists status " + std::to_string(status) + ", which records reads");
    // A success is never retried nor the end of a run.
    for (const char *member : {"exhausted", "retry"})
        for (const FatalAnswer &answer : member[0] == 'e' ? spec.exhausted : spec.retry)
            node.member(member).expect(answer.status >= 400, "must name failure statuses (400 to 599)");
    return spec;
}

}  // namespace reverse_etl::catalog::definition
