#include "engine/request_pacing.hpp"

#include "pg/shared_rate_limits.hpp"

namespace reverse_etl::engine {
namespace {

class DestinationPacer final : public http::RequestPacer {
  public:
    DestinationPacer(pg::RateLimitKey key, http::RateLimit limit) : key_(key), limit_(limit), local_(limit) {}

    std::optional<Clock::time_point> admit(Clock::time_point now) override {
        if (shared_) {
            if (const auto admission = pg::shared_rate_limit_admit(key_, http::steady_ns(now), limit_))
                return admission->allowed ? std::nullopt : std::optional(http::steady_time(admission->retry_at_ns));
            // Sticky: switching back and forth between two limiters would
            // let both spend the allowance.
            shared_ = false;
        }
        return local_.admit(now);
    }

    void hold(Clock::time_point until) override {
        if (shared_ && pg::shared_rate_limit_hold(key_, http::steady_ns(Clock::now()), http::steady_ns(until), limit_))
            return;
        shared_ = false;
        local_.hold(until);
    }

  private:
    const pg::RateLimitKey key_;
    const http::RateLimit limit_;
    http::LocalPacer local_;
    bool shared_ = true;
};

}  // namespace

std::shared_ptr<http::RequestPacer> request_pacer(const MappingPlan &plan,
                                                  const destinations::RequestBuilder &requests) {
    // requests == 0: no declared limit, but holds from answers still apply.
    const http::RateLimit limit = requests.rate_limit().value_or(http::RateLimit{0, 1000, 1});
    const pg::RateLimitKey key{plan.destination.id, stable_hash(requests.rate_limit_scope())};
    return std::make_shared<DestinationPacer>(key, limit);
}

}  // namespace reverse_etl::engine
