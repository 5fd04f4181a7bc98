// Owners that go away. Our catalog rows name their owner by role OID
// (regrole), which DROP ROLE does not see: a role that owned models,
// destinations, mappings or sources can be dropped (after DROP OWNED has
// revoked the grants on its checkpoints), leaving rows nobody may use and
// whose runs fail. These find such rows and give a role's rows to another.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reverse_etl::catalog {

// A catalog object whose owner no longer exists.
struct OrphanedObject {
    std::string kind;   // "source", "model", "destination", "mapping" or "alert"
    std::string name;
    unsigned int owner = 0;   // the dropped role's OID
};

// Every orphaned object, by owner, kind and name. Reads as the catalog owner.
std::vector<OrphanedObject> orphaned_objects();

// Gives every source, model, destination, mapping and alert `from_role` owns to
// `to_role`, and the grants the runs of its models need (SELECT on their
// mappings' checkpoints) with them; returns how many objects moved. Like
// REASSIGN OWNED, the caller needs the privileges of both roles. 42704 for
// a role that does not exist, 42501 when not allowed.
int64_t reassign_owner(const std::string &from_role, const std::string &to_role);

// The same for the role with OID `from_role`, which may be gone: the OID a
// dropped role's objects show as their owner. Only a superuser may reassign
// a dropped role's objects. A separate entry, not a name that looks like a
// number: a role may be named '16390'.
int64_t reassign_owner(unsigned int from_role, const std::string &to_role);

}  // namespace reverse_etl::catalog
