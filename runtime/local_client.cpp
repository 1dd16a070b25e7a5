#include "runtime/local_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <memory>

namespace ferry::runtime {

namespace {

using transport::errc;
using transport::outcome;

/// Carries one call: requests it from the batcher, relays status events and
/// cancel, fulfils the promise with the one terminal outcome, then quits.
caf::behavior call_proxy(caf::event_based_actor* self, caf::actor batcher,
                         actors::call_request req,
                         std::shared_ptr<std::promise<outcome>> result,
                         std::function<void(const actors::status_event&)> on_status) {
  auto key = req.key;
  self->request(batcher, caf::infinite, actors::call_atom::value, std::move(req))
    .then(
      [self, result](actors::call_reply& reply) {
        result->set_value(std::move(reply.result));
        self->quit();
      },
      [self, result](caf::error& err) {
        result->set_value(outcome::failure(
          errc::unavailable, "batcher unreachable: " + to_string(err)));
        self->quit();
      });
  return {
    [on_status](actors::status_atom, const actors::status_event& ev) {
      if (on_status)
        on_status(ev);
    },
    [self, batcher, key](actors::cancel_atom) {
      self->send(batcher, actors::cancel_atom::value, key);
    },
  };
}

} // namespace

void job::cancel() {
  caf::anon_send(proxy_, actors::cancel_atom::value);
}

job local_client::submit_packed(std::string fn, std::string packed_args,
                                call_options opts) const {
  actors::call_request req;
  req.key = 1; // one call per proxy actor: keys cannot collide
  req.fn = std::move(fn);
  req.args = std::move(packed_args);
  if (opts.deadline)
    req.deadline = actors::to_wire(actors::clock::now() + *opts.deadline);
  req.status = static_cast<bool>(opts.on_status);
  auto result = std::make_shared<std::promise<outcome>>();
  auto future = result->get_future();
  auto proxy = sys_->spawn(call_proxy, batcher_, std::move(req), std::move(result),
                           std::move(opts.on_status));
  return job{std::move(future), std::move(proxy)};
}

} // namespace ferry::runtime
