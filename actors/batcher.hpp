#pragma once

#include "actors/messages.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>

namespace ferry::actors {

struct batcher_config {
  /// Times a request is re-queued after the worker running it was lost, before
  /// it ends with `worker_lost`.
  std::uint32_t retry_budget = 2;
  /// When a function has no worker (all its nodes left): true answers its
  /// calls `unavailable` at once; false lets them wait for a worker up to
  /// their deadline or the queue limit.
  bool unavailable_without_workers = false;
};

/// Spawns the batcher: one queue per function, batches formed by size, delay
/// and deadline, dispatched to workers with a free slot, exactly one terminal
/// `transport::outcome` per accepted call. Its messages are documented in
/// actors/messages.hpp. An event-based actor owned by `sys`; stop it with an
/// exit message, which answers every call still open with `unavailable`.
[[nodiscard]] caf::actor spawn_batcher(caf::actor_system& sys,
                                       batcher_config cfg = {});

} // namespace ferry::actors
