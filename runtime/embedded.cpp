#include "runtime/embedded.hpp"

#include "workers/local_pool.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace ferry::runtime {

embedded::embedded(caf::actor_system& sys,
                   const workers::function_registry& registry,
                   actors::batcher_config cfg)
  : sys_(sys), batcher_(actors::spawn_batcher(sys, cfg)) {
  workers_ = workers::spawn_local_pool(sys, registry, batcher_);
}

embedded::~embedded() {
  caf::anon_send_exit(batcher_, caf::exit_reason::user_shutdown);
  for (auto& w : workers_)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

} // namespace ferry::runtime
