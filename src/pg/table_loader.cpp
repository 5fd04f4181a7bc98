#include "pg/table_loader.hpp"

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

struct TableLoader::State {
    Relation relation = nullptr;
    TupleTableSlot *slot = nullptr;
    BulkInsertState bulk = nullptr;
    // Each chunk's datums, reset after it is stored.
    MemoryContext chunk_memory = nullptr;
    int width = 0;
    FmgrInfo *input = nullptr;
    Oid *input_param = nullptr;
    int32 *type_modifier = nullptr;
};

TableLoader::TableLoader(const std::string &table_name) : state_(std::make_unique<State>()) {
    State &state = *state_;
    pg_guard([&] {
        RangeVar *range = makeRangeVar(pstrdup("pg_temp"), pstrdup(table_name.c_str()), -1);
        state.relation = table_openrv(range, RowExclusiveLock);
        const TupleDesc desc = RelationGetDescr(state.relation);
        state.width = desc->natts;
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
        state.chunk_memory = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl loaded rows",
                                                   ALLOCSET_DEFAULT_SIZES);
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
        if (state.chunk_memory != nullptr)
            MemoryContextDelete(state.chunk_memory);
    });
}

size_t TableLoader::width() const { return static_cast<size_t>(state_->width); }

void TableLoader::append(const std::vector<Row> &rows) {
    State &state = *state_;
    pg_guard([&] {
        const CommandId command = GetCurrentCommandId(true);
        const MemoryContext previous = MemoryContextSwitchTo(state.chunk_memory);
        for (const Row &row : rows) {
            CHECK_FOR_INTERRUPTS();
            ExecClearTuple(state.slot);
            for (int i = 0; i < state.width; i++) {
                const bool is_null = static_cast<size_t>(i) >= row.size() || !row[i].has_value();
                // Input functions see NULL too: a domain would check it.
                state.slot->tts_values[i] =
                    InputFunctionCall(&state.input[i], is_null ? nullptr : const_cast<char *>(row[i]->c_str()),
                                      state.input_param[i], state.type_modifier[i]);
                state.slot->tts_isnull[i] = is_null;
            }
            ExecStoreVirtualTuple(state.slot);
            table_tuple_insert(state.relation, state.slot, command, 0, state.bulk);
        }
        ExecClearTuple(state.slot);
        MemoryContextSwitchTo(previous);
        MemoryContextReset(state.chunk_memory);
    });
}

}  // namespace reverse_etl::pg
