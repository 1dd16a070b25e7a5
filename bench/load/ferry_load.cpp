// ferry_load: an end-to-end load generator for client protocol v1. One DEALER
// socket keeps --in-flight calls outstanding against --endpoint (each reply
// sends the next call on its slot at once), for --seconds or --calls after a
// warm-up, and reports calls/s and the p50/p90/p99 latency of the calls that
// completed in the measured window.
//
//   ferry_load --endpoint tcp://127.0.0.1:5555 --fn noop --in-flight 256 --seconds 3
//   ferry_load --endpoint tcp://127.0.0.1:6000 --echo --in-flight 256 --seconds 3
//
// --echo drives a bare ROUTER echo (bench/load/echo_server.cpp) with exactly
// the same call bodies: the echoed body comes back as the "reply" and is
// decoded with the protocol's own decoder, as a reply is in ferry mode, so
// both servers see the same traffic from the same generator.
//
// Output: a human-readable summary on stderr and one line on stdout,
//   RESULT mode=ferry fn=noop in_flight=256 calls=N seconds=S calls_per_s=X
//          p50_us=.. p90_us=.. p99_us=.. max_us=.. errors=E
// Exit code 0; 1 when any call failed or went unanswered; 2 for bad options.
//
// The socket is a plain cppzmq DEALER rather than transport::dealer: a
// measuring tool should add as little as possible, and the same to both
// servers (no monitor sockets or ZMQ_IMMEDIATE in the poll loop).

#include "transport/codec.hpp"
#include "transport/protocol.hpp"

#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string endpoint;
  std::string fn = "noop";
  std::size_t in_flight = 1;
  double seconds = 3.0;
  std::uint64_t calls = 0; ///< > 0: measure this many completed calls instead
  double warmup_seconds = 0.5;
  double drain_seconds = 10.0;
  std::size_t payload_bytes = 16;
  bool echo = false;
};

void usage(std::FILE* out) {
  std::fputs(
    "usage: ferry_load --endpoint EP [options]\n"
    "  --endpoint EP          gateway (or echo server) to call, e.g. tcp://127.0.0.1:5555\n"
    "  --fn NAME              function to call (default noop)\n"
    "  --in-flight N          calls kept outstanding (default 1)\n"
    "  --seconds S            length of the measured window (default 3)\n"
    "  --calls N              measure N completed calls instead (at most 120 s)\n"
    "  --warmup-seconds S     load before the window, not counted (default 0.5)\n"
    "  --drain-seconds S      after the window, wait this long for replies (default 10)\n"
    "  --payload-bytes N      the call's one argument is a string of N bytes (default 16)\n"
    "  --echo                 the endpoint is a bare echo: the echoed call is the reply\n",
    out);
}

bool parse_number(const char* s, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return *s != '\0' && *end == '\0' && std::isfinite(out) && out >= 0;
}

/// Returns false (after printing why) for bad options.
bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (a == "--echo") {
      o.echo = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ferry_load: %s needs a value (or is unknown)\n", a.c_str());
      return false;
    }
    const char* v = argv[++i];
    double n = 0;
    bool numeric = a != "--endpoint" && a != "--fn";
    if (numeric && !parse_number(v, n)) {
      std::fprintf(stderr, "ferry_load: %s expects a non-negative number, got '%s'\n",
                   a.c_str(), v);
      return false;
    }
    if (a == "--endpoint")
      o.endpoint = v;
    else if (a == "--fn")
      o.fn = v;
    else if (a == "--in-flight")
      o.in_flight = static_cast<std::size_t>(n);
    else if (a == "--seconds")
      o.seconds = n;
    else if (a == "--calls")
      o.calls = static_cast<std::uint64_t>(n);
    else if (a == "--warmup-seconds")
      o.warmup_seconds = n;
    else if (a == "--drain-seconds")
      o.drain_seconds = n;
    else if (a == "--payload-bytes")
      o.payload_bytes = static_cast<std::size_t>(n);
    else {
      std::fprintf(stderr, "ferry_load: unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (o.endpoint.empty()) {
    std::fprintf(stderr, "ferry_load: --endpoint is required\n");
    return false;
  }
  if (o.in_flight == 0 || o.in_flight > 100000) {
    std::fprintf(stderr, "ferry_load: --in-flight must be 1..100000\n");
    return false;
  }
  if (o.calls == 0 && o.seconds <= 0) {
    std::fprintf(stderr, "ferry_load: --seconds must be above 0\n");
    return false;
  }
  return true;
}

/// One outstanding call per slot; the slot index is the call's id, so ids are
/// unique among calls in flight (all the protocol asks).
struct slot {
  std::string body;               ///< the encoded call, sent again and again
  clock_type::time_point sent{};
  bool busy = false;
};

std::int64_t percentile_ns(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

class load {
public:
  explicit load(const options& o) : o_(o), ctx_(1), sock_(ctx_, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.set(zmq::sockopt::sndhwm, 0); // in flight is bounded by --in-flight
    sock_.set(zmq::sockopt::rcvhwm, 0);
    sock_.connect(o.endpoint);
    auto args = ferry::transport::pack_array(std::string(o.payload_bytes, 'x'));
    slots_.resize(o.in_flight);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto id = ferry::transport::pack(static_cast<std::uint64_t>(i));
      slots_[i].body = ferry::transport::encode_call(id, o.fn, args);
      by_id_.emplace(id, i);
    }
    latencies_.reserve(1 << 20);
  }

  int run() {
    auto start = clock_type::now();
    auto warm_end = start + to_duration(o_.warmup_seconds);
    bool measuring = o_.warmup_seconds <= 0;
    clock_type::time_point window_start = measuring ? start : warm_end;
    // With --calls the window is still bounded in time: a server that stops
    // answering ends the run instead of hanging it.
    auto window_length = to_duration(o_.calls > 0 ? max_calls_seconds : o_.seconds);
    auto window_end = window_start + window_length;
    for (std::size_t i = 0; i < slots_.size(); ++i)
      send(i);
    clock_type::time_point last_done = window_start;
    bool sending = true;
    auto drain_end = clock_type::time_point::max(); // set when sending stops
    while (true) {
      auto now = clock_type::now();
      if (!measuring && now >= warm_end) {
        measuring = true;
        window_start = now;
        window_end = window_start + window_length;
      }
      if (sending && measuring
          && (now >= window_end || (o_.calls > 0 && completed_ >= o_.calls))) {
        sending = false;
        if (o_.calls == 0 || now >= window_end)
          last_done = std::min(now, window_end);
        drain_end = now + to_duration(o_.drain_seconds);
      }
      if (!sending && (busy_ == 0 || now >= drain_end))
        break;
      auto next = !measuring ? warm_end : sending ? window_end : drain_end;
      auto wait_ms = std::max(std::chrono::ceil<std::chrono::milliseconds>(next - now),
                              std::chrono::milliseconds{0});
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, wait_ms);
      // Take everything that arrived; each reply refills its slot at once.
      zmq::message_t frame;
      while (sock_.recv(frame, zmq::recv_flags::dontwait)) {
        while (frame.more())
          (void) sock_.recv(frame, zmq::recv_flags::none);
        auto done = clock_type::now();
        auto i = on_reply(std::string_view{frame.data<char>(), frame.size()});
        if (i == no_slot)
          continue;
        // Calls that complete inside the window count, whenever they were sent.
        bool open = sending && done < window_end;
        if (measuring && open) {
          ++completed_;
          latencies_.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(done - slots_[i].sent).count());
          last_done = done;
        }
        if (open && !(o_.calls > 0 && measuring && completed_ >= o_.calls))
          send(i);
      }
    }
    auto window = std::chrono::duration<double>(last_done - window_start).count();
    report(window);
    if (busy_ > 0)
      std::fprintf(stderr, "ferry_load: %zu call(s) unanswered after %.1f s\n", busy_,
                   o_.drain_seconds);
    return errors_ > 0 || busy_ > 0 || completed_ == 0 ? 1 : 0;
  }

private:
  static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);
  static constexpr double max_calls_seconds = 120;

  static clock_type::duration to_duration(double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  }

  void send(std::size_t i) {
    auto& s = slots_[i];
    s.sent = clock_type::now();
    s.busy = true;
    ++busy_;
    sock_.send(zmq::buffer(s.body), zmq::send_flags::none);
  }

  /// Decodes a reply with the protocol's own decoder; returns its slot, or
  /// no_slot for one that is not a result of a call of ours.
  std::size_t on_reply(std::string_view body) {
    std::string id;
    if (o_.echo) {
      auto req = ferry::transport::decode_request(body);
      if (auto r = std::get_if<ferry::transport::client_request>(&req))
        id = std::move(r->id);
    } else {
      auto rep = ferry::transport::decode_reply(body);
      if (rep && rep->type == "result") {
        id = std::move(rep->id);
      } else if (rep && rep->type == "error") {
        if (errors_++ < 5)
          std::fprintf(stderr, "ferry_load: error reply %s: %s\n",
                       std::string{ferry::transport::to_string(rep->code)}.c_str(),
                       rep->message.c_str());
        id = std::move(rep->id);
        auto i = by_id_.find(id);
        if (i != by_id_.end() && slots_[i->second].busy) {
          slots_[i->second].busy = false;
          --busy_;
        }
        return no_slot; // a failed call frees its slot but is not refilled
      } else if (rep && rep->type == "status") {
        return no_slot;
      }
    }
    auto i = by_id_.find(id);
    if (i == by_id_.end() || !slots_[i->second].busy) {
      ++errors_;
      return no_slot;
    }
    slots_[i->second].busy = false;
    --busy_;
    return i->second;
  }

  void report(double window) {
    std::sort(latencies_.begin(), latencies_.end());
    auto us = [&](double q) { return static_cast<double>(percentile_ns(latencies_, q)) / 1e3; };
    double rate = window > 0 ? static_cast<double>(completed_) / window : 0;
    double max_us = latencies_.empty() ? 0 : static_cast<double>(latencies_.back()) / 1e3;
    std::fprintf(stderr,
                 "ferry_load: %s %s, %zu in flight, %zu-byte payload: %llu calls in %.2f s "
                 "= %.0f calls/s; latency p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us; "
                 "%llu error(s)\n",
                 o_.echo ? "echo" : "ferry", o_.endpoint.c_str(), o_.in_flight,
                 o_.payload_bytes, static_cast<unsigned long long>(completed_), window, rate,
                 us(0.5), us(0.9), us(0.99), max_us, static_cast<unsigned long long>(errors_));
    std::printf("RESULT mode=%s fn=%s in_flight=%zu payload_bytes=%zu calls=%llu seconds=%.3f "
                "calls_per_s=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f errors=%llu\n",
                o_.echo ? "echo" : "ferry", o_.fn.c_str(), o_.in_flight, o_.payload_bytes,
                static_cast<unsigned long long>(completed_), window, rate, us(0.5), us(0.9),
                us(0.99), max_us, static_cast<unsigned long long>(errors_));
    std::fflush(stdout);
  }

  const options& o_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::vector<slot> slots_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::vector<std::int64_t> latencies_;
  std::size_t busy_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t errors_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    usage(stderr);
    return 2;
  }
  try {
    load l{o};
    return l.run();
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "ferry_load: %s\n", e.what());
    return 1;
  }
}
