#pragma once

#include "actors/batcher.hpp"
#include "workers/function_registry.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstddef>
#include <vector>

namespace ferry::runtime {

/// Prepares a CAF configuration for ferry: registers its message types and
/// sets the scheduler as ferry's servers run it: `threads` scheduler threads
/// (0: one per core), and idle threads that block at once instead of polling
/// in 50 us sleeps, which cost each hand-off up to 100 us (docs/benchmarks.md).
/// A program embedding ferry may call it or just actors::add_message_types.
void configure_actor_system(caf::actor_system_config& cfg, std::size_t threads = 0);

/// The batcher and a local worker pool for `registry`'s functions, running
/// inside a caller's own actor_system (which must have been configured with
/// actors::add_message_types). Talk to it by sending `(call_atom,
/// call_request)` requests to batcher(), or through a local_client.
/// Destruction stops its actors; calls still open end with `unavailable`.
class embedded {
public:
  embedded(caf::actor_system& sys, const workers::function_registry& registry,
           actors::batcher_config cfg = {});
  ~embedded();

  embedded(const embedded&) = delete;
  embedded& operator=(const embedded&) = delete;

  [[nodiscard]] const caf::actor& batcher() const noexcept { return batcher_; }
  [[nodiscard]] caf::actor_system& system() const noexcept { return sys_; }

private:
  caf::actor_system& sys_;
  caf::actor batcher_;
  std::vector<caf::actor> workers_;
};

} // namespace ferry::runtime
