#pragma once

#include "workers/function_registry.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace ferry::workers {

/// Spawns one worker actor for `fn`, detached on a thread of its own. It
/// answers `(run_atom, std::vector<std::string> args)` with
/// `std::vector<transport::outcome>`, one batch at a time.
[[nodiscard]] caf::actor spawn_worker(caf::actor_system& sys,
                                      std::shared_ptr<const registered_function> fn);

/// Spawns the local worker pool for every function of `registry` and joins it
/// to `batcher`: per function, `concurrency` worker actors, each detached on a
/// thread of its own, so a batch function that blocks for seconds never stalls
/// CAF's scheduler or other functions. A function with concurrency above 1 is
/// called from several threads at once. Returns the workers; the caller owns
/// them and stops them with exit messages.
[[nodiscard]] std::vector<caf::actor>
spawn_local_pool(caf::actor_system& sys, const function_registry& registry,
                 const caf::actor& batcher);

} // namespace ferry::workers
