#include "pg/table_loader.hpp"

#include <vector>

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

namespace reverse_etl::pg {

namespace {

constexpr Size kRowMemoryBytes = 64 * 1024;

}  // namespace

struct TableLoader::State {
    Relation relation = nullptr;
    TupleTableSlot *slot = nullptr;
    BulkInsertState bulk = nullptr;
    // A row's datums and whatever their input functions leave behind,
    // reset once the row is stored. Per row, not per chunk: jsonb_in leaves
    // kilobytes a value, which over a chunk of thousands of rows grew the
    // context by tens of MB, all handed back and faulted in again each chunk.
    MemoryContext row_memory = nullptr;
    int width = 0;
    FmgrInfo *input = nullptr;
    Oid *input_param = nullptr;
    int32 *type_modifier = nullptr;
    std::vector<bool> had_null;
};

TableLoader::TableLoader(const std::string &schema, const std::string &table_name)
    : state_(std::make_unique<State>()) {
    State &state = *state_;
    pg_guard([&] {
        RangeVar *range = makeRangeVar(pstrdup(schema.c_str()), pstrdup(table_name.c_str()), -1);
        state.relation = table_openrv(range, RowExclusiveLock);
        const TupleDesc desc = RelationGetDescr(state.relation);
        state.width = desc->natts;
        state.had_null.assign(static_cast<size_t>(state.width), false);
        state.input = static_cast<FmgrInfo *>(palloc0(sizeof(FmgrInfo) * std::max(state.width, 1)));
        state.input_param = static_cast<Oid *>(palloc0(sizeof(Oid) * std::max(state.width, 1)));
        state.type_modifier = static_cast<int32 *>(palloc0(sizeof(int32) * std::max(state.width, 1)));
        for (int i = 0; i < state.width; i++) {
            const Form_pg_attribute attribute = TupleDescAttr(desc, i);
            Oid function;
            getTypeInputInfo(attribute->atttypid, &function, &state.input_param[i]);
            fmgr_info(function, &state.input[i]);
            state.type_modifier[i] = attribute->atttypmod;
        }
        state.slot = table_slot_create(state.relation, nullptr);
        state.bulk = GetBulkInsertState();
        // A first block that most rows fit in: the reset keeps it.
        state.row_memory = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl loaded row", kRowMemoryBytes,
                                                 kRowMemoryBytes, ALLOCSET_DEFAULT_MAXSIZE);
    });
}

TableLoader::~TableLoader() {
    State &state = *state_;
    // Releases the pinned buffer and the slot; the lock stays until the
    // transaction ends, as for any table a statement wrote.
    restore_or_exit("the state of a table load", [&] {
        if (state.bulk != nullptr)
            FreeBulkInsertState(state.bulk);
        if (state.slot != nullptr)
            ExecDropSingleTupleTableSlot(state.slot);
        if (state.relation != nullptr)
            table_close(state.relation, NoLock);
        if (state.row_memory != nullptr)
            MemoryContextDelete(state.row_memory);
    });
}

size_t TableLoader::width() const { return static_cast<size_t>(state_->width); }

bool TableLoader::had_null(size_t column) const { return column < state_->had_null.size() && state_->had_null[column]; }

void TableLoader::append(const TextRows &rows) {
    State &state = *state_;
    pg_guard([&] {
        const CommandId command = GetCurrentCommandId(true);
        const MemoryContext previous = MemoryContextSwitchTo(state.row_memory);
        for (size_t row = 0; row < rows.rows; row++) {
            CHECK_FOR_INTERRUPTS();
            ExecClearTuple(state.slot);
            for (int i = 0; i < state.width; i++) {
                const auto column = static_cast<size_t>(i);
                const char *const text = column < rows.width ? rows.at(row, column) : nullptr;
                // Input functions see NULL too: a domain would check it.
                state.slot->tts_values[i] = InputFunctionCall(&state.input[i], const_cast<char *>(text),
                                                              state.input_param[i], state.type_modifier[i]);
                state.slot->tts_isnull[i] = text == nullptr;
                if (text == nullptr)
                    state.had_null[column] = true;
            }
            ExecStoreVirtualTuple(state.slot);
            table_tuple_insert(state.relation, state.slot, command, 0, state.bulk);
            ExecClearTuple(state.slot);
            MemoryContextReset(state.row_memory);
        }
        MemoryContextSwitchTo(previous);
    });
}

}  // namespace reverse_etl::pg
