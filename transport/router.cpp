#include "transport/router.hpp"

#include <zmq.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace ferry::transport {

router::router(zmq::context_t& ctx)
  : socket_(std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router)) {
  socket_->set(zmq::sockopt::linger, 2000); // flush replies on close
  socket_->set(zmq::sockopt::sndhwm, 100000);
  socket_->set(zmq::sockopt::rcvhwm, 100000);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    throw std::runtime_error("eventfd failed");
}

router::~router() {
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

void router::wait(std::chrono::milliseconds timeout) {
  zmq_pollitem_t items[] = {
    {socket_->handle(), 0, ZMQ_POLLIN, 0},
    {nullptr, wake_fd_, ZMQ_POLLIN, 0},
  };
  try {
    zmq::poll(items, 2, timeout);
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
