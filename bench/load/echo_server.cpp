// ferry_echo_server: the baseline of the end-to-end benchmarks. A bare ZeroMQ
// ROUTER that sends every message straight back, frames unchanged (routing id
// first), from one thread: what a gateway costs with no decoding, no actors
// and no batching. Same context settings as the gateway (one I/O thread).
//
//   ferry_echo_server --listen tcp://127.0.0.1:*
//
// Prints "echo: listening on EP" and "echo: ready" on stdout; runs until
// SIGINT or SIGTERM, then prints how many messages it echoed.

#include <zmq.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_stop(int) { stop_requested = 1; }

} // namespace

int main(int argc, char** argv) {
  std::string endpoint = "tcp://127.0.0.1:*";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      endpoint = argv[++i];
    } else {
      std::fprintf(stderr, "usage: ferry_echo_server [--listen ENDPOINT]\n");
      return 2;
    }
  }
  // No SA_RESTART: a signal interrupts the blocking receive with EINTR.
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::router};
  sock.set(zmq::sockopt::linger, 0);
  sock.set(zmq::sockopt::sndhwm, 100000);
  sock.set(zmq::sockopt::rcvhwm, 100000);
  try {
    sock.bind(endpoint);
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "ferry_echo_server: cannot bind %s: %s\n", endpoint.c_str(), e.what());
    return 1;
  }
  std::printf("echo: listening on %s\necho: ready\n",
              sock.get(zmq::sockopt::last_endpoint).c_str());
  std::fflush(stdout);

  unsigned long long echoed = 0;
  while (!stop_requested) {
    try {
      zmq::message_t frame;
      if (!sock.recv(frame, zmq::recv_flags::none))
        continue;
      // Parts of a multipart message arrive together; each goes back as is.
      while (frame.more()) {
        zmq::message_t next;
        (void) sock.recv(next, zmq::recv_flags::none);
        sock.send(frame, zmq::send_flags::sndmore);
        frame = std::move(next);
      }
      sock.send(frame, zmq::send_flags::none);
      ++echoed;
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        std::fprintf(stderr, "ferry_echo_server: %s\n", e.what());
        return 1;
      }
    }
  }
  std::printf("echo: stopping after %llu message(s)\n", echoed);
  return 0;
}
