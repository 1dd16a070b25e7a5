#include "runtime/embedded.hpp"

#include "actors/messages.hpp"
#include "workers/local_pool.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace ferry::runtime {

void configure_actor_system(caf::actor_system_config& cfg, std::size_t threads) {
  actors::add_message_types(cfg);
  cfg.set("scheduler.max-threads",
          threads > 0 ? threads : std::max<std::size_t>(2, std::thread::hardware_concurrency()));
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
}

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
