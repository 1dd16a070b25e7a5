#pragma once

// Test support for the batcher and the embedded runtime: a fixture owning an
// actor_system, a function_registry, an embedded runtime and a local_client,
// plus the synchronisation the tests use instead of sleeps: gates (from
// tests/support/sync.hpp) that hold a function until the test opens them, logs
// of the batches a function saw, and logs of a call's status events. Timeouts
// here are failure guards only.

#include "tests/support/sync.hpp"

#include "actors/messages.hpp"
#include "runtime/embedded.hpp"
#include "runtime/local_client.hpp"
#include "transport/codec.hpp"
#include "transport/error_code.hpp"
#include "workers/function_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ferry::test {

/// The batches a function was called with, in the order the calls began.
/// Written from worker threads, read from the test thread.
template <class T>
class batch_log {
public:
  void record(std::vector<T> batch) {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      batches_.push_back(std::move(batch));
    }
    cv_.notify_all();
  }

  /// True once at least `n` batches have begun; false after the guard.
  [[nodiscard]] bool wait_for_count(std::size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, guard, [&] { return batches_.size() >= n; });
  }

  [[nodiscard]] std::vector<std::vector<T>> batches() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return batches_;
  }

  [[nodiscard]] std::size_t count() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return batches_.size();
  }

  [[nodiscard]] std::vector<std::size_t> sizes() const {
    std::lock_guard<std::mutex> lock{mtx_};
    std::vector<std::size_t> out;
    for (const auto& b : batches_)
      out.push_back(b.size());
    return out;
  }

  /// Every item of every batch, in order.
  [[nodiscard]] std::vector<T> items() const {
    std::lock_guard<std::mutex> lock{mtx_};
    std::vector<T> out;
    for (const auto& b : batches_)
      out.insert(out.end(), b.begin(), b.end());
    return out;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::vector<T>> batches_;
};

/// The status events of one call, filled on a CAF thread by the call's
/// on_status callback (which shares ownership, so it may outlive the test).
class status_log {
public:
  void add(const actors::status_event& ev) {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      events_.push_back(ev);
    }
    cv_.notify_all();
  }

  /// True once the batcher has queued the call; false after the guard.
  [[nodiscard]] bool wait_for_queued() {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, guard, [&] {
      for (const auto& ev : events_)
        if (ev.what == actors::stage::queued)
          return true;
      return false;
    });
  }

  /// True once at least `n` events arrived; false after the guard.
  [[nodiscard]] bool wait_for_count(std::size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, guard, [&] { return events_.size() >= n; });
  }

  [[nodiscard]] std::vector<actors::status_event> events() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return events_;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<actors::status_event> events_;
};

/// A submitted call together with the status events it has received.
struct watched_call {
  runtime::job job;
  std::shared_ptr<status_log> status;
};

/// Decodes a successful outcome's row into typed values; fails the test when
/// the outcome is an error or does not decode.
template <class... Ts>
std::tuple<Ts...> row_of(const transport::outcome& o) {
  std::tuple<Ts...> out;
  EXPECT_TRUE(o.ok()) << transport::to_string(o.code) << ": " << o.body;
  if (o.ok()) {
    auto err = transport::unpack_tuple(o.body, out);
    EXPECT_FALSE(err.has_value()) << *err;
  }
  return out;
}

/// The single output of a successful outcome.
template <class T>
T single_output(const transport::outcome& o) {
  return std::get<0>(row_of<T>(o));
}

/// Owns an actor_system (two scheduler threads), a registry and, once start()
/// ran, an embedded runtime and a local_client. Tests register functions,
/// call start(), then submit. Gates and logs are members declared before the
/// actor_system so they outlive every worker thread; the destructor opens
/// every gate first, so a failing test never leaves a worker blocked.
class embedded_fixture : public ::testing::Test {
protected:
  embedded_fixture() : sys(configure(cfg)) {}

  ~embedded_fixture() override {
    release.open();
    release2.open();
    client_.reset();
    node_.reset();
  }

  static caf::actor_system_config& configure(caf::actor_system_config& c) {
    actors::add_message_types(c);
    c.set("scheduler.max-threads", 2);
    return c;
  }

  void start() {
    node_.emplace(sys, registry);
    client_.emplace(sys, node_->batcher());
  }

  runtime::embedded& node() { return *node_; }
  const runtime::local_client& client() const { return *client_; }

  /// Stops the runtime now (as its owner going away would).
  void stop() { node_.reset(); }

  /// Submits a call that reports status events, without waiting.
  template <class... Args>
  watched_call submit_watched(std::optional<std::chrono::milliseconds> deadline,
                              std::string fn, const Args&... args) {
    auto log = std::make_shared<status_log>();
    runtime::call_options opts;
    opts.deadline = deadline;
    opts.on_status = [log](const actors::status_event& ev) { log->add(ev); };
    return {client().submit(std::move(opts), std::move(fn), args...), log};
  }

  template <class... Args>
  watched_call submit_watched(std::string fn, const Args&... args) {
    return submit_watched(std::nullopt, std::move(fn), args...);
  }

  /// Submits a call and returns once the batcher has queued it, so calls
  /// submitted one after another arrive in that order.
  template <class... Args>
  watched_call enqueue(std::string fn, const Args&... args) {
    auto c = submit_watched(std::move(fn), args...);
    EXPECT_TRUE(c.status->wait_for_queued()) << "call was never queued";
    return c;
  }

  /// The call's outcome; a test failure (and an `unavailable` outcome) when it
  /// does not arrive within the guard.
  static transport::outcome result_of(runtime::job& j) {
    if (!j.wait_for(guard)) {
      ADD_FAILURE() << "no outcome within " << guard.count() << " ms";
      return transport::outcome::failure(transport::errc::unavailable,
                                         "test: no outcome in time");
    }
    return j.get();
  }
  static transport::outcome result_of(watched_call& c) { return result_of(c.job); }

  // Declared before the actor_system: they outlive every worker thread.
  gate release;
  gate release2;
  batch_log<std::string> seen;
  batch_log<std::string> seen2;
  std::atomic<int> returned{0}; ///< batches that left a test function

  caf::actor_system_config cfg;
  caf::actor_system sys;
  workers::function_registry registry;

private:
  std::optional<runtime::embedded> node_;
  std::optional<runtime::local_client> client_;
};

} // namespace ferry::test
