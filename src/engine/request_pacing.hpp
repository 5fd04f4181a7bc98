// Which pacer a delivery pass sends through (SPEC section 3: rate limits
// declared per action and honoured per destination across concurrent runs).
#pragma once

#include <memory>

#include "destinations/request_builder.hpp"
#include "engine/mapping_plan.hpp"
#include "http/rate_limiter.hpp"

namespace reverse_etl::engine {

// The pacer of the plan's destination for the requests `requests` builds:
// its declared rate limit (none: only the holds answers announce), kept in
// the shared slot of (destination, scope) so that concurrent runs together
// stay within it. Without the shared table (library not preloaded) or with
// every slot taken, the pass paces within itself alone from then on.
std::shared_ptr<http::RequestPacer> request_pacer(const MappingPlan &plan,
                                                  const destinations::RequestBuilder &requests);

}  // namespace reverse_etl::engine
