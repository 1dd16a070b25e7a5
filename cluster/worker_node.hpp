#pragma once

#include "workers/function_registry.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace ferry::cluster {

struct worker_node_config {
  /// The head's cluster endpoint.
  std::string head = "tcp://127.0.0.1:5556";
  /// Shown in the head's logs and `info`; default: HOSTNAME:PID.
  std::string name;
  /// Heartbeat period and silence after which the head counts as lost; the
  /// head's welcome overrides both.
  std::chrono::milliseconds heartbeat_interval{250};
  std::chrono::milliseconds heartbeat_timeout{1500};
  /// Called (on the node's thread) when the head refuses the join outright,
  /// e.g. for a protocol version it does not speak.
  std::function<void(const std::string& reason)> on_refused;
};

/// A worker node: serves `registry`'s functions to a head over the node
/// protocol (docs/protocol.md). Announces each function with its knobs and
/// types, capacity = its concurrency; runs batches on local detached worker
/// actors; heartbeats; when the head goes away (connection closed, or silent
/// past the timeout) keeps trying and joins again when it is back. Owns one
/// socket thread.
class worker_node {
public:
  worker_node(caf::actor_system& sys, const workers::function_registry& registry,
              worker_node_config cfg);
  ~worker_node();

  worker_node(const worker_node&) = delete;
  worker_node& operator=(const worker_node&) = delete;

  /// Leaves gracefully: the head sends no new batches, the running ones
  /// finish and are answered, then the head says bye.
  void leave();

  /// After leave(): waits for the head's bye, up to `timeout`.
  [[nodiscard]] bool wait_left(std::chrono::milliseconds timeout);

  /// True while the head has this node as a member.
  [[nodiscard]] bool joined() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ferry::cluster
