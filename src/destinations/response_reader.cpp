#include "destinations/response_reader.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"
#include "common/json_object_view.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"

namespace reverse_etl::destinations {

namespace {

using catalog::RecordOutcomeKind;
using catalog::RecordOutcomeSpec;

constexpr size_t kMessageChars = 500;

bool listed(const std::vector<long> &statuses, long status) {
    return std::find(statuses.begin(), statuses.end(), status) != statuses.end();
}

std::string value_text(const JsonValue &value) {
    return value.kind() == JsonKind::String ? value.string_value() : to_json_text(value);
}

// The values at the message paths, joined by ": " (e.g. the field, then the text).
std::string message_of(const JsonValue &item, const std::vector<catalog::JsonPath> &paths) {
    std::string message;
    for (const catalog::JsonPath &path : paths) {
        const JsonValue *found = find_path(item, path);
        if (found == nullptr || found->is_null())
            continue;
        message += (message.empty() ? "" : ": ") + value_text(*found);
    }
    if (message.empty())
        message = to_json_text(item);
    return message.size() > kMessageChars ? message.substr(0, kMessageChars) + "..." : message;
}

std::optional<size_t> index_of(const JsonValue *value, size_t records) {
    if (value == nullptr || value->kind() != JsonKind::Number)
        return std::nullopt;
    const std::string &text = value->number_text();
    if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const size_t index = static_cast<size_t>(std::stoul(text));
    return index < records ? std::optional<size_t>(index) : std::nullopt;
}

AnswerReading body_failed(std::string message) {
    AnswerReading reading;
    reading.verdict = AnswerReading::Verdict::BodyFailed;
    reading.message = std::move(message);
    return reading;
}

AnswerReading per_record(size_t records, bool others_retry) {
    AnswerReading reading;
    reading.verdict = AnswerReading::Verdict::PerRecord;
    reading.outcomes.assign(records, RecordOutcome{others_retry ? RecordFate::Retry : RecordFate::Delivered, {}});
    return reading;
}

void reject(RecordOutcome &outcome, const std::string &message) {
    if (outcome.fate == RecordFate::Rejected) {
        outcome.message += "; " + message;
        return;
    }
    outcome.fate = RecordFate::Rejected;
    outcome.message = message;
}

std::optional<AnswerReading> errors_by_index(const RecordOutcomeSpec &spec, const JsonValue &root, size_t records) {
    const JsonValue *list = find_path(root, spec.list);
    if (list == nullptr || list->kind() != JsonKind::Array)
        return std::nullopt;
    AnswerReading reading = per_record(records, spec.others_retry);
    for (const JsonValue &error : list->elements()) {
        const std::optional<size_t> index = index_of(find_path(error, spec.index), records);
        if (!index)
            return body_failed("the destination reported an error that names no record of the request: " +
                               message_of(error, spec.message));
        reject(reading.outcomes[*index], message_of(error, spec.message));
    }
    return reading;
}

// The value at `path` in one result's checked text: the member found in the
// answer's one pass (`member`, for a key of an object: the usual path), else
// by a walk of its text.
std::optional<std::string_view> result_value(std::string_view result, const std::optional<std::string_view> &member,
                                             const catalog::JsonPath &path) {
    if (path.size() == 1 && !result.empty() && result.front() == '{')
        return member;
    return find_path_in_text(result, path).value;
}

// One pass over the whole answer's text (an answer is untrusted) checks it
// and finds each result and the members read of it: building a tree of a
// 200-record answer cost more than everything else done with it, and then
// checking, splitting and scanning each result in passes of their own.
AnswerReading results_in_order(const RecordOutcomeSpec &spec, std::string_view body, size_t records) {
    // The members read of an object result: success, then object_id when
    // the answer has one (only paths of one key are read in the pass).
    std::vector<std::string_view> keys{spec.success.size() == 1 ? spec.success.front() : std::string_view()};
    const bool wants_id = !spec.object_id.empty();
    if (wants_id)
        keys.push_back(spec.object_id.size() == 1 ? spec.object_id.front() : std::string_view());
    // Without its list, the answer says nothing of any record: counting
    // them delivered on the status alone could drop every one of them.
    const JsonArrayMatch list = find_array_in_text(body, spec.list, keys);
    if (!list.found)
        return body_failed("the destination answered without its list of per-record results");
    const std::vector<std::string_view> &results = list.elements;
    if (results.size() != records)
        return body_failed("the destination answered " + std::to_string(results.size()) +
                           " results for a request of " + std::to_string(records) + " records");
    AnswerReading reading = per_record(records, false);
    for (size_t i = 0; i < records; ++i) {
        const std::string_view result = results[i];
        const std::optional<std::string_view> *members = &list.members[i * keys.size()];
        if (result_value(result, members[0], spec.success) != std::optional<std::string_view>("true")) {
            reject(reading.outcomes[i], message_of(parse_json_text(result), spec.message));
            continue;
        }
        if (!wants_id)
            continue;
        const std::optional<std::string_view> id = result_value(result, members[1], spec.object_id);
        if (id && json_kind_of(*id) == JsonKind::String)
            reading.outcomes[i].object_id = json_string_content(*id).value_or(std::string());
        else if (id && json_kind_of(*id) == JsonKind::Number)
            reading.outcomes[i].object_id = std::string(*id);
    }
    return reading;
}

std::optional<AnswerReading> index_lists(const RecordOutcomeSpec &spec, const JsonValue &root, size_t records) {
    AnswerReading reading = per_record(records, spec.others_retry);
    bool named_any = false;
    for (const std::string &object : spec.objects) {
        const JsonValue *fields = root.member(object);
        if (fields == nullptr || fields->kind() != JsonKind::Object)
            continue;
        for (const JsonMember &field : fields->members()) {
            if (field.value.kind() != JsonKind::Array)
                return body_failed("the destination's " + quoted(object) + " is not a list of record indexes");
            for (const JsonValue &element : field.value.elements()) {
                const std::optional<size_t> index = index_of(&element, records);
                if (!index)
                    return body_failed("the destination's " + quoted(object) + " names record " +
                                       value_text(element) + ", which the request did not carry");
                reject(reading.outcomes[*index], object + ": " + field.key);
                named_any = true;
            }
        }
    }
    if (!named_any)
        return std::nullopt;
    return reading;
}

std::string lower_ascii(std::string text) {
    for (char &c : text)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return text;
}

// A result's or an error's key: a string, or a number's text.
std::optional<std::string> key_text(const JsonValue *value) {
    if (value == nullptr || (value->kind() != JsonKind::String && value->kind() != JsonKind::Number))
        return std::nullopt;
    return lower_ascii(value_text(*value));
}

// A key in a result's or an error's checked text (see key_text).
std::optional<std::string> key_text(const std::optional<std::string_view> &value) {
    if (!value)
        return std::nullopt;
    switch (json_kind_of(*value)) {
    case JsonKind::String: return lower_ascii(json_string_content(*value).value_or(std::string()));
    case JsonKind::Number: return lower_ascii(std::string(*value));
    default: return std::nullopt;
    }
}

// Read from the answer's text, like results_in_order, not from a tree: a
// Mailchimp answer echoes every member it created, and a tree of it cost a
// quarter of a sync's time. The list of results and the list of errors are
// each found, with the members read of their elements, in a pass that
// checks the whole text; a path of more than one step (HubSpot's
// properties.email) is walked in the element's own text.
std::optional<AnswerReading> keyed_results(const RecordOutcomeSpec &spec, std::string_view body,
                                           const std::vector<std::string> &keys) {
    const auto single_key = [](const catalog::JsonPath &path) {
        return path.size() == 1 ? std::string_view(path.front()) : std::string_view();
    };
    const JsonArrayMatch list = find_array_in_text(body, spec.list, {single_key(spec.key), single_key(spec.object_id)});
    if (!list.found)
        return std::nullopt;
    std::unordered_map<std::string, size_t> index_of_key;
    for (size_t i = 0; i < keys.size(); ++i)
        if (!index_of_key.emplace(lower_ascii(keys[i]), i).second)
            return body_failed("two records of the request have the key " + quoted(keys[i]) +
                               ": the answer cannot tell them apart");
    const auto record_of = [&](const std::optional<std::string_view> &value) -> std::optional<size_t> {
        const std::optional<std::string> key = key_text(value);
        if (!key)
            return std::nullopt;
        const auto found = index_of_key.find(*key);
        return found == index_of_key.end() ? std::nullopt : std::optional<size_t>(found->second);
    };
    AnswerReading reading = per_record(keys.size(), spec.others_retry);
    for (size_t i = 0; i < list.elements.size(); ++i) {
        const std::string_view result = list.elements[i];
        const std::optional<size_t> index = record_of(result_value(result, list.members[i * 2], spec.key));
        if (!index)
            return body_failed("the destination answered a result that names no record of the request: " +
                               message_of(parse_json_text(result), {spec.key}));
        RecordOutcome &outcome = reading.outcomes[*index];
        outcome.fate = RecordFate::Delivered;
        if (spec.object_id.empty())
            continue;
        const std::optional<std::string_view> id = result_value(result, list.members[i * 2 + 1], spec.object_id);
        if (id && json_kind_of(*id) == JsonKind::String)
            outcome.object_id = json_string_content(*id).value_or(std::string());
        else if (id && json_kind_of(*id) == JsonKind::Number)
            outcome.object_id = std::string(*id);
    }
    if (spec.errors.empty())
        return reading;
    const JsonArrayMatch errors = find_array_in_text(body, spec.errors, {single_key(spec.error_keys)});
    for (size_t e = 0; e < errors.elements.size(); ++e) {
        const std::string_view error = errors.elements[e];
        const std::optional<std::string_view> named = result_value(error, errors.members[e], spec.error_keys);
        const JsonKind named_kind = named ? json_kind_of(*named) : JsonKind::Null;
        // A list of keys (HubSpot's context.ids), or one key (Mailchimp's email_address).
        std::vector<std::optional<std::string_view>> named_keys;
        if (named_kind == JsonKind::String || named_kind == JsonKind::Number)
            named_keys.emplace_back(named);
        else if (named_kind == JsonKind::Array)
            for (const std::string_view key : find_array_in_text(*named, {}, {}).elements)
                named_keys.emplace_back(key);
        // Errors are few, and each is read whole once for its message.
        const std::string message = message_of(parse_json_text(error), spec.message);
        if (named_keys.empty())
            return body_failed("the destination reported an error that names no record of the request: " + message);
        for (const std::optional<std::string_view> &key : named_keys) {
            const std::optional<size_t> index = record_of(key);
            if (!index)
                return body_failed("the destination reported an error for " + value_text(parse_json_text(*key)) +
                                   ", which the request did not carry: " + message);
            reject(reading.outcomes[*index], message);
        }
    }
    return reading;
}

// Lists of the keys of failed records (Iterable's failedUpdates): every
// record a listed key names is rejected, with the list's name (its last
// step) as the reason; a key names every record of the request that has it
// (two events of one invalid email both failed). A record's empty key is no
// key. A list that is not an array, or a key no record has, is pinned on no
// one. `keys`: list_keys.size() rows of `records` keys, row by row.
std::optional<AnswerReading> key_lists(const RecordOutcomeSpec &spec, const JsonValue &root, size_t records,
                                       const std::vector<std::string> &keys) {
    std::vector<std::unordered_multimap<std::string, size_t>> records_of(spec.list_keys.size());
    for (size_t row = 0; row < spec.list_keys.size(); ++row)
        for (size_t i = 0; i < records; ++i)
            if (!keys[row * records + i].empty())
                records_of[row].emplace(lower_ascii(keys[row * records + i]), i);
    AnswerReading reading = per_record(records, spec.others_retry);
    for (const catalog::KeyList &list : spec.key_lists) {
        const JsonValue *found = find_path(root, list.path);
        if (found == nullptr || found->is_null())
            continue;
        const std::string name = list.path.back();
        if (found->kind() != JsonKind::Array)
            return body_failed("the destination's " + quoted(name) + " is not a list of keys");
        for (const JsonValue &entry : found->elements()) {
            const std::optional<std::string> key = key_text(&entry);
            const auto named = key ? records_of[list.key].equal_range(*key)
                                   : std::pair{records_of[list.key].end(), records_of[list.key].end()};
            if (named.first == named.second)
                return body_failed("the destination's " + quoted(name) + " names " + value_text(entry) +
                                   ", which no record of the request has");
            for (auto it = named.first; it != named.second; ++it)
                reject(reading.outcomes[it->second], name);
        }
    }
    return reading;
}

// One record per request, the answer its result (Intercom's contact): the
// record is delivered, with the destination's id when the answer has one.
// A request of several records is a definition the reader cannot serve:
// nullopt, and the status speaks for them all.
std::optional<AnswerReading> single(const RecordOutcomeSpec &spec, const JsonValue &root, size_t records) {
    if (records != 1)
        return std::nullopt;
    AnswerReading reading = per_record(1, false);
    const JsonValue *id = find_path(root, spec.object_id);
    if (id != nullptr && (id->kind() == JsonKind::String || id->kind() == JsonKind::Number))
        reading.outcomes[0].object_id = value_text(*id);
    return reading;
}

// The answer's text at the path: a JSON string there, or, for the empty path
// of an answer that is not JSON, the body itself (Amplitude's /identify
// answers "invalid_api_key" as plain text).
std::optional<std::string> text_at(const catalog::JsonPath &path, const JsonValue *root, std::string_view body) {
    if (root == nullptr)
        return path.empty() ? std::optional<std::string>(trimmed(std::string(body))) : std::nullopt;
    const JsonValue *found = find_path(*root, path);
    if (found == nullptr || found->kind() != JsonKind::String)
        return std::nullopt;
    return found->string_value();
}

bool matches(const std::vector<catalog::FatalAnswer> &answers, long status, const JsonValue *root,
             std::string_view body) {
    return std::any_of(answers.begin(), answers.end(), [&](const catalog::FatalAnswer &fatal) {
        const std::optional<std::string> text = fatal.status == status ? text_at(fatal.path, root, body) : std::nullopt;
        return text && text->compare(0, fatal.prefix.size(), fatal.prefix) == 0;
    });
}

// Whether any of the answers is declared for this status (matches() reads
// the answer only then).
bool declared_for(const std::vector<catalog::FatalAnswer> &answers, long status) {
    return std::any_of(answers.begin(), answers.end(),
                       [status](const catalog::FatalAnswer &answer) { return answer.status == status; });
}

}  // namespace

bool answer_matches(const std::vector<catalog::FatalAnswer> &answers, long status, std::string_view body) {
    if (!declared_for(answers, status))
        return false;
    const std::optional<JsonValue> root = try_parse_json_text(body);
    return matches(answers, status, root ? &*root : nullptr, body);
}

AnswerReading read_answer(const catalog::ResponseSpec &spec, long status, std::string_view body, size_t records,
                          const std::vector<std::string> &keys) {
    const bool reads_records = spec.records.kind != RecordOutcomeKind::None && listed(spec.records.statuses, status);
    const bool in_order = reads_records && spec.records.kind == RecordOutcomeKind::ResultsInOrder;
    // A tree only where one is read: results in order and keyed results are
    // read from the text.
    const bool from_text = in_order || spec.records.kind == RecordOutcomeKind::KeyedResults;
    std::optional<JsonValue> root;
    if ((reads_records && !from_text) || declared_for(spec.exhausted, status) ||
        declared_for(spec.fatal, status) || declared_for(spec.retry, status))
        root = try_parse_json_text(body);
    const JsonValue *parsed = root ? &*root : nullptr;
    for (const auto &[answers, verdict] :
         {std::pair{&spec.exhausted, AnswerReading::Verdict::Exhausted},
          std::pair{&spec.fatal, AnswerReading::Verdict::Fatal}, std::pair{&spec.retry, AnswerReading::Verdict::Busy}}) {
        if (matches(*answers, status, parsed, body)) {
            AnswerReading reading;
            reading.verdict = verdict;
            return reading;
        }
    }
    if (in_order)
        return results_in_order(spec.records, body, records);
    if (reads_records && spec.records.kind == RecordOutcomeKind::KeyedResults) {
        if (keys.size() != records)
            throw Error(sqlstate::kInternalError, "an answer read by keys got " + std::to_string(keys.size()) +
                                                      " keys for " + std::to_string(records) + " records");
        if (std::optional<AnswerReading> reading = keyed_results(spec.records, body, keys))
            return std::move(*reading);
    } else if (reads_records && root) {
        std::optional<AnswerReading> reading;
        switch (spec.records.kind) {
        case RecordOutcomeKind::ErrorsByIndex: reading = errors_by_index(spec.records, *root, records); break;
        case RecordOutcomeKind::ResultsInOrder: break;   // read above, JSON or not
        case RecordOutcomeKind::IndexLists: reading = index_lists(spec.records, *root, records); break;
        case RecordOutcomeKind::KeyedResults: break;     // read above, from the text
        case RecordOutcomeKind::KeyLists:
            if (keys.size() != records * spec.records.list_keys.size())
                throw Error(sqlstate::kInternalError, "an answer read by key lists got " + std::to_string(keys.size()) +
                                                          " keys for " + std::to_string(records) + " records");
            reading = key_lists(spec.records, *root, records, keys);
            break;
        case RecordOutcomeKind::Single: reading = single(spec.records, *root, records); break;
        case RecordOutcomeKind::None: break;
        }
        if (reading)
            return std::move(*reading);
    }
    if (status >= 200 && status < 300 && !spec.success_bodies.empty()) {
        const std::string text = trimmed(std::string(body));
        if (std::find(spec.success_bodies.begin(), spec.success_bodies.end(), text) == spec.success_bodies.end())
            return body_failed("the destination answered " + std::to_string(status) + " with a body that means failure: " +
                               (text.size() > kMessageChars ? text.substr(0, kMessageChars) + "..." : text));
    }
    return AnswerReading{};
}

}  // namespace reverse_etl::destinations
