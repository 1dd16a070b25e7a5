#pragma once

// The messages of ferry's actors: their whole interface. Every type here is
// registered with CAF in one place, add_message_types().

#include "transport/error_code.hpp"
#include "transport/function_spec.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::actors {

using call_atom = caf::atom_constant<caf::atom("call")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;

using clock = std::chrono::steady_clock;

/// Nanoseconds on the steady clock, as carried in messages (0 = no deadline).
inline std::int64_t to_wire(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
    .count();
}
inline clock::time_point from_wire(std::int64_t ns) {
  return clock::time_point{std::chrono::nanoseconds{ns}};
}

/// One call of a function, sent to the batcher as `(call_atom, call_request)`,
/// either as a request or as an asynchronous message. The batcher answers with
/// exactly one `call_reply` (as the response, or as a message to the sender)
/// and, when `status` is set, sends `(status_atom, status_event)` to the sender
/// before it. `key` names the call for cancel (`(cancel_atom, key)` from the
/// same sender); it must be unique among the sender's calls in flight.
struct call_request {
  std::uint64_t key = 0;
  std::string fn;
  std::string args;          ///< packed msgpack array, one element per input
  std::int64_t deadline = 0; ///< absolute, see to_wire(); 0 = none
  bool status = false;
};

/// The one terminal reply to a call_request.
struct call_reply {
  std::uint64_t key = 0;
  transport::outcome result;
};

enum class stage : std::uint8_t { queued, started };

/// Progress of a call that asked for status events.
struct status_event {
  std::uint64_t key = 0;
  stage what = stage::queued;
  std::uint32_t rank = 0;       ///< queued: requests ahead of this one
  std::uint32_t queue_size = 0; ///< queued: requests waiting for the function
  std::int64_t eta_ms = -1;     ///< queued: estimated wait, -1 when unknown
  std::uint32_t batch_size = 0; ///< started: size of the batch it runs in
};

/// A worker offering to run batches of a function, sent to the batcher as
/// `(join_atom, function_spec, caf::actor worker, std::uint32_t slots)`
/// (a local worker) or with a fifth element, `std::string node`, naming the
/// worker node it stands for: the worker runs up to `slots` batches at once.
/// The batcher answers with an empty string on success or the reason it
/// refused (a different signature or knobs than the function already has).
/// `(leave_atom)` from a worker stops dispatch to it; batches it holds finish.
/// A worker that terminates loses its batches: they are re-queued at the
/// front, and a request re-queued more than the retry budget allows ends with
/// `worker_lost`. Batches go to the
/// worker as `(run_atom, std::vector<std::string> args)`, answered with
/// `std::vector<transport::outcome>`, one per request.
///
/// `(info_atom)` asks the batcher for `std::vector<transport::function_info>`:
/// every function it knows with its slots per node right now.

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_request& x) {
  return f(caf::meta::type_name("ferry.call_request"), x.key, x.fn, x.args,
           x.deadline, x.status);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_reply& x) {
  return f(caf::meta::type_name("ferry.call_reply"), x.key, x.result);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_event& x) {
  return f(caf::meta::type_name("ferry.status_event"), x.key, x.what, x.rank,
           x.queue_size, x.eta_ms, x.batch_size);
}

/// Registers every ferry message type with a CAF configuration. Call it before
/// creating the actor_system that runs ferry's actors.
void add_message_types(caf::actor_system_config& cfg);

} // namespace ferry::actors
