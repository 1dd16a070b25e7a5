// The embedded runtime end to end: typed functions with several inputs and
// outputs, per-request errors, many concurrent callers, calls from a CAF actor
// by request/response, and what happens to open calls when the runtime stops.

#include "tests/runtime/embedded_fixture.hpp"

#include "actors/messages.hpp"
#include "transport/codec.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using ferry::actors::call_atom;
using ferry::actors::call_reply;
using ferry::actors::call_request;
using ferry::actors::cancel_atom;
using ferry::actors::stage;
using ferry::actors::status_atom;
using ferry::actors::status_event;
using ferry::test::batch_log;
using ferry::test::contains;
using ferry::test::row_of;
using ferry::test::single_output;
using ferry::transport::errc;
using ferry::transport::knobs;
using ferry::transport::outcome;
using ferry::transport::pack_array;
using strings = std::vector<std::string>;

class Embedded : public ferry::test::embedded_fixture {
protected:
  /// trim(words, lens) -> (trimmed, was_trimmed); records the words of each
  /// batch in `seen` and the lengths in `lens_seen`, then waits at `release`.
  void add_trim(knobs k = {}) {
    registry.add_batch(
      "trim",
      [this](const std::vector<std::string>& words, const std::vector<std::int64_t>& lens) {
        seen.record(words);
        lens_seen.record(lens);
        release.pass();
        std::vector<std::string> out;
        std::vector<bool> cut;
        for (std::size_t i = 0; i < words.size(); ++i) {
          auto n = static_cast<std::size_t>(std::max<std::int64_t>(lens[i], 0));
          out.push_back(words[i].substr(0, n));
          cut.push_back(n < words[i].size());
        }
        return std::make_tuple(out, cut);
      },
      k);
  }

  /// echo(words) -> words + "!", recording batches and waiting at `release`.
  void add_echo(knobs k = {}) {
    registry.add_batch(
      "echo",
      [this](const std::vector<std::string>& words) {
        seen.record(words);
        release.pass();
        std::vector<std::string> out;
        for (const auto& w : words)
          out.push_back(w + "!");
        return out;
      },
      k);
  }

  /// Sends a call_request from `self` as a request, waits for the response
  /// and checks that it names the call's key.
  outcome request_from(caf::scoped_actor& self, call_request req) {
    auto key = req.key;
    outcome result = outcome::failure(errc::unavailable, "test: no answer");
    self->request(node().batcher(), caf::infinite, call_atom::value, std::move(req))
      .receive(
        [&](call_reply& reply) {
          EXPECT_EQ(reply.key, key);
          result = std::move(reply.result);
        },
        [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  /// Receives the response to an earlier request and checks its key.
  template <class Handle>
  outcome response_of(Handle& handle, std::uint64_t key) {
    outcome result = outcome::failure(errc::unavailable, "test: no answer");
    handle.receive(
      [&](call_reply& reply) {
        EXPECT_EQ(reply.key, key);
        result = std::move(reply.result);
      },
      [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return result;
  }

  /// Receives the next status event sent to `self`; fails after the guard.
  status_event next_status(caf::scoped_actor& self) {
    status_event got;
    got.batch_size = 9999;
    self->receive([&](status_atom, const status_event& ev) { got = ev; },
                  caf::after(ferry::test::guard) >> [] { ADD_FAILURE() << "no status event"; });
    return got;
  }

  batch_log<std::int64_t> lens_seen;
};

// -- several inputs and outputs ----------------------------------------------------

TEST_F(Embedded, MultipleInputsAndOutputsThroughTheRuntime) {
  add_trim();
  start();
  auto blocker = submit_watched("trim", "blocker"s, std::int64_t{2});
  ASSERT_TRUE(seen.wait_for_count(1));
  auto adam = enqueue("trim", "Adam"s, std::int64_t{3});
  auto mary = enqueue("trim", "Mary"s, std::int64_t{5});
  release.open();
  EXPECT_EQ((row_of<std::string, bool>(result_of(blocker))), std::make_tuple("bl"s, true));
  EXPECT_EQ((row_of<std::string, bool>(result_of(adam))), std::make_tuple("Ada"s, true));
  EXPECT_EQ((row_of<std::string, bool>(result_of(mary))), std::make_tuple("Mary"s, false));
  // One call of the function for both: (["Adam","Mary"], [3,5]).
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"blocker"}, {"Adam", "Mary"}}));
  EXPECT_EQ(lens_seen.batches(), (std::vector<std::vector<std::int64_t>>{{2}, {3, 5}}));
  // The blocking convenience call decodes the tuple of outputs.
  auto [word, cut] = client().call<std::tuple<std::string, bool>>("trim", "Eve"s, std::int64_t{9});
  EXPECT_EQ(word, "Eve");
  EXPECT_FALSE(cut);
}

TEST_F(Embedded, CallThrowsCallErrorWithTheCode) {
  add_echo();
  start();
  release.open();
  EXPECT_EQ(client().call<std::string>("echo", "hi"s), "hi!");
  try {
    (void)client().call<std::string>("echo", 42);
    ADD_FAILURE() << "no call_error";
  } catch (const ferry::runtime::call_error& e) {
    EXPECT_EQ(e.code(), errc::bad_args);
    EXPECT_TRUE(contains(e.what(), "bad_args: echo: argument 0 must be str, got int")) << e.what();
  }
  try {
    (void)client().call<std::int64_t>("echo", "hi"s); // result is a str
    ADD_FAILURE() << "no call_error";
  } catch (const ferry::runtime::call_error& e) {
    EXPECT_EQ(e.code(), errc::bad_output);
  }
}

// -- per-request errors ---------------------------------------------------------------

TEST_F(Embedded, BadArgsFailOnlyTheirRequest) {
  add_echo();
  start();
  auto blocker = submit_watched("echo", "blocker"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  auto good1 = enqueue("echo", "good1"s);
  auto wrong_type = enqueue("echo", std::int64_t{7});
  auto wrong_arity = enqueue("echo", "a"s, "b"s);
  auto good2 = enqueue("echo", "good2"s);
  release.open();
  EXPECT_EQ(single_output<std::string>(result_of(good1)), "good1!");
  EXPECT_EQ(single_output<std::string>(result_of(good2)), "good2!");
  auto r1 = result_of(wrong_type);
  EXPECT_EQ(r1.code, errc::bad_args);
  EXPECT_EQ(r1.body, "echo: argument 0 must be str, got int");
  auto r2 = result_of(wrong_arity);
  EXPECT_EQ(r2.code, errc::bad_args);
  EXPECT_EQ(r2.body, "echo: takes 1 argument(s), got 2");
  EXPECT_TRUE(result_of(blocker).ok());
  // All four boarded one batch; the function saw only the good two.
  EXPECT_EQ(seen.batches(), (std::vector<strings>{{"blocker"}, {"good1", "good2"}}));
  EXPECT_EQ(good1.status->events().back().batch_size, 4u);
}

TEST_F(Embedded, ThrowingFunctionFailsItsWholeBatchWithFnError) {
  registry.add_batch("fragile", [this](const std::vector<std::string>& words) {
    seen.record(words);
    release.pass();
    for (const auto& w : words)
      if (w == "boom")
        throw std::runtime_error("cannot take 'boom' in a batch of "
                                 + std::to_string(words.size()));
    return words;
  });
  start();
  auto blocker = submit_watched("fragile", "fine"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  auto x = enqueue("fragile", "x"s);
  auto boom = enqueue("fragile", "boom"s);
  auto y = enqueue("fragile", "y"s);
  release.open();
  EXPECT_EQ(single_output<std::string>(result_of(blocker)), "fine");
  for (auto* c : {&x, &boom, &y}) {
    auto r = result_of(*c);
    EXPECT_EQ(r.code, errc::fn_error);
    EXPECT_EQ(r.body, "cannot take 'boom' in a batch of 3");
  }
  // The next batch is unaffected.
  auto after = submit_watched("fragile", "after"s);
  EXPECT_EQ(single_output<std::string>(result_of(after)), "after");
}

TEST_F(Embedded, WrongOutputLengthIsBadOutputForTheWholeBatch) {
  registry.add_batch("lossy", [this](const std::vector<std::string>& words) {
    seen.record(words);
    release.pass();
    return std::vector<std::string>(words.begin(), words.end() - 1); // drops one
  });
  start();
  auto blocker = submit_watched("lossy", "b"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  auto a = enqueue("lossy", "a1"s);
  auto b = enqueue("lossy", "a2"s);
  release.open();
  auto rb = result_of(blocker);
  EXPECT_EQ(rb.code, errc::bad_output);
  EXPECT_EQ(rb.body, "lossy returned 1 output list(s) of lengths [0] for a batch of 1 "
                     "(expected 1 list(s) of length 1)");
  for (auto* c : {&a, &b}) {
    auto r = result_of(*c);
    EXPECT_EQ(r.code, errc::bad_output);
    EXPECT_EQ(r.body, "lossy returned 1 output list(s) of lengths [1] for a batch of 2 "
                      "(expected 1 list(s) of length 2)");
  }
}

TEST_F(Embedded, UnknownFunctionIsUnknownFn) {
  add_echo();
  start();
  auto c = submit_watched("no_such_fn", "x"s);
  auto r = result_of(c);
  EXPECT_EQ(r.code, errc::unknown_fn);
  EXPECT_EQ(r.body, "no function named 'no_such_fn'");
  EXPECT_TRUE(c.status->events().empty());
  EXPECT_EQ(seen.count(), 0u);
}

// -- many callers --------------------------------------------------------------------

TEST_F(Embedded, ManyConcurrentCallersEachGetTheirOwnResult) {
  knobs k;
  k.max_batch_size = 8;
  k.concurrency = 2;
  std::atomic<int> items{0};
  std::atomic<int> oversized{0};
  registry.add_batch(
    "affine",
    [&items, &oversized](const std::vector<std::int64_t>& xs,
                         const std::vector<std::string>& tags) {
      items += static_cast<int>(xs.size());
      if (xs.size() > 8)
        ++oversized;
      std::vector<std::int64_t> ys;
      std::vector<std::string> echoed;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        ys.push_back(3 * xs[i] + 1);
        echoed.push_back(tags[i] + "#" + std::to_string(xs[i]));
      }
      return std::make_tuple(ys, echoed);
    },
    k);
  start();
  constexpr int threads = 8;
  constexpr int per_thread = 50;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      std::vector<ferry::runtime::job> jobs;
      auto tag = "t" + std::to_string(t);
      // Half submitted at once, half one after another.
      for (int i = 0; i < per_thread / 2; ++i)
        jobs.push_back(client().submit("affine", std::int64_t{t * 1000 + i}, tag));
      for (int i = per_thread / 2; i < per_thread; ++i) {
        auto j = client().submit("affine", std::int64_t{t * 1000 + i}, tag);
        auto r = result_of(j);
        std::tuple<std::int64_t, std::string> row;
        if (!r.ok() || ferry::transport::unpack_tuple(r.body, row)
            || row != std::make_tuple(std::int64_t{3 * (t * 1000 + i) + 1},
                                      tag + "#" + std::to_string(t * 1000 + i)))
          ++wrong;
      }
      for (int i = 0; i < per_thread / 2; ++i) {
        auto r = result_of(jobs[static_cast<std::size_t>(i)]);
        std::tuple<std::int64_t, std::string> row;
        if (!r.ok() || ferry::transport::unpack_tuple(r.body, row)
            || row != std::make_tuple(std::int64_t{3 * (t * 1000 + i) + 1},
                                      tag + "#" + std::to_string(t * 1000 + i)))
          ++wrong;
      }
    });
  }
  for (auto& th : callers)
    th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(items.load(), threads * per_thread); // each call ran exactly once
  EXPECT_EQ(oversized.load(), 0);
}

// -- calls from a CAF actor -----------------------------------------------------------

TEST_F(Embedded, CafActorCallsByRequestResponse) {
  add_trim();
  start();
  release.open();
  caf::scoped_actor self{sys};
  call_request req;
  req.key = 7;
  req.fn = "trim";
  req.args = pack_array("Adam"s, std::int64_t{3});
  auto r = request_from(self, req);
  EXPECT_EQ((row_of<std::string, bool>(r)), std::make_tuple("Ada"s, true));

  req.key = 8;
  req.fn = "nope";
  auto unknown = request_from(self, req);
  EXPECT_EQ(unknown.code, errc::unknown_fn);
}

TEST_F(Embedded, CafActorCallsByAsynchronousMessages) {
  // Without request/response the reply comes back as a message; its key says
  // which call it answers.
  add_echo(knobs{1, 0, 1, 1024});
  start();
  caf::scoped_actor self{sys};
  for (std::uint64_t key : {31, 32, 33}) {
    call_request req;
    req.key = key;
    req.fn = "echo";
    req.args = pack_array("w" + std::to_string(key));
    self->send(node().batcher(), call_atom::value, std::move(req));
  }
  ASSERT_TRUE(seen.wait_for_count(1));
  release.open();
  std::vector<std::pair<std::uint64_t, std::string>> replies;
  for (int i = 0; i < 3; ++i)
    self->receive(
      [&](call_reply& reply) {
        replies.emplace_back(reply.key, single_output<std::string>(reply.result));
      },
      caf::after(ferry::test::guard) >> [] { ADD_FAILURE() << "no call_reply"; });
  std::sort(replies.begin(), replies.end());
  EXPECT_EQ(replies, (std::vector<std::pair<std::uint64_t, std::string>>{
                       {31, "w31!"}, {32, "w32!"}, {33, "w33!"}}));
}

TEST_F(Embedded, CafActorReceivesStatusEventsBeforeTheOutcome) {
  add_echo();
  start();
  release.open();
  caf::scoped_actor self{sys};
  call_request req;
  req.key = 11;
  req.fn = "echo";
  req.args = pack_array("hi"s);
  req.status = true;
  auto handle = self->request(node().batcher(), caf::infinite, call_atom::value, req);
  auto queued = next_status(self);
  EXPECT_EQ(queued.key, 11u);
  EXPECT_EQ(queued.what, stage::queued);
  EXPECT_EQ(queued.rank, 0u);
  auto started = next_status(self);
  EXPECT_EQ(started.key, 11u);
  EXPECT_EQ(started.what, stage::started);
  EXPECT_EQ(started.batch_size, 1u);
  EXPECT_EQ(single_output<std::string>(response_of(handle, 11)), "hi!");
}

TEST_F(Embedded, CafActorReusingAKeyInFlightGetsDuplicateId) {
  add_echo();
  start();
  caf::scoped_actor self{sys};
  call_request req;
  req.key = 5;
  req.fn = "echo";
  req.args = pack_array("first"s);
  auto first = self->request(node().batcher(), caf::infinite, call_atom::value, req);
  ASSERT_TRUE(seen.wait_for_count(1)); // running, so key 5 is in flight
  req.args = pack_array("second"s);
  auto dup = request_from(self, req);
  EXPECT_EQ(dup.code, errc::duplicate_id);
  EXPECT_EQ(dup.body, "call id 5 is still in flight");
  // Another actor may use the same key.
  caf::scoped_actor other{sys};
  req.args = pack_array("other"s);
  auto other_call = other->request(node().batcher(), caf::infinite, call_atom::value, req);
  release.open();
  EXPECT_EQ(single_output<std::string>(response_of(first, 5)), "first!");
  EXPECT_EQ(single_output<std::string>(response_of(other_call, 5)), "other!");
  // Once answered, the key is free again.
  req.args = pack_array("again"s);
  EXPECT_EQ(single_output<std::string>(request_from(self, req)), "again!");
  EXPECT_EQ(seen.items(), (strings{"first", "other", "again"}));
}

TEST_F(Embedded, CafActorCancelsByKey) {
  add_echo();
  start();
  auto blocker = submit_watched("echo", "blocker"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  caf::scoped_actor self{sys};
  call_request req;
  req.key = 21;
  req.fn = "echo";
  req.args = pack_array("doomed"s);
  req.status = true;
  auto handle = self->request(node().batcher(), caf::infinite, call_atom::value, req);
  EXPECT_EQ(next_status(self).what, stage::queued);
  self->send(node().batcher(), cancel_atom::value, std::uint64_t{21});
  auto r = response_of(handle, 21);
  EXPECT_EQ(r.code, errc::cancelled);
  EXPECT_EQ(r.body, "cancelled by the caller");
  release.open();
  EXPECT_TRUE(result_of(blocker).ok());
  auto after = submit_watched("echo", "after"s);
  EXPECT_TRUE(result_of(after).ok());
  EXPECT_EQ(seen.items(), (strings{"blocker", "after"}));
}

// -- shutdown -------------------------------------------------------------------------

TEST_F(Embedded, StoppingTheRuntimeAnswersEveryOpenCall) {
  add_echo(knobs{1, 0, 1, 1024});
  start();
  auto client_copy = client();
  auto running = submit_watched("echo", "running"s);
  ASSERT_TRUE(seen.wait_for_count(1));
  auto waiting = enqueue("echo", "waiting"s);
  stop(); // the embedded runtime goes away while both calls are open
  for (auto* c : {&running, &waiting}) {
    auto r = result_of(*c);
    EXPECT_EQ(r.code, errc::unavailable);
    EXPECT_EQ(r.body, "ferry is shutting down");
  }
  release.open();
  // A call to the stopped runtime is answered too.
  auto late = client_copy.submit("echo", "late"s);
  auto r = result_of(late);
  EXPECT_EQ(r.code, errc::unavailable);
  EXPECT_EQ(seen.items(), (strings{"running"}));
}

} // namespace
