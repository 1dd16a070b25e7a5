#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmq {
class context_t;
class socket_t;
} // namespace zmq

namespace ferry::transport {

/// The frames in front of a message body: the ROUTER's routing id first, then
/// whatever envelope the client sent (REQ's empty delimiter). Echoed in front
/// of every reply.
using envelope = std::vector<std::string>;

struct routed_message {
  envelope route;
  std::string body;
  int peer_fd = -1; ///< the connection it came on (see take_disconnects())
};

/// A ZeroMQ ROUTER socket bound to one or more endpoints, with an eventfd that
/// other threads use to wake the one thread that drives it. Only wake() is
/// thread-safe; everything else belongs to the driving thread.
class router {
public:
  explicit router(zmq::context_t& ctx);
  ~router();

  router(const router&) = delete;
  router& operator=(const router&) = delete;

  /// Binds an endpoint (tcp://HOST:PORT, tcp://HOST:* for a port the OS
  /// picks, ipc://PATH). Returns the endpoint as bound, or nullopt with `*err`.
  [[nodiscard]] std::optional<std::string> bind(const std::string& endpoint,
                                                std::string* err);

  /// Binds every endpoint; the endpoints as bound, or nullopt with `*err`
  /// naming the first that could not be bound.
  [[nodiscard]] std::optional<std::vector<std::string>>
  bind_all(const std::vector<std::string>& endpoints, std::string* err);

  /// Starts watching connections: take_disconnects() then reports the file
  /// descriptor of every peer connection that closed, so a peer killed with
  /// SIGKILL is noticed at once (match it against routed_message::peer_fd).
  void watch_disconnects();

  /// The peer connections closed since the last call (see watch_disconnects).
  [[nodiscard]] std::vector<int> take_disconnects();

  /// Blocks until a message may be ready, wake() was called, or `timeout`
  /// passed (negative: no timeout). Clears the wake-up.
  void wait(std::chrono::milliseconds timeout);

  /// Receives one message without blocking.
  [[nodiscard]] std::optional<routed_message> try_receive();

  /// Queues a reply without blocking; false when it could not be queued (the
  /// peer is gone or its queue is full): ZeroMQ drops it then.
  bool send(const envelope& route, const std::string& body);

  /// Makes wait() return. Safe from any thread.
  void wake() noexcept;

private:
  zmq::context_t& ctx_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<zmq::socket_t> monitor_;
  int wake_fd_ = -1;
};

} // namespace ferry::transport
