#include "transport/dealer.hpp"

#include <zmq.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace ferry::transport {

dealer::dealer() : ctx_(std::make_unique<zmq::context_t>(1)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    throw std::runtime_error("eventfd failed");
}

dealer::~dealer() {
  for (auto& l : links_) {
    zmq_socket_monitor(l.socket->handle(), nullptr, 0);
    l.monitor.reset();
    l.socket.reset();
  }
  links_.clear();
  ctx_.reset(); // waits for the linger of messages still queued
  ::close(wake_fd_);
}

std::optional<std::size_t> dealer::connect(const std::string& endpoint,
                                           std::string* err) {
  auto index = links_.size();
  link l;
  l.endpoint = endpoint;
  try {
    l.socket = std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::dealer);
    // Queued requests get a moment to leave on close (a last cancel, say);
    // requests for unreachable gateways never queue (immediate).
    l.socket->set(zmq::sockopt::linger, 500);
    l.socket->set(zmq::sockopt::immediate, true);
    l.socket->set(zmq::sockopt::sndhwm, 100000);
    l.socket->set(zmq::sockopt::rcvhwm, 100000);
    auto monitor_ep = "inproc://ferry-dealer-monitor-" + std::to_string(monitors_++);
    if (zmq_socket_monitor(l.socket->handle(), monitor_ep.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)
        != 0)
      throw zmq::error_t{};
    l.monitor = std::make_unique<zmq::socket_t>(*ctx_, zmq::socket_type::pair);
    l.monitor->connect(monitor_ep);
    l.socket->connect(endpoint);
  } catch (const zmq::error_t& e) {
    if (err)
      *err = "cannot connect to " + endpoint + ": " + e.what();
    if (l.socket)
      zmq_socket_monitor(l.socket->handle(), nullptr, 0);
    return std::nullopt;
  }
  links_.push_back(std::move(l));
  return index;
}

void dealer::wait(std::chrono::milliseconds timeout) {
  std::vector<zmq_pollitem_t> items;
  items.reserve(2 * links_.size() + 1);
  items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
  for (auto& l : links_) {
    short events = ZMQ_POLLIN;
    if (l.blocked)
      events |= ZMQ_POLLOUT;
    items.push_back({l.socket->handle(), 0, events, 0});
    items.push_back({l.monitor->handle(), 0, ZMQ_POLLIN, 0});
  }
  try {
    zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t&) {
    return; // EINTR: let the caller look around and wait again
  }
  if (items[0].revents & ZMQ_POLLIN) {
    std::uint64_t n = 0;
    [[maybe_unused]] auto r = ::read(wake_fd_, &n, sizeof(n));
  }
  // A link reported writable is tried again by the caller, which marks it
  // blocked anew if it still is; so a link is never watched for room that
  // nobody needs (which would make poll return at once, forever).
  for (std::size_t i = 0; i < links_.size(); ++i)
    if (items[1 + 2 * i].revents & ZMQ_POLLOUT)
      links_[i].blocked = false;
}

std::optional<dealt_message> dealer::try_receive() {
  for (std::size_t n = 0; n < links_.size(); ++n) {
    auto i = (next_receive_ + n) % links_.size();
    auto& sock = *links_[i].socket;
    zmq::message_t frame;
    try {
      if (!sock.recv(frame, zmq::recv_flags::dontwait))
        continue;
      // Frames in front of the body would be envelope we never send; the body
      // is the last frame. Parts of a multipart message arrive together.
      while (frame.more())
        if (!sock.recv(frame, zmq::recv_flags::none))
          break;
    } catch (const zmq::error_t&) {
      continue;
    }
    next_receive_ = (i + 1) % links_.size();
    return dealt_message{i, std::string{frame.data<char>(), frame.size()}};
  }
  return std::nullopt;
}

std::optional<link_event> dealer::try_link_event() {
  for (std::size_t n = 0; n < links_.size(); ++n) {
    auto i = (next_event_ + n) % links_.size();
    auto& mon = *links_[i].monitor;
    for (;;) {
      zmq::message_t frame;
      std::uint16_t event = 0;
      try {
        if (!mon.recv(frame, zmq::recv_flags::dontwait))
          break;
        // Frame 1: 16-bit event and 32-bit value; frame 2: the endpoint.
        if (frame.size() >= sizeof(event))
          std::memcpy(&event, frame.data(), sizeof(event));
        while (frame.more())
          if (!mon.recv(frame, zmq::recv_flags::none))
            break;
      } catch (const zmq::error_t&) {
        break;
      }
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED || event == ZMQ_EVENT_DISCONNECTED) {
        next_event_ = (i + 1) % links_.size();
        return link_event{i, event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED};
      }
    }
  }
  return std::nullopt;
}

bool dealer::try_send(std::size_t link, const std::string& body) {
  auto& l = links_.at(link);
  try {
    if (l.socket->send(zmq::buffer(body), zmq::send_flags::dontwait))
      return true;
  } catch (const zmq::error_t&) {
    return false; // a socket error is not cured by waiting for room
  }
  l.blocked = true;
  return false;
}

std::optional<std::size_t> dealer::try_send_any(const std::string& body) {
  for (std::size_t n = 0; n < links_.size(); ++n) {
    auto i = (next_send_ + n) % links_.size();
    if (try_send(i, body)) {
      next_send_ = (i + 1) % links_.size();
      return i;
    }
  }
  return std::nullopt;
}

void dealer::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof(one));
}

} // namespace ferry::transport
