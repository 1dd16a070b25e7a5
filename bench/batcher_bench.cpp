// Calls per second through the batcher and the local worker pool in one
// process. The batched function does nothing (identity on int64), so what is
// measured is ferry's own cost per call: CAF messages, queueing, packing and
// unpacking, bookkeeping.
//
//   driver_send/max_batch:N     one event-based CAF actor keeps `window` calls
//     in flight, sending (call_atom, call_request) to the batcher as plain
//     messages and taking each call_reply as a message. The main figure.
//   driver_request/max_batch:N  the same actor, but each call is a CAF request
//     answered through request(...).then(...). CAF 0.17 keeps an actor's open
//     requests in a flat map searched linearly, so this driver's own cost grows
//     with `window`; compare with driver_send to see it.
//   local_client_submit/max_batch:N  the same load through local_client::submit
//     from the benchmark thread: one short-lived actor per call.
//
// One benchmark iteration is one call. items_per_second counts calls answered
// per wall-clock second; batch_size is the average number of calls per batch
// the function actually ran. See docs/benchmarks.md.

#include "actors/messages.hpp"
#include "runtime/embedded.hpp"
#include "runtime/local_client.hpp"
#include "transport/codec.hpp"
#include "workers/function_registry.hpp"

#include <benchmark/benchmark.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/defaults.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

using ferry::transport::outcome;

/// Calls kept in flight: enough to fill several batches of 64 while one runs.
constexpr std::int64_t window = 256;
/// Calls per driver round; a timed run is a whole number of rounds.
constexpr std::int64_t round_calls = 10'000;
/// Calls per timed run, fixed so runs are comparable. max_batch 1 pays a
/// thread hand-off per call and gets fewer; the binary runs in about 12 s on
/// 2 cores.
constexpr std::int64_t timed_calls_unbatched = 2 * round_calls;
constexpr std::int64_t timed_calls = 20 * round_calls;

std::atomic<std::uint64_t> batches_run{0};
std::atomic<std::uint64_t> calls_run{0};

/// The function under test: returns its input, counting batches and calls.
std::vector<std::int64_t> noop(const std::vector<std::int64_t>& xs) {
  batches_run.fetch_add(1, std::memory_order_relaxed);
  calls_run.fetch_add(xs.size(), std::memory_order_relaxed);
  return xs;
}

const std::string& noop_args() {
  static const std::string packed = ferry::transport::pack_array(std::int64_t{42});
  return packed;
}

/// What a round of calls came back with.
struct round_result {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::string first_error;
};

/// Counts one answer; an identity call must echo its argument row.
void tally(round_result& r, const outcome& o) {
  if (o.ok() && o.body == noop_args()) {
    ++r.ok;
    return;
  }
  if (r.failed++ == 0)
    r.first_error = o.ok() ? std::string{"noop returned a different row"}
                           : std::string{ferry::transport::to_string(o.code)} + ": " + o.body;
}

/// The actor_system_config the runtime needs, filled before the system starts.
struct node_config {
  node_config() { ferry::actors::add_message_types(cfg); }
  caf::actor_system_config cfg;
};

/// An actor_system with ferry's batcher and local pool serving `noop` with
/// batches of up to `max_batch` calls, one batch at a time, no batch delay.
/// Built per benchmark run; destruction stops the actors and joins CAF's
/// threads.
class noop_node {
public:
  explicit noop_node(std::uint32_t max_batch)
    : sys_(conf_.cfg), registry_(make_registry(max_batch)), node_(sys_, registry_) {}

  [[nodiscard]] caf::actor_system& system() noexcept { return sys_; }
  [[nodiscard]] const caf::actor& batcher() const noexcept { return node_.batcher(); }

private:
  static ferry::workers::function_registry make_registry(std::uint32_t max_batch) {
    ferry::workers::function_registry registry;
    ferry::transport::knobs k;
    k.max_batch_size = max_batch;
    k.max_batch_delay_us = 0; // never wait: batches fill only from the backlog
    k.concurrency = 1;
    k.queue_limit = 4 * window;
    registry.add_batch("noop", noop, k);
    return registry;
  }

  node_config conf_;
  caf::actor_system sys_;
  ferry::workers::function_registry registry_;
  ferry::runtime::embedded node_;
};

// -- driver actor ---------------------------------------------------------------

/// How the driver sends its calls and receives their call_reply.
enum class reply_path {
  message,  ///< send(...); the reply arrives as an ordinary message
  response, ///< request(...).then(...); the reply is the request's response
};

struct driver_state {
  caf::actor batcher;
  reply_path path = reply_path::message;
  std::int64_t total = 0;
  std::int64_t unsent = 0;
  std::uint64_t next_key = 1;
  round_result result;
  std::shared_ptr<std::promise<round_result>> done;
};

using driver_actor = caf::stateful_actor<driver_state>;

void on_answer(driver_actor* self, const outcome& o);

void send_call(driver_actor* self) {
  auto& st = self->state;
  --st.unsent;
  ferry::actors::call_request req;
  req.key = st.next_key++;
  req.fn = "noop";
  req.args = noop_args();
  if (st.path == reply_path::message) {
    self->send(st.batcher, ferry::actors::call_atom::value, std::move(req));
    return;
  }
  self->request(st.batcher, caf::infinite, ferry::actors::call_atom::value, std::move(req))
    .then([self](ferry::actors::call_reply& reply) { on_answer(self, reply.result); },
          [self](caf::error& err) {
            on_answer(self, outcome::failure(ferry::transport::errc::unavailable,
                                             "batcher unreachable: " + to_string(err)));
          });
}

void finish_round(driver_actor* self) {
  self->demonitor(self->state.batcher);
  self->state.done->set_value(std::move(self->state.result));
  self->quit();
}

void on_answer(driver_actor* self, const outcome& o) {
  auto& st = self->state;
  tally(st.result, o);
  if (st.unsent > 0)
    send_call(self);
  else if (static_cast<std::int64_t>(st.result.ok + st.result.failed) == st.total)
    finish_round(self);
}

/// Keeps up to `window` calls of `noop` in flight until `calls` (> 0) have
/// been answered, then fulfils `done` and quits. Runs on CAF's scheduler; its
/// only messages are the batcher's replies (and its down message).
caf::behavior driver(driver_actor* self, caf::actor batcher, reply_path path,
                     std::int64_t calls,
                     std::shared_ptr<std::promise<round_result>> done) {
  auto& st = self->state;
  st.batcher = std::move(batcher);
  st.path = path;
  st.total = calls;
  st.unsent = calls;
  st.done = std::move(done);
  // Replies sent as messages never come when the batcher is gone: end the
  // round instead of waiting forever.
  self->monitor(st.batcher);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& r = self->state.result;
    r.failed += static_cast<std::uint64_t>(self->state.total) - r.ok - r.failed;
    r.first_error = "batcher went down: " + to_string(msg.reason);
    finish_round(self);
  });
  for (std::int64_t i = 0; i < std::min(window, calls); ++i)
    send_call(self);
  return {
    [self](ferry::actors::call_reply& reply) {
      if (reply.key == 0 || reply.key >= self->state.next_key)
        reply.result = outcome::failure(ferry::transport::errc::bad_output,
                                        "reply for a key never sent");
      on_answer(self, reply.result);
    },
  };
}

round_result drive_with_actor(noop_node& node, reply_path path, std::int64_t calls) {
  auto done = std::make_shared<std::promise<round_result>>();
  auto answered = done->get_future();
  node.system().spawn(driver, node.batcher(), path, calls, std::move(done));
  return answered.get();
}

// -- local_client ---------------------------------------------------------------

/// The same window of calls, kept from this thread with local_client.
round_result drive_with_local_client(const ferry::runtime::local_client& client,
                                     std::int64_t calls) {
  round_result r;
  std::deque<ferry::runtime::job> open;
  auto collect_oldest = [&] {
    tally(r, open.front().get());
    open.pop_front();
  };
  for (std::int64_t i = 0; i < calls; ++i) {
    if (static_cast<std::int64_t>(open.size()) == window)
      collect_oldest();
    open.push_back(client.submit_packed("noop", noop_args()));
  }
  while (!open.empty())
    collect_oldest();
  return r;
}

// -- benchmarks -------------------------------------------------------------------

/// Runs one untimed warm-up round, then timed rounds until the benchmark's
/// iteration count (one per call) is reached; reports calls/s and the batch
/// size formed.
template <class Drive>
void run_rounds(benchmark::State& state, Drive drive) {
  auto warm = drive(round_calls / 4);
  if (warm.failed > 0) {
    state.SkipWithError(("warm-up: " + warm.first_error).c_str());
    return;
  }
  batches_run = 0;
  calls_run = 0;
  while (state.KeepRunningBatch(round_calls)) {
    auto r = drive(round_calls);
    if (r.failed > 0) {
      state.SkipWithError((std::to_string(r.failed) + " call(s) failed, first: "
                           + r.first_error).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
  auto batches = batches_run.load();
  state.counters["batch_size"] =
    batches == 0 ? 0.0 : static_cast<double>(calls_run.load()) / static_cast<double>(batches);
}

void driver_send(benchmark::State& state) {
  noop_node node{static_cast<std::uint32_t>(state.range(0))};
  run_rounds(state, [&](std::int64_t calls) {
    return drive_with_actor(node, reply_path::message, calls);
  });
}

void driver_request(benchmark::State& state) {
  noop_node node{static_cast<std::uint32_t>(state.range(0))};
  run_rounds(state, [&](std::int64_t calls) {
    return drive_with_actor(node, reply_path::response, calls);
  });
}

void local_client_submit(benchmark::State& state) {
  noop_node node{static_cast<std::uint32_t>(state.range(0))};
  ferry::runtime::local_client client{node.system(), node.batcher()};
  run_rounds(state,
             [&](std::int64_t calls) { return drive_with_local_client(client, calls); });
}

/// One configuration: batches of up to MaxBatch calls, a fixed number of
/// calls. The work runs on CAF's threads, so time is wall-clock
/// (UseRealTime); the benchmark thread's own CPU time says nothing here.
template <std::int64_t MaxBatch>
void max_batch(benchmark::internal::Benchmark* b) {
  b->ArgName("max_batch")
    ->Arg(MaxBatch)
    ->Iterations(MaxBatch == 1 ? timed_calls_unbatched : timed_calls)
    ->UseRealTime();
}

BENCHMARK(driver_send)->Apply(max_batch<1>);
BENCHMARK(driver_send)->Apply(max_batch<16>);
BENCHMARK(driver_send)->Apply(max_batch<64>);
BENCHMARK(driver_request)->Apply(max_batch<1>);
BENCHMARK(driver_request)->Apply(max_batch<16>);
BENCHMARK(driver_request)->Apply(max_batch<64>);
BENCHMARK(local_client_submit)->Apply(max_batch<1>);
BENCHMARK(local_client_submit)->Apply(max_batch<16>);
BENCHMARK(local_client_submit)->Apply(max_batch<64>);

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::AddCustomContext("calls_in_flight", std::to_string(window));
  benchmark::AddCustomContext("caf_scheduler_threads",
                              std::to_string(caf::defaults::scheduler::max_threads));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
