#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ferry::cluster {

struct head_config {
  /// Endpoints worker nodes connect to.
  std::vector<std::string> endpoints{"tcp://127.0.0.1:5556"};
  /// How often the head sends each node a heartbeat (and checks on them).
  std::chrono::milliseconds heartbeat_interval{250};
  /// A node silent for this long is declared lost and its batches re-run
  /// elsewhere. A node whose connection closes is lost at once.
  std::chrono::milliseconds heartbeat_timeout{1500};
  /// Larger node messages are dropped.
  std::size_t max_message_size = 256 * 1024 * 1024;
};

struct head_stats {
  std::uint64_t nodes = 0;   ///< nodes joined now
  std::uint64_t lost = 0;    ///< nodes declared lost so far
  std::uint64_t dropped = 0; ///< malformed, unknown or late messages dropped
};

/// The cluster endpoint of a head node: accepts worker nodes over the node
/// protocol (docs/protocol.md) and joins each function a node serves to the
/// batcher as a worker with the node's announced capacity, so batches formed
/// from every gateway's calls run on whichever node has a free slot. Detects
/// lost nodes (closed connection at once, silence after heartbeat_timeout);
/// their batches go back to the front of their queues. Owns one socket
/// thread; construction binds (std::runtime_error when it cannot).
class head {
public:
  head(caf::actor_system& sys, caf::actor batcher, head_config cfg);
  ~head();

  head(const head&) = delete;
  head& operator=(const head&) = delete;

  [[nodiscard]] const std::vector<std::string>& endpoints() const noexcept;
  [[nodiscard]] head_stats stats() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ferry::cluster
