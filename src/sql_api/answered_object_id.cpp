// reverse_etl_state.answered_object_id(tid): the destination's id of the
// record in that outbox row, as the answers of the flush being written gave
// it (engine/answered_object_ids.hpp), or NULL. Called by the checkpoint
// write once per delivered row; in any other statement or process it only
// ever returns NULL.
//
// Written as plain C against PostgreSQL: no C++ object lives in these frames
// (the lookup does not throw), so an error raised while copying the id into
// a text value may longjmp through them safely.
#include "pg/postgres_headers.hpp"

extern "C" {
#include "storage/itemptr.h"
#include "utils/builtins.h"
}

#include "engine/answered_object_ids.hpp"

extern "C" {

PG_FUNCTION_INFO_V1(reverse_etl_answered_object_id);

Datum reverse_etl_answered_object_id(PG_FUNCTION_ARGS) {
    const ItemPointer tid = reinterpret_cast<ItemPointer>(PG_GETARG_POINTER(0));   // tid is passed by reference
    const std::string *const id = reverse_etl::engine::answered_object_id(reverse_etl::engine::outbox_tid_key(
        ItemPointerGetBlockNumberNoCheck(tid), ItemPointerGetOffsetNumberNoCheck(tid)));
    if (id == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(cstring_to_text_with_len(id->data(), static_cast<int>(id->size())));
}

}  // extern "C"
