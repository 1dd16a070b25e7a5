#pragma once

// A C++ client of client protocol v1 (docs/protocol.md): calls functions that
// a ferry gateway serves, blocking or asynchronously, over ZeroMQ.

#include "transport/codec.hpp"
#include "transport/error_code.hpp"
#include "transport/function_spec.hpp"
#include "transport/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ferry::clients {

/// A call that ended with an error reply (or whose outputs do not convert to
/// the requested types: `bad_output`). what() is "CODE: message".
class call_error : public std::runtime_error {
public:
  call_error(transport::errc code, const std::string& message)
    : std::runtime_error(std::string{transport::to_string(code)} + ": " + message),
      code_(code), message_(message) {}

  [[nodiscard]] transport::errc code() const noexcept { return code_; }
  /// The server's message, without the code.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

private:
  transport::errc code_;
  std::string message_;
};

/// No reply arrived within the client-side wait limit. The call may still be
/// running; call() has asked the gateway to cancel it.
class timeout_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Where a job stands, as far as the client knows.
enum class job_stage : std::uint8_t {
  submitted, ///< handed to the client; no gateway connected to take it yet
  sent,      ///< on its way to a gateway; no status event yet
  queued,    ///< waiting in the function's queue (status event)
  started,   ///< running in a batch (status event)
  done,      ///< a terminal reply arrived; result() returns it
};

[[nodiscard]] std::string_view to_string(job_stage s);

/// The last state of a job: its stage plus the fields of the last status
/// event (zero or -1 where that event does not carry them).
struct job_status {
  job_stage stage = job_stage::submitted;
  std::uint32_t rank = 0;       ///< queued: requests ahead of this one
  std::uint32_t queue_size = 0; ///< queued: requests waiting for the function
  std::int64_t eta_ms = -1;     ///< queued: estimated wait, -1 when unknown
  std::uint32_t batch_size = 0; ///< started: size of the batch it runs in
  std::string gateway;          ///< the endpoint it was sent to, once sent
  /// Done, but ended here rather than by a gateway's reply: cancelled before
  /// it was sent, its connection dropped, or the client closed.
  bool ended_locally = false;
};

struct call_options {
  /// The call's budget from its arrival at the gateway (`deadline_ms`): a call
  /// still waiting when it runs out ends with `deadline_exceeded` and never
  /// runs. Enforced by the server; a running call is not recalled.
  std::optional<std::chrono::milliseconds> deadline;
  /// Ask the gateway for status events (they update job::status()). Implied
  /// by `on_status`.
  bool status = false;
  /// When set, the gateway streams status events; each is passed here, on
  /// the client's I/O thread, in order and before the result is ready. It must
  /// be quick and must not wait on this client: waiting there throws
  /// std::logic_error rather than deadlock (result(0ms) only looks). Exceptions
  /// it throws are dropped.
  std::function<void(const job_status&)> on_status;
};

struct client_options {
  /// Gateways to connect to; calls go round robin to those connected.
  std::vector<std::string> endpoints{"tcp://127.0.0.1:5555"};
  /// How long call() waits for the reply before cancelling the call and
  /// throwing timeout_error; zero or negative: no limit.
  std::chrono::milliseconds call_timeout{0};
};

/// What `info` reports about a gateway's server.
struct server_info {
  std::string version;
  std::vector<transport::function_spec> functions;
  /// Where each function runs now: nodes[i] belongs to functions[i].
  std::vector<std::vector<transport::node_capacity>> nodes;
};

namespace internal {
struct job_state;
struct client_core;
} // namespace internal

/// One submitted call (or ping, or info request). A cheap, copyable handle;
/// every copy sees the same job. It ends exactly once, with the gateway's
/// terminal reply, with `cancelled` when cancelled before it was sent, or with
/// `unavailable` when its gateway's connection dropped or the client closed.
/// Thread-safe.
class job {
public:
  /// The id the client chose for it, unique among this client's jobs.
  [[nodiscard]] std::uint64_t id() const noexcept;

  /// The last known state.
  [[nodiscard]] job_status status() const;

  /// Waits up to `timeout` for the terminal reply (type "result" or "error";
  /// "pong" or "info" for pings and info requests). Empty when it has not
  /// arrived yet; the job goes on.
  [[nodiscard]] std::optional<transport::server_reply>
  result(std::chrono::milliseconds timeout) const;

  /// Waits for the terminal reply without limit.
  [[nodiscard]] transport::server_reply result() const;

  /// Waits up to `timeout` (zero or negative: no limit) and decodes the
  /// outputs: R is the single output's type, or a std::tuple of the outputs'
  /// types. Throws call_error for an error reply or outputs that do not
  /// convert, timeout_error when nothing arrived in time.
  template <class R>
  R get(std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) const;

  /// Asks the gateway to end the call with `cancelled`: a waiting call never
  /// runs, a running one is answered at once. A call not yet sent ends with
  /// `cancelled` right here. Best effort and asynchronous: the job still ends
  /// with whatever terminal reply comes first. No effect once it has ended.
  void cancel() const;

private:
  friend class client;
  job(std::shared_ptr<internal::job_state> state,
      std::weak_ptr<internal::client_core> core)
    : state_(std::move(state)), core_(std::move(core)) {}

  [[nodiscard]] std::optional<transport::server_reply>
  wait_for(std::chrono::milliseconds timeout) const;

  template <class T>
  struct is_tuple : std::false_type {};
  template <class... Ts>
  struct is_tuple<std::tuple<Ts...>> : std::true_type {};

  std::shared_ptr<internal::job_state> state_;
  std::weak_ptr<internal::client_core> core_;
};

/// A connection to one or several gateways. One background I/O thread owns
/// the sockets and sleeps until a reply arrives or a caller hands it a
/// request (through a queue and an eventfd wake-up, never a timer). All
/// methods are thread-safe. Destruction stops the thread: jobs still open
/// end with `unavailable`, and the gateways are asked to cancel the calls
/// they still hold for it.
class client {
public:
  /// Throws std::invalid_argument when there is no endpoint or one cannot be
  /// parsed. Connecting itself is asynchronous and retried in the background.
  explicit client(client_options opts);
  explicit client(std::string endpoint);
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Submits a call whose arguments are already a packed msgpack array.
  [[nodiscard]] job submit_packed(std::string fn, std::string packed_args,
                                  call_options opts = {});

  template <class... Args>
  [[nodiscard]] job submit(call_options opts, std::string fn, const Args&... args) {
    return submit_packed(std::move(fn), transport::pack_array(args...), std::move(opts));
  }

  template <class... Args>
  [[nodiscard]] job submit(std::string fn, const Args&... args) {
    return submit(call_options{}, std::move(fn), args...);
  }

  /// Calls `fn` and waits for its outputs: R is the single output's type or a
  /// std::tuple of the outputs' types. Throws call_error for an error reply,
  /// timeout_error after client_options::call_timeout (cancelling the call).
  template <class R, class... Args>
  R call(call_options opts, std::string fn, const Args&... args) {
    return finish<R>(submit(std::move(opts), std::move(fn), args...));
  }

  template <class R, class... Args>
  R call(std::string fn, const Args&... args) {
    return call<R>(call_options{}, std::move(fn), args...);
  }

  /// The functions the server serves, from any connected gateway. Empty when
  /// no reply came within `timeout`; throws call_error for an error reply.
  [[nodiscard]] std::optional<server_info> info(std::chrono::milliseconds timeout);

  /// Pings any connected gateway; the round-trip time, or empty when no pong
  /// came within `timeout`.
  [[nodiscard]] std::optional<std::chrono::nanoseconds>
  ping(std::chrono::milliseconds timeout);

  /// Pings every gateway, in the order of client_options::endpoints, waiting
  /// up to `timeout` for all of them together.
  [[nodiscard]] std::vector<std::optional<std::chrono::nanoseconds>>
  ping_each(std::chrono::milliseconds timeout);

  [[nodiscard]] const std::vector<std::string>& endpoints() const noexcept {
    return endpoints_;
  }

private:
  template <class R>
  R finish(const job& j) {
    try {
      return j.get<R>(call_timeout_);
    } catch (const timeout_error&) {
      j.cancel();
      throw;
    }
  }

  std::vector<std::string> endpoints_;
  std::chrono::milliseconds call_timeout_;
  std::shared_ptr<internal::client_core> core_;
};

template <class R>
R job::get(std::chrono::milliseconds timeout) const {
  auto rep = timeout.count() > 0 ? wait_for(timeout) : std::optional{result()};
  if (!rep)
    throw timeout_error("no reply within " + std::to_string(timeout.count()) + " ms");
  if (rep->type == "error")
    throw call_error(rep->code, rep->message);
  if (rep->type != "result")
    throw call_error(transport::errc::bad_request,
                     "unexpected reply of type '" + rep->type + "'");
  auto fail = [](const std::string& err) {
    return call_error(transport::errc::bad_output, "result " + err);
  };
  if constexpr (is_tuple<R>::value) {
    R out;
    if (auto err = transport::unpack_tuple(rep->data, out))
      throw fail(*err);
    return out;
  } else {
    std::tuple<R> out;
    if (auto err = transport::unpack_tuple(rep->data, out))
      throw fail(*err);
    return std::move(std::get<0>(out));
  }
}

} // namespace ferry::clients
