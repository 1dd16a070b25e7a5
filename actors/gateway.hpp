#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ferry::actors {

struct gateway_config {
  /// Endpoints to bind (tcp://HOST:PORT, tcp://HOST:* for an OS-chosen port,
  /// ipc://PATH).
  std::vector<std::string> endpoints{"tcp://127.0.0.1:5555"};
  /// Messages above this size get `too_large` without being decoded.
  std::size_t max_message_size = 4 * 1024 * 1024;
  /// Reported by `info`.
  std::string version = "ferry 0.1.0";
};

/// Counters of one gateway, readable from any thread.
struct gateway_stats {
  std::uint64_t received = 0;  ///< messages read from the socket
  std::uint64_t rejected = 0;  ///< answered with bad_request or too_large
  std::uint64_t in_flight = 0; ///< calls accepted and not yet answered
};

/// Serves client protocol v1 on a ZeroMQ ROUTER socket. Owns one thread that
/// drives the socket and an actor_companion: the companion's mailbox is drained
/// on that thread (woken by an eventfd, never by a timer), so replies leave as
/// soon as the batcher sends them. Calls go to `batcher` as asynchronous
/// `(call_atom, call_request)` messages. Construction binds every endpoint and
/// throws std::runtime_error when one cannot be bound; destruction stops the
/// thread (calls still in flight are not answered: drain first, and abandon
/// what the drain could not finish).
class gateway {
public:
  gateway(caf::actor_system& sys, caf::actor batcher, gateway_config cfg);
  ~gateway();

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// The endpoints as bound (an OS-chosen port resolved).
  [[nodiscard]] const std::vector<std::string>& endpoints() const noexcept;

  /// Stops accepting calls: new ones get `unavailable`; accepted ones finish.
  void drain();

  /// After drain(): waits until every accepted call has been answered, up to
  /// `timeout`. True when none is left.
  [[nodiscard]] bool wait_drained(std::chrono::milliseconds timeout);

  /// Gives up on the calls still open (e.g. when a drain timed out): each
  /// gets `unavailable` with `reason`, so no accepted call goes unanswered.
  /// Waits up to `timeout` for the replies to be handed to the socket.
  bool abandon_open_calls(const std::string& reason, std::chrono::milliseconds timeout);

  [[nodiscard]] gateway_stats stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ferry::actors
