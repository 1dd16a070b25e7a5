#include "transport/router.hpp"

#include <zmq.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace ferry::transport {

router::router(zmq::context_t& ctx)
  : ctx_(ctx), socket_(std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router)) {
  socket_->set(zmq::sockopt::linger, 2000); // flush replies on close
  socket_->set(zmq::sockopt::sndhwm, 100000);
  socket_->set(zmq::sockopt::rcvhwm, 100000);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    throw std::runtime_error("eventfd failed");
}

router::~router() {
  monitor_.reset();
  socket_.reset();
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

std::optional<std::string> router::bind(const std::string& endpoint,
                                        std::string* err) {
  try {
    socket_->bind(endpoint);
    return socket_->get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    if (err)
      *err = "cannot bind " + endpoint + ": " + e.what();
    return std::nullopt;
  }
}

std::optional<std::vector<std::string>>
router::bind_all(const std::vector<std::string>& endpoints, std::string* err) {
  std::vector<std::string> bound;
  for (const auto& ep : endpoints) {
    auto b = bind(ep, err);
    if (!b)
      return std::nullopt;
    bound.push_back(std::move(*b));
  }
  return bound;
}

void router::watch_disconnects() {
  if (monitor_)
    return;
  auto addr = "inproc://ferry-router-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(socket_->handle(), addr.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
    throw std::runtime_error("zmq_socket_monitor failed");
  monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
  monitor_->connect(addr);
}

std::vector<int> router::take_disconnects() {
  std::vector<int> fds;
  if (!monitor_)
    return fds;
  zmq::message_t event;
  zmq::message_t address;
  try {
    while (monitor_->recv(event, zmq::recv_flags::dontwait)) {
      if (event.more())
        (void) monitor_->recv(address, zmq::recv_flags::none);
      if (event.size() < 6)
        continue;
      std::uint16_t id = 0;
      std::uint32_t value = 0;
      std::memcpy(&id, event.data(), sizeof(id));
      std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof(value));
      if (id == ZMQ_EVENT_DISCONNECTED)
        fds.push_back(static_cast<int>(value));
    }
  } catch (const zmq::error_t&) {
    // the context is shutting down
  }
  return fds;
}

void router::wait(std::chrono::milliseconds timeout) {
  zmq_pollitem_t items[] = {
    {socket_->handle(), 0, ZMQ_POLLIN, 0},
    {nullptr, wake_fd_, ZMQ_POLLIN, 0},
    {monitor_ ? monitor_->handle() : nullptr, 0, ZMQ_POLLIN, 0},
  };
  try {
    zmq::poll(items, monitor_ ? 3 : 2, timeout);
  } catch (const zmq::error_t&) {
    return; // EINTR: let the caller look around and wait again
  }
  if (items[1].revents & ZMQ_POLLIN) {
    std::uint64_t n = 0;
    [[maybe_unused]] auto r = ::read(wake_fd_, &n, sizeof(n));
  }
}

std::optional<routed_message> router::try_receive() {
  routed_message out;
  zmq::message_t frame;
  try {
    if (!socket_->recv(frame, zmq::recv_flags::dontwait))
      return std::nullopt;
    while (frame.more()) {
      out.route.emplace_back(frame.data<char>(), frame.size());
      if (!socket_->recv(frame, zmq::recv_flags::none))
        break; // parts of a multipart message arrive together
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
  out.body.assign(frame.data<char>(), frame.size());
  // The routing id frame is made by the ROUTER itself; frames off the wire
  // know the connection they came on.
  out.peer_fd = zmq_msg_get(frame.handle(), ZMQ_SRCFD);
  return out;
}

bool router::send(const envelope& route, const std::string& body) {
  try {
    for (const auto& f : route)
      if (!socket_->send(zmq::buffer(f), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
    return socket_->send(zmq::buffer(body), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

void router::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof(one));
}

} // namespace ferry::transport
