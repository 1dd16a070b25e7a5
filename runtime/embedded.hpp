#pragma once

#include "actors/batcher.hpp"
#include "workers/function_registry.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace ferry::runtime {

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
