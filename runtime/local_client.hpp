#pragma once

#include "actors/messages.hpp"
#include "transport/codec.hpp"
#include "transport/error_code.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace ferry::runtime {

/// A call that ended with an error code; what() is the runtime's message.
class call_error : public std::runtime_error {
public:
  call_error(transport::errc code, const std::string& message)
    : std::runtime_error(std::string{transport::to_string(code)} + ": " + message),
      code_(code) {}

  [[nodiscard]] transport::errc code() const noexcept { return code_; }

private:
  transport::errc code_;
};

struct call_options {
  /// Budget from submission; a call still waiting when it runs out ends with
  /// `deadline_exceeded` and never executes.
  std::optional<std::chrono::milliseconds> deadline;
  /// Receives `queued` and `started` events, on a CAF thread, before the
  /// result is ready.
  std::function<void(const actors::status_event&)> on_status;
};

/// One submitted call. Its result arrives once; cancel() ends it early.
class job {
public:
  job(std::future<transport::outcome> result, caf::actor proxy)
    : result_(std::move(result)), proxy_(std::move(proxy)) {}

  /// Blocks until the call ends and returns its outcome (only once).
  [[nodiscard]] transport::outcome get() { return result_.get(); }

  /// Waits up to `timeout`; true when the outcome is ready.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return result_.wait_for(timeout) == std::future_status::ready;
  }

  /// Asks the batcher to end the call with `cancelled`: a waiting call never
  /// runs, a running one is answered at once and its result discarded. No
  /// effect once the call has ended.
  void cancel();

private:
  std::future<transport::outcome> result_;
  caf::actor proxy_;
};

/// Calls functions of an in-process batcher from plain C++ threads. Each call
/// is carried by a short-lived actor. Thread-safe; cheap to copy.
class local_client {
public:
  local_client(caf::actor_system& sys, caf::actor batcher)
    : sys_(&sys), batcher_(std::move(batcher)) {}

  /// Submits a call whose arguments are already a packed msgpack array.
  [[nodiscard]] job submit_packed(std::string fn, std::string packed_args,
                                  call_options opts = {}) const;

  template <class... Args>
  [[nodiscard]] job submit(call_options opts, std::string fn, const Args&... args) const {
    return submit_packed(std::move(fn), transport::pack_array(args...), std::move(opts));
  }

  template <class... Args>
  [[nodiscard]] job submit(std::string fn, const Args&... args) const {
    return submit(call_options{}, std::move(fn), args...);
  }

  /// Calls `fn` and waits. R is the type of the single output, or a
  /// std::tuple of the outputs' types. Throws call_error when the call fails
  /// or its outputs do not convert to R.
  template <class R, class... Args>
  R call(std::string fn, const Args&... args) const {
    auto result = submit(std::move(fn), args...).get();
    if (!result.ok())
      throw call_error(result.code, result.body);
    if constexpr (is_tuple<R>::value) {
      R out;
      if (auto err = transport::unpack_tuple(result.body, out))
        throw call_error(transport::errc::bad_output, "result " + *err);
      return out;
    } else {
      std::tuple<R> out;
      if (auto err = transport::unpack_tuple(result.body, out))
        throw call_error(transport::errc::bad_output, "result " + *err);
      return std::move(std::get<0>(out));
    }
  }

private:
  template <class T>
  struct is_tuple : std::false_type {};
  template <class... Ts>
  struct is_tuple<std::tuple<Ts...>> : std::true_type {};

  caf::actor_system* sys_;
  caf::actor batcher_;
};

} // namespace ferry::runtime
