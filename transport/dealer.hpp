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

/// A message body received from one gateway, with the link it came on.
struct dealt_message {
  std::size_t link = 0;
  std::string body;
};

/// A link's connection coming up (handshake done) or going down.
struct link_event {
  std::size_t link = 0;
  bool up = false;
};

/// The client side of client protocol v1: one ZeroMQ DEALER socket per gateway
/// endpoint ("link"), all in one poll set with an eventfd that other threads
/// use to wake the one thread that drives it. Links only take messages once
/// their connection is up (ZMQ_IMMEDIATE), so a gateway that is down never
/// swallows a request; ZeroMQ reconnects in the background. Owns its own
/// ZeroMQ context. Only wake() is thread-safe; everything else belongs to the
/// driving thread.
class dealer {
public:
  dealer();
  ~dealer();

  dealer(const dealer&) = delete;
  dealer& operator=(const dealer&) = delete;

  /// Adds a link to `endpoint` (tcp://HOST:PORT, ipc://PATH). Connecting is
  /// asynchronous; this fails (nullopt, `*err` set) only for an endpoint
  /// ZeroMQ cannot parse. Returns the new link's index.
  [[nodiscard]] std::optional<std::size_t> connect(const std::string& endpoint,
                                                   std::string* err);

  [[nodiscard]] std::size_t size() const noexcept { return links_.size(); }

  [[nodiscard]] const std::string& endpoint(std::size_t link) const {
    return links_.at(link).endpoint;
  }

  /// Blocks until a message or link event may be ready, a link whose last
  /// send would have blocked may take one now, wake() was called, or
  /// `timeout` passed (negative: no timeout). Clears the wake-up.
  void wait(std::chrono::milliseconds timeout);

  /// Receives one message without blocking, taking the links in turn.
  [[nodiscard]] std::optional<dealt_message> try_receive();

  /// Reads one connection event without blocking.
  [[nodiscard]] std::optional<link_event> try_link_event();

  /// Queues `body` on `link` without blocking; false when that link is not
  /// connected or its queue is full (wait() then watches it for room).
  [[nodiscard]] bool try_send(std::size_t link, const std::string& body);

  /// Queues `body` on the next link that takes it, round robin; returns that
  /// link, or nullopt when none does right now.
  [[nodiscard]] std::optional<std::size_t> try_send_any(const std::string& body);

  /// Makes wait() return. Safe from any thread.
  void wake() noexcept;

private:
  struct link {
    std::string endpoint;
    std::unique_ptr<zmq::socket_t> socket;
    std::unique_ptr<zmq::socket_t> monitor; ///< PAIR reading socket events
    bool blocked = false; ///< the last send would have blocked
  };

  std::unique_ptr<zmq::context_t> ctx_;
  std::vector<link> links_;
  std::size_t next_send_ = 0;
  std::size_t next_receive_ = 0;
  std::size_t next_event_ = 0;
  std::size_t monitors_ = 0; ///< names each link's monitor endpoint
  int wake_fd_ = -1;
};

} // namespace ferry::transport
