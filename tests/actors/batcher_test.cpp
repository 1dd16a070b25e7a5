// The batcher, driven through the embedded runtime: how it forms batches (size,
// delay, per-function queues in arrival order), concurrency and queue limits,
// deadlines, cancel, status events, and its worker protocol. Every test is
// deterministic: functions wait at gates the test opens, and a call is known to
// be waiting once its `queued` status event arrived while the function's only
// worker was held by an earlier ("blocker") call.

#include "tests/runtime/embedded_fixture.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using ferry::actors::stage;
using ferry::test::batch_log;
using ferry::test::contains;
using ferry::test::gate;
using ferry::test::single_output;
using ferry::transport::errc;
using ferry::transport::knobs;
using ferry::transport::outcome;
using strings = std::vector<std::string>;

knobs make_knobs(std::uint32_t max_batch_size, std::int64_t delay_us = 0,
                 std::uint32_t concurrency = 1, std::uint32_t queue_limit = 1024) {
  knobs k;
  k.max_batch_size = max_batch_size;
  k.max_batch_delay_us = delay_us;
  k.concurrency = concurrency;
  k.queue_limit = queue_limit;
  return k;
}

class Batcher : public ferry::test::embedded_fixture {
protected:
  /// Registers batch function `name`: records each batch in `log`, waits at
  /// `g`, then answers word + "!" for each word.
  void add_echo(const std::string& name, knobs k, batch_log<std::string>& log, gate& g) {
    registry.add_batch(
      name,
      [&log, &g, this](const std::vector<std::string>& words) {
        log.record(words);
        g.pass();
        ++returned;
        std::vector<std::string> out;
        for (const auto& w : words)
          out.push_back(w + "!");
        return out;
      },
      k);
  }

  void add_echo(const std::string& name, knobs k) { add_echo(name, k, seen, release); }

  /// Submits a call that occupies the function's worker and waits until the
  /// function is running it.
  ferry::test::watched_call block(const std::string& fn, batch_log<std::string>& log) {
    auto before = log.count();
    auto c = submit_watched(fn, "blocker"s);
    EXPECT_TRUE(log.wait_for_count(before + 1)) << "blocker never started";
    return c;
  }

  /// Joins `worker` (a scoped actor standing in for a worker) to the batcher
  /// as the one-slot worker of function `fn`.
  void join_fake(caf::scoped_actor& worker, const std::string& fn) {
    ferry::transport::function_spec spec;
    spec.name = fn;
    spec.inputs = {"any"};
    std::string answer = "<no answer>";
    worker
      ->request(node().batcher(), caf::infinite, ferry::actors::join_atom::value, spec,
                caf::actor_cast<caf::actor>(worker), std::uint32_t{1})
      .receive([&](std::string& s) { answer = s; },
               [&](caf::error& err) { answer = sys.render(err); });
    EXPECT_EQ(answer, "") << "join refused";
  }

  /// Receives one batch at `worker` and keeps it without ever answering; the
  /// batch is lost when the worker goes away. Returns the batch's arguments.
  std::vector<std::string> take_and_keep(caf::scoped_actor& worker,
                                         caf::response_promise& kept) {
    std::vector<std::string> got;
    worker->receive(
      [&](ferry::actors::run_atom, const std::vector<std::string>& args) {
        got = args;
        kept = worker->make_response_promise();
      },
      caf::after(ferry::test::guard) >> [] { ADD_FAILURE() << "no batch arrived"; });
    return got;
  }

  void expect_word(ferry::test::watched_call& c, const std::string& word) {
    EXPECT_EQ(single_output<std::string>(result_of(c)), word + "!");
  }
};

// -- batch formation -------------------------------------------------------------

TEST_F(Batcher, SingleCallRunsAsBatchOfOne) {
  add_echo("f", make_knobs(4));
  start();
  release.open();
  auto c = submit_watched("f", "solo"s);
  expect_word(c, "solo");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"solo"}}));
  auto events = c.status->events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().what, stage::started);
  EXPECT_EQ(events.back().batch_size, 1u);
}

TEST_F(Batcher, WaitingCallsFormBatchesUpToMaxSize) {
  add_echo("f", make_knobs(3));
  start();
  auto blocker = block("f", seen);
  std::vector<ferry::test::watched_call> calls;
  for (auto w : {"w1"s, "w2"s, "w3"s, "w4"s})
    calls.push_back(enqueue("f", w));
  EXPECT_EQ(seen.count(), 1u); // nothing else started while the blocker runs
  release.open();
  expect_word(blocker, "blocker");
  expect_word(calls[0], "w1");
  expect_word(calls[1], "w2");
  expect_word(calls[2], "w3");
  expect_word(calls[3], "w4");
  EXPECT_EQ(seen.batches(),
            (std::vector<strings>{{"blocker"}, {"w1", "w2", "w3"}, {"w4"}}));
}

TEST_F(Batcher, FunctionsBatchSeparatelyInArrivalOrder) {
  add_echo("f0", make_knobs(3), seen, release);
  add_echo("f1", make_knobs(2), seen2, release);
  start();
  auto b0 = block("f0", seen);
  auto b1 = block("f1", seen2);
  std::vector<ferry::test::watched_call> calls;
  calls.push_back(enqueue("f0", "a"s));
  calls.push_back(enqueue("f1", "b"s));
  calls.push_back(enqueue("f0", "c"s));
  calls.push_back(enqueue("f1", "d"s));
  calls.push_back(enqueue("f0", "e"s));
  calls.push_back(enqueue("f0", "f"s));
  release.open();
  const char* words[] = {"a", "b", "c", "d", "e", "f"};
  for (std::size_t i = 0; i < calls.size(); ++i)
    expect_word(calls[i], words[i]);
  expect_word(b0, "blocker");
  expect_word(b1, "blocker");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"blocker"}, {"a", "c", "e"}, {"f"}}));
  EXPECT_EQ(seen2.batches(), (std::vector<strings>{{"blocker"}, {"b", "d"}}));
}

TEST_F(Batcher, OneFunctionBlockedDoesNotBlockAnother) {
  add_echo("slow", make_knobs(4), seen, release);
  add_echo("fast", make_knobs(4), seen2, release2);
  start();
  release2.open();
  auto blocker = block("slow", seen);
  auto fast = submit_watched("fast", "quick"s);
  expect_word(fast, "quick"); // while "slow" is still held at its gate
  EXPECT_FALSE(blocker.job.wait_for(0s));
  release.open();
  expect_word(blocker, "blocker");
}

TEST_F(Batcher, BatchedAndPlainFunctionsDoNotMix) {
  add_echo("batched", make_knobs(4));
  registry.add("plain", [this](const std::string& word) {
    seen2.record({word});
    release.pass();
    return word + "?";
  });
  start();
  auto bb = block("batched", seen);
  auto bp = block("plain", seen2);
  std::vector<ferry::test::watched_call> b, p;
  b.push_back(enqueue("batched", "b1"s));
  p.push_back(enqueue("plain", "p1"s));
  b.push_back(enqueue("batched", "b2"s));
  p.push_back(enqueue("plain", "p2"s));
  b.push_back(enqueue("batched", "b3"s));
  release.open();
  expect_word(bb, "blocker");
  EXPECT_EQ(single_output<std::string>(result_of(bp)), "blocker?");
  expect_word(b[0], "b1");
  expect_word(b[1], "b2");
  expect_word(b[2], "b3");
  EXPECT_EQ(single_output<std::string>(result_of(p[0])), "p1?");
  EXPECT_EQ(single_output<std::string>(result_of(p[1])), "p2?");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"blocker"}, {"b1", "b2", "b3"}}));
  EXPECT_EQ(seen2.batches(), (std::vector<strings>{{"blocker"}, {"p1"}, {"p2"}}));
  for (auto& c : b)
    EXPECT_EQ(c.status->events().back().batch_size, 3u);
  for (auto& c : p)
    EXPECT_EQ(c.status->events().back().batch_size, 1u);
}

// -- max_batch_delay ---------------------------------------------------------------

TEST_F(Batcher, DelayHoldsAnEarlyCallForLateArrivals) {
  // A 10 s delay: only a full batch can start before it runs out.
  add_echo("f", make_knobs(3, 10'000'000));
  start();
  release.open();
  auto t0 = std::chrono::steady_clock::now();
  auto first = enqueue("f", "early"s);
  auto second = enqueue("f", "late1"s);
  EXPECT_FALSE(first.job.wait_for(0s)); // still held for company
  auto third = submit_watched("f", "late2"s);
  expect_word(first, "early");
  expect_word(second, "late1");
  expect_word(third, "late2");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"early", "late1", "late2"}}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s); // the full batch left at once
}

TEST_F(Batcher, DelayCollectsCallsSubmittedTogether) {
  add_echo("f", make_knobs(8, 500'000));
  start();
  release.open();
  auto a = submit_watched("f", "a"s);
  auto b = submit_watched("f", "b"s);
  auto c = submit_watched("f", "c"s);
  expect_word(a, "a");
  expect_word(b, "b");
  expect_word(c, "c");
  ASSERT_EQ(seen.count(), 1u) << "calls submitted together should board one batch";
  EXPECT_EQ(seen.sizes(), (std::vector<std::size_t>{3}));
}

TEST_F(Batcher, DelayExpiryStartsAPartialBatch) {
  add_echo("f", make_knobs(4, 150'000));
  start();
  release.open();
  auto t0 = std::chrono::steady_clock::now();
  auto a = submit_watched("f", "lonely"s);
  expect_word(a, "lonely");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms); // it waited the delay
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"lonely"}}));
}

TEST_F(Batcher, ZeroDelayNeverWaits) {
  add_echo("f", make_knobs(4, 0));
  start();
  auto a = submit_watched("f", "a"s);
  // The lone call starts although a batch of 4 is allowed and nobody else came.
  ASSERT_TRUE(seen.wait_for_count(1));
  auto b = enqueue("f", "b"s);
  release.open();
  expect_word(a, "a");
  expect_word(b, "b");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"a"}, {"b"}}));
}

// -- concurrency and queue limit ---------------------------------------------------

TEST_F(Batcher, ConcurrencyTwoRunsTwoBatchesAtOnce) {
  add_echo("f", make_knobs(1, 0, 2));
  start();
  auto a = submit_watched("f", "a"s);
  auto b = submit_watched("f", "b"s);
  // Both are inside the function at the same time: the gate is still closed.
  ASSERT_TRUE(seen.wait_for_count(2));
  auto c = enqueue("f", "c"s);
  EXPECT_EQ(seen.count(), 2u); // a third batch waits for a free slot
  ASSERT_FALSE(c.status->events().empty());
  EXPECT_EQ(c.status->events().front().rank, 0u);
  release.open();
  expect_word(a, "a");
  expect_word(b, "b");
  expect_word(c, "c");
  EXPECT_EQ(seen.count(), 3u);
}

TEST_F(Batcher, QueueLimitRejectsWithQueueFull) {
  add_echo("f", make_knobs(1, 0, 1, 2));
  start();
  auto blocker = block("f", seen);
  auto q1 = enqueue("f", "q1"s);
  auto q2 = enqueue("f", "q2"s);
  auto q3 = submit_watched("f", "q3"s);
  auto rejected = result_of(q3); // answered while the function is still blocked
  EXPECT_EQ(rejected.code, errc::queue_full);
  EXPECT_EQ(rejected.body, "queue of 'f' is full (2 waiting)");
  EXPECT_TRUE(q3.status->events().empty()); // never queued
  release.open();
  expect_word(blocker, "blocker");
  expect_word(q1, "q1");
  expect_word(q2, "q2");
  EXPECT_EQ(seen.items(), (strings{"blocker", "q1", "q2"}));
  // Room again once the queue drained.
  auto q4 = submit_watched("f", "q4"s);
  expect_word(q4, "q4");
}

// -- deadlines -----------------------------------------------------------------------

TEST_F(Batcher, DeadlineEndsAWaitingCallThatNeverExecutes) {
  add_echo("f", make_knobs(4));
  start();
  auto blocker = block("f", seen);
  auto late = submit_watched(200ms, "f", "late"s);
  ASSERT_TRUE(late.status->wait_for_queued());
  auto r = result_of(late); // answered by the timer while the worker is still held
  EXPECT_EQ(r.code, errc::deadline_exceeded);
  EXPECT_EQ(r.body, "deadline passed while the call waited in the queue");
  EXPECT_EQ(seen.count(), 1u);
  release.open();
  expect_word(blocker, "blocker");
  auto after = submit_watched("f", "after"s);
  expect_word(after, "after");
  EXPECT_EQ(seen.items(), (strings{"blocker", "after"})); // "late" never ran
}

TEST_F(Batcher, DeadlineDoesNotRecallARunningBatch) {
  add_echo("f", make_knobs(1));
  start();
  // A budget generous enough that the first call starts within it even on a
  // loaded machine or under a sanitizer.
  auto running = submit_watched(1000ms, "f", "running"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  // The second call's deadline runs out after the first's; once it has been
  // answered, the first call's deadline has been handled too.
  auto waiting = submit_watched(1000ms, "f", "waiting"s);
  EXPECT_EQ(result_of(waiting).code, errc::deadline_exceeded);
  EXPECT_FALSE(running.job.wait_for(0s));
  release.open();
  expect_word(running, "running");
  EXPECT_EQ(seen.items(), (strings{"running"}));
}

TEST_F(Batcher, DeadlineAlreadyPassedIsRejectedAtOnce) {
  add_echo("f", make_knobs(4));
  start();
  auto c = submit_watched(0ms, "f", "x"s);
  auto r = result_of(c);
  EXPECT_EQ(r.code, errc::deadline_exceeded);
  EXPECT_EQ(seen.count(), 0u);
}

// -- cancel ----------------------------------------------------------------------------

TEST_F(Batcher, CancelOfAWaitingCallNeverExecutesIt) {
  add_echo("f", make_knobs(4));
  start();
  auto blocker = block("f", seen);
  auto doomed = enqueue("f", "doomed"s);
  auto kept = enqueue("f", "kept"s);
  doomed.job.cancel();
  auto r = result_of(doomed); // while the worker is still held
  EXPECT_EQ(r.code, errc::cancelled);
  EXPECT_EQ(r.body, "cancelled by the caller");
  // The call behind it moved up.
  ASSERT_TRUE(kept.status->wait_for_count(2));
  auto kept_events = kept.status->events();
  ASSERT_EQ(kept_events.size(), 2u);
  EXPECT_EQ(kept_events[0].rank, 1u);
  EXPECT_EQ(kept_events[1].rank, 0u);
  release.open();
  expect_word(blocker, "blocker");
  expect_word(kept, "kept");
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"blocker"}, {"kept"}}));
}

TEST_F(Batcher, CancelOfARunningCallAnswersAtOnce) {
  add_echo("f", make_knobs(4));
  start();
  auto running = submit_watched("f", "running"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  running.job.cancel();
  auto r = result_of(running);
  EXPECT_EQ(r.code, errc::cancelled);
  EXPECT_EQ(returned.load(), 0); // the function is still blocked
  release.open();
  // Its result is discarded; the function and the queue carry on.
  auto next = submit_watched("f", "next"s);
  expect_word(next, "next");
  EXPECT_EQ(returned.load(), 2);
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"running"}, {"next"}}));
}

TEST_F(Batcher, CancelAfterTheResultHasNoEffect) {
  add_echo("f", make_knobs(4));
  start();
  release.open();
  auto c = submit_watched("f", "done"s);
  expect_word(c, "done");
  c.job.cancel();
  auto next = submit_watched("f", "next"s);
  expect_word(next, "next");
}

// -- status events ---------------------------------------------------------------------

TEST_F(Batcher, StatusEventsComeQueuedThenStartedAndRanksDecrease) {
  add_echo("f", make_knobs(1));
  start();
  auto blocker = block("f", seen);
  std::vector<ferry::test::watched_call> calls;
  for (auto w : {"a"s, "b"s, "c"s, "d"s})
    calls.push_back(enqueue("f", w));
  release.open();
  expect_word(blocker, "blocker");
  for (auto& c : calls)
    EXPECT_TRUE(result_of(c).ok());

  // The blocker: queued at rank 0, then started in a batch of 1.
  auto be = blocker.status->events();
  ASSERT_EQ(be.size(), 2u);
  EXPECT_EQ(be[0].what, stage::queued);
  EXPECT_EQ(be[0].rank, 0u);
  EXPECT_EQ(be[1].what, stage::started);
  EXPECT_EQ(be[1].batch_size, 1u);

  // "d" arrived fourth behind the running blocker: rank 3 of 4 waiting, then
  // one step up each time a batch left, then started; all before its result.
  auto de = calls[3].status->events();
  ASSERT_EQ(de.size(), 5u);
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(de[i].what, stage::queued) << i;
    EXPECT_EQ(de[i].rank, 3 - i) << i;
    EXPECT_EQ(de[i].queue_size, 4 - i) << i;
    EXPECT_EQ(de[i].key, 1u);
  }
  EXPECT_EQ(de[0].eta_ms, -1); // no batch had finished yet: unknown
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_GE(de[i].eta_ms, 0) << i; // measured from finished batches
  EXPECT_EQ(de[4].what, stage::started);
  EXPECT_EQ(de[4].batch_size, 1u);

  // Every waiting call saw strictly decreasing ranks ending in "started".
  for (std::size_t k = 0; k < calls.size(); ++k) {
    auto ev = calls[k].status->events();
    ASSERT_EQ(ev.size(), k + 2) << k;
    for (std::size_t i = 0; i + 1 < ev.size(); ++i)
      EXPECT_EQ(ev[i].rank, k - i) << k << "/" << i;
    EXPECT_EQ(ev.back().what, stage::started);
  }
}

TEST_F(Batcher, StartedEventReportsTheBatchSize) {
  add_echo("f", make_knobs(3));
  start();
  auto blocker = block("f", seen);
  auto a = enqueue("f", "a"s);
  auto b = enqueue("f", "b"s);
  release.open();
  expect_word(a, "a");
  expect_word(b, "b");
  for (auto* c : {&a, &b}) {
    auto ev = c->status->events();
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.back().what, stage::started);
    EXPECT_EQ(ev.back().batch_size, 2u);
  }
  expect_word(blocker, "blocker");
}

// -- the batcher's own messages --------------------------------------------------------

TEST_F(Batcher, InfoListsTheServedFunctions) {
  add_echo("f", make_knobs(3, 2000, 1, 7));
  registry.add("p", [](std::int64_t x) { return x; });
  start();
  caf::scoped_actor self{sys};
  std::vector<ferry::transport::function_spec> specs;
  std::vector<ferry::transport::function_info> infos;
  self->request(node().batcher(), caf::infinite, ferry::actors::info_atom::value)
    .receive([&](std::vector<ferry::transport::function_info>& xs) { infos = std::move(xs); },
             [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
  for (const auto& info : infos)
    specs.push_back(info.spec);
  ASSERT_EQ(specs.size(), 2u);
  // The local pool's capacity: one slot per unit of concurrency, on "local".
  ASSERT_EQ(infos[0].nodes.size(), 1u);
  EXPECT_EQ(infos[0].nodes[0].node, "local");
  EXPECT_EQ(infos[0].nodes[0].slots, 1u);
  EXPECT_EQ(specs[0].name, "f");
  EXPECT_TRUE(specs[0].batch);
  EXPECT_EQ(specs[0].knob.max_batch_size, 3u);
  EXPECT_EQ(specs[0].knob.max_batch_delay_us, 2000);
  EXPECT_EQ(specs[0].knob.queue_limit, 7u);
  EXPECT_EQ(specs[0].inputs, (strings{"str"}));
  EXPECT_EQ(specs[1].name, "p");
  EXPECT_FALSE(specs[1].batch);
  EXPECT_EQ(specs[1].knob.max_batch_size, 1u);
}

TEST_F(Batcher, JoinWithADifferentSignatureIsRefused) {
  add_echo("f", make_knobs(3));
  start();
  caf::scoped_actor self{sys};
  auto join = [&](ferry::transport::function_spec spec, std::uint32_t slots) {
    std::string answer = "<no answer>";
    self
      ->request(node().batcher(), caf::infinite, ferry::actors::join_atom::value,
                std::move(spec), caf::actor_cast<caf::actor>(self), slots)
      .receive([&](std::string& s) { answer = std::move(s); },
               [&](caf::error& err) { answer = "error: " + sys.render(err); });
    return answer;
  };
  auto spec = registry.find("f")->spec;
  spec.knob.max_batch_size = 5;
  EXPECT_TRUE(contains(join(spec, 1), "different signature or knobs"));
  EXPECT_EQ(join(registry.find("f")->spec, 0), "a worker must have at least one slot");
}

TEST_F(Batcher, WorkerAnsweringTheWrongCountIsWorkerLost) {
  start();
  caf::scoped_actor worker{sys};
  join_fake(worker, "fake");
  auto c = submit_watched("fake", 1);
  bool ran = false;
  worker->receive(
    [&](ferry::actors::run_atom, const std::vector<std::string>& args) {
      ran = args.size() == 1;
      return std::vector<outcome>{}; // zero outcomes for a batch of one
    },
    caf::after(ferry::test::guard) >> [] { ADD_FAILURE() << "no batch arrived"; });
  EXPECT_TRUE(ran);
  auto r = result_of(c);
  EXPECT_EQ(r.code, errc::worker_lost);
  EXPECT_EQ(r.body, "worker answered 0 outcomes for a batch of 1");
}

TEST_F(Batcher, FailedBatchIsRetriedThenWorkerLost) {
  start();
  caf::scoped_actor worker{sys};
  join_fake(worker, "flaky");
  auto c = submit_watched("flaky", 1);
  // The default retry budget is 2: the batch is offered three times.
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool got = false;
    worker->receive(
      [&](ferry::actors::run_atom, const std::vector<std::string>&)
        -> caf::result<std::vector<outcome>> {
        got = true;
        return caf::make_error(caf::sec::runtime_error);
      },
      caf::after(ferry::test::guard) >> [] {});
    ASSERT_TRUE(got) << "attempt " << attempt << " never arrived";
    if (attempt < 2) {
      EXPECT_FALSE(c.job.wait_for(0s)) << attempt;
    }
  }
  auto r = result_of(c);
  EXPECT_EQ(r.code, errc::worker_lost);
  EXPECT_TRUE(contains(r.body, "retries exhausted")) << r.body;
}

TEST_F(Batcher, BatchOfAWorkerThatDiedIsRunAgainElsewhere) {
  start();
  caf::scoped_actor survivor{sys};
  auto c = [&] {
    caf::scoped_actor doomed{sys};
    join_fake(doomed, "fn");   // first in line: it gets the batch
    join_fake(survivor, "fn");
    auto call = submit_watched("fn", "payload"s);
    caf::response_promise kept;
    EXPECT_EQ(take_and_keep(doomed, kept).size(), 1u);
    return call;
  }(); // `doomed` goes away holding the batch, never answering it
  bool ran = false;
  survivor->receive(
    [&](ferry::actors::run_atom, const std::vector<std::string>& args) {
      ran = args == std::vector<std::string>{ferry::transport::pack_array("payload"s)};
      return std::vector<outcome>{outcome::success(ferry::transport::pack_array("done"s))};
    },
    caf::after(ferry::test::guard) >> [] { ADD_FAILURE() << "batch was not re-queued"; });
  EXPECT_TRUE(ran);
  EXPECT_EQ(single_output<std::string>(result_of(c)), "done");
}

TEST_F(Batcher, WorkersDyingPastTheRetryBudgetEndWorkerLost) {
  start();
  auto c = [&] {
    caf::scoped_actor first{sys};
    join_fake(first, "fn");
    auto call = submit_watched("fn", "payload"s);
    caf::response_promise kept;
    EXPECT_EQ(take_and_keep(first, kept).size(), 1u);
    return call;
  }();
  // The default retry budget is 2: two more workers get it and die with it.
  for (int attempt = 1; attempt <= 2; ++attempt) {
    EXPECT_FALSE(c.job.wait_for(0s)) << attempt;
    caf::scoped_actor next{sys};
    join_fake(next, "fn");
    caf::response_promise kept;
    EXPECT_EQ(take_and_keep(next, kept).size(), 1u) << attempt;
  }
  auto r = result_of(c);
  EXPECT_EQ(r.code, errc::worker_lost);
  EXPECT_TRUE(contains(r.body, "retries exhausted")) << r.body;
}

} // namespace
