#include "workers/local_pool.hpp"

#include "actors/messages.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

namespace ferry::workers {

namespace {

/// Runs batches of one function, one at a time, on its own thread.
caf::behavior worker(caf::event_based_actor*,
                     std::shared_ptr<const registered_function> fn) {
  return {
    [fn](actors::run_atom, const std::vector<std::string>& args) {
      return fn->invoke(args);
    },
  };
}

} // namespace

caf::actor spawn_worker(caf::actor_system& sys,
                        std::shared_ptr<const registered_function> fn) {
  return sys.spawn<caf::detached>(worker, std::move(fn));
}

std::vector<caf::actor> spawn_local_pool(caf::actor_system& sys,
                                         const function_registry& registry,
                                         const caf::actor& batcher) {
  std::vector<caf::actor> workers;
  for (const auto& fn : registry.all()) {
    for (std::uint32_t i = 0; i < fn->spec.knob.concurrency; ++i) {
      auto w = spawn_worker(sys, fn);
      caf::anon_send(batcher, actors::join_atom::value, fn->spec, w,
                     std::uint32_t{1});
      workers.push_back(std::move(w));
    }
  }
  return workers;
}

} // namespace ferry::workers
