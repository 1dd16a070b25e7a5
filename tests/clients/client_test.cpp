// The C++ client and the `ferry` command line against an in-process server:
// an embedded runtime behind one or two gateways bound on loopback. Waits are
// on events (gates, status events, replies); timeouts are failure guards only.

#include "tests/support/child_process.hpp"

#include "clients/client.hpp"
#include "clients/literal.hpp"

#include "actors/gateway.hpp"
#include "actors/messages.hpp"
#include "runtime/embedded.hpp"
#include "transport/codec.hpp"
#include "workers/function_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ferry::clients::call_error;
using ferry::clients::call_options;
using ferry::clients::client;
using ferry::clients::client_options;
using ferry::clients::job;
using ferry::clients::job_stage;
using ferry::clients::job_status;
using ferry::clients::parse_argument;
using ferry::clients::parse_literal;
using ferry::clients::timeout_error;
using ferry::test::child_process;
using ferry::test::contains;
using ferry::test::gate;
using ferry::test::guard;
using ferry::transport::errc;
using ferry::transport::value;

/// The status events one job received, filled on the client's I/O thread.
class status_log {
public:
  void add(const job_status& st) {
    // Notified under the lock: a waiter that returns may destroy the log.
    std::lock_guard<std::mutex> lock{mtx_};
    events_.push_back(st);
    cv_.notify_all();
  }

  /// True once an event of `stage` arrived; false after the guard.
  [[nodiscard]] bool wait_for(job_stage stage) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, guard, [&] {
      return std::any_of(events_.begin(), events_.end(),
                         [&](const job_status& e) { return e.stage == stage; });
    });
  }

  [[nodiscard]] std::vector<job_status> events() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return events_;
  }

  call_options options() {
    call_options opts;
    opts.on_status = [this](const job_status& st) { add(st); };
    return opts;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<job_status> events_;
};

/// Owns an actor_system, a registry of small test functions, an embedded
/// runtime and its gateways on tcp://127.0.0.1:*. The gate and logs are
/// declared before the actor_system so they outlive every worker thread; the
/// destructor opens the gate first, so a failing test never leaves a worker
/// blocked.
///
///   add(int64, int64) -> int64           plain
///   trim_words(str, int64) -> str        batched, 8 per batch
///   split(str) -> (str, int64)           plain, two outputs
///   fail(int64) -> int64                 plain, throws "boom"
///   hold(int64) -> int64                 plain, waits at `release`
///   twice(int64) -> int64                batched, 8 per batch
class client_fixture : public ::testing::Test {
protected:
  client_fixture() : sys(configure(cfg)) {
    registry.add("add", [](std::int64_t a, std::int64_t b) { return a + b; });
    ferry::transport::knobs eight;
    eight.max_batch_size = 8;
    registry.add_batch(
      "trim_words",
      [](const std::vector<std::string>& words, const std::vector<std::int64_t>& lens) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < words.size(); ++i)
          out.push_back(words[i].substr(0, static_cast<std::size_t>(std::max<std::int64_t>(lens[i], 0))));
        return out;
      },
      eight);
    registry.add("split", [](const std::string& s) {
      return std::make_tuple(s, static_cast<std::int64_t>(s.size()));
    });
    registry.add("fail", [](std::int64_t) -> std::int64_t { throw std::runtime_error("boom"); });
    registry.add("hold", [this](std::int64_t x) {
      ++held;
      release.pass();
      return x;
    });
    registry.add_batch(
      "twice",
      [](const std::vector<std::int64_t>& xs) {
        std::vector<std::int64_t> out;
        for (auto x : xs)
          out.push_back(2 * x);
        return out;
      },
      eight);
  }

  ~client_fixture() override {
    release.open();
    gateways.clear();
    node.reset();
  }

  static caf::actor_system_config& configure(caf::actor_system_config& c) {
    ferry::actors::add_message_types(c);
    c.set("scheduler.max-threads", 2);
    return c;
  }

  /// Starts the runtime with `n` gateways sharing its batcher.
  void start(std::size_t n = 1) {
    node.emplace(sys, registry);
    for (std::size_t i = 0; i < n; ++i)
      add_gateway();
  }

  void add_gateway(std::string ep = "tcp://127.0.0.1:*",
                   std::size_t max_message_size = 4 * 1024 * 1024) {
    ferry::actors::gateway_config gc;
    gc.endpoints = {std::move(ep)};
    gc.max_message_size = max_message_size;
    gateways.push_back(std::make_unique<ferry::actors::gateway>(sys, node->batcher(), gc));
  }

  std::string endpoint(std::size_t i = 0) const {
    return gateways.at(i)->endpoints().front();
  }

  /// Submits a call of `hold` and returns once it runs (holding the one
  /// worker of `hold` until `release` opens).
  job submit_running_hold(client& c, status_log& log, std::int64_t x = 1) {
    auto j = c.submit(log.options(), "hold", x);
    EXPECT_TRUE(log.wait_for(job_stage::started)) << "hold never started";
    return j;
  }

  static ferry::transport::server_reply reply_of(const job& j) {
    auto rep = j.result(guard);
    if (!rep) {
      ADD_FAILURE() << "no reply within the guard";
      return {};
    }
    return *rep;
  }

  gate release;
  std::atomic<int> held{0};

  caf::actor_system_config cfg;
  caf::actor_system sys;
  ferry::workers::function_registry registry;
  std::optional<ferry::runtime::embedded> node;
  std::vector<std::unique_ptr<ferry::actors::gateway>> gateways;
};

/// A loopback TCP port that refuses connections: bound, never listening.
class refused_port {
public:
  refused_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~refused_port() { ::close(fd_); }
  refused_port(const refused_port&) = delete;
  refused_port& operator=(const refused_port&) = delete;

  [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }

private:
  int fd_ = -1;
  std::string endpoint_;
};

// -- typed calls and errors ----------------------------------------------------

using Client = client_fixture;

TEST_F(Client, TypedCallRoundTrip) {
  start();
  client c{endpoint()};
  EXPECT_EQ(c.call<std::int64_t>("add", std::int64_t{2}, std::int64_t{3}), 5);
  EXPECT_EQ(c.call<std::string>("trim_words", std::string{"Adam"}, std::int64_t{3}), "Ada");
  auto [word, len] = c.call<std::tuple<std::string, std::int64_t>>("split", std::string{"hello"});
  EXPECT_EQ(word, "hello");
  EXPECT_EQ(len, 5);
  // Arguments of any packable type; values for callers that type at runtime.
  EXPECT_EQ(c.call<std::int64_t>("add", 40, value{2}), 42);
}

TEST_F(Client, ErrorRepliesBecomeCallErrors) {
  start();
  client c{endpoint()};
  auto code_of = [&](auto&& f) {
    try {
      f();
    } catch (const call_error& e) {
      EXPECT_FALSE(e.message().empty());
      EXPECT_TRUE(contains(e.what(), std::string{ferry::transport::to_string(e.code())}));
      return e.code();
    }
    ADD_FAILURE() << "no call_error";
    return errc::none;
  };
  EXPECT_EQ(code_of([&] { c.call<std::int64_t>("no_such_fn", 1); }), errc::unknown_fn);
  EXPECT_EQ(code_of([&] { c.call<std::int64_t>("add", 1); }), errc::bad_args);
  EXPECT_EQ(code_of([&] { c.call<std::int64_t>("add", 1, std::string{"x"}); }), errc::bad_args);
  EXPECT_EQ(code_of([&] { c.call<std::int64_t>("fail", 1); }), errc::fn_error);
  // The outputs do not convert to what the caller asked for.
  EXPECT_EQ(code_of([&] { c.call<std::string>("add", 1, 2); }), errc::bad_output);
  EXPECT_EQ(code_of([&] { c.call<std::tuple<std::int64_t, std::int64_t>>("add", 1, 2); }),
            errc::bad_output);
  try {
    c.call<std::int64_t>("fail", 1);
  } catch (const call_error& e) {
    EXPECT_TRUE(contains(e.message(), "boom")) << e.message();
  }
}

TEST_F(Client, SubmitReturnsTheRawReply) {
  start();
  client c{endpoint()};
  auto j = c.submit_packed("add", ferry::transport::pack_array(7, 8));
  auto rep = reply_of(j);
  EXPECT_EQ(rep.type, "result");
  EXPECT_EQ(ferry::transport::unpack_value(rep.data), value(value::array{15}));
  EXPECT_EQ(j.status().stage, job_stage::done);
  EXPECT_FALSE(j.status().ended_locally);
  EXPECT_EQ(j.status().gateway, endpoint());
  EXPECT_EQ(j.get<std::int64_t>(), 15); // a job's result can be read again
  auto k = c.submit("add", 1, 1);
  EXPECT_NE(j.id(), k.id());
  EXPECT_EQ(k.get<std::int64_t>(guard), 2);
}

TEST_F(Client, PingAndInfo) {
  start();
  client c{endpoint()};
  auto rtt = c.ping(guard);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_GT(rtt->count(), 0);
  auto info = c.info(guard);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->version.empty());
  std::map<std::string, ferry::transport::function_spec> by_name;
  for (const auto& f : info->functions)
    by_name[f.name] = f;
  ASSERT_EQ(by_name.count("add"), 1u);
  EXPECT_FALSE(by_name["add"].batch);
  EXPECT_EQ(by_name["add"].inputs, (std::vector<std::string>{"int64", "int64"}));
  EXPECT_EQ(by_name["add"].outputs, (std::vector<std::string>{"int64"}));
  ASSERT_EQ(by_name.count("trim_words"), 1u);
  EXPECT_TRUE(by_name["trim_words"].batch);
  EXPECT_EQ(by_name["trim_words"].knob.max_batch_size, 8u);
  EXPECT_EQ(by_name["trim_words"].inputs, (std::vector<std::string>{"str", "int64"}));
}

// -- status, cancel, deadlines ---------------------------------------------------

TEST_F(Client, StatusEventsArriveInOrderBeforeTheResult) {
  start();
  client c{endpoint()};
  status_log first_log;
  auto first = submit_running_hold(c, first_log, 1);
  status_log log;
  auto second = c.submit(log.options(), "hold", std::int64_t{2});
  ASSERT_TRUE(log.wait_for(job_stage::queued));
  auto st = second.status();
  EXPECT_EQ(st.stage, job_stage::queued);
  EXPECT_EQ(st.rank, 0u);
  EXPECT_EQ(st.queue_size, 1u);
  EXPECT_FALSE(second.result(0ms).has_value());
  release.open();
  EXPECT_EQ(second.get<std::int64_t>(guard), 2);
  EXPECT_EQ(first.get<std::int64_t>(guard), 1);
  // Every callback ran before the result was ready.
  auto events = log.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].stage, job_stage::queued);
  EXPECT_EQ(events[0].rank, 0u);
  EXPECT_EQ(events[1].stage, job_stage::started);
  EXPECT_EQ(events[1].batch_size, 1u);
  EXPECT_EQ(second.status().stage, job_stage::done);
  auto first_events = first_log.events();
  ASSERT_EQ(first_events.size(), 2u);
  EXPECT_EQ(first_events[0].stage, job_stage::queued);
  EXPECT_EQ(first_events[1].stage, job_stage::started);
}

TEST_F(Client, StatusWithoutCallbackUpdatesTheJob) {
  start();
  client c{endpoint()};
  status_log first_log;
  auto first = submit_running_hold(c, first_log);
  call_options opts;
  opts.status = true;
  auto second = c.submit(opts, "hold", std::int64_t{2});
  // Its queued event is on its way behind the started one of `first`; a
  // third call with a callback tells when the gateway has sent both.
  status_log third_log;
  auto third = c.submit(third_log.options(), "hold", std::int64_t{3});
  ASSERT_TRUE(third_log.wait_for(job_stage::queued));
  EXPECT_EQ(second.status().stage, job_stage::queued);
  release.open();
  EXPECT_EQ(second.get<std::int64_t>(guard), 2);
  EXPECT_EQ(third.get<std::int64_t>(guard), 3);
}

TEST_F(Client, CancelEndsAWaitingCall) {
  start();
  client c{endpoint()};
  status_log first_log;
  auto first = submit_running_hold(c, first_log);
  status_log log;
  auto waiting = c.submit(log.options(), "hold", std::int64_t{2});
  ASSERT_TRUE(log.wait_for(job_stage::queued));
  waiting.cancel();
  auto rep = reply_of(waiting);
  EXPECT_EQ(rep.type, "error");
  EXPECT_EQ(rep.code, errc::cancelled);
  EXPECT_FALSE(waiting.status().ended_locally); // the gateway said so
  waiting.cancel(); // no effect once ended
  release.open();
  EXPECT_EQ(first.get<std::int64_t>(guard), 1);
  EXPECT_EQ(held.load(), 1); // the cancelled call never ran
}

TEST_F(Client, CancelEndsARunningCallAtOnce) {
  start();
  client c{endpoint()};
  status_log log;
  auto running = submit_running_hold(c, log);
  running.cancel();
  auto rep = reply_of(running);
  EXPECT_EQ(rep.code, errc::cancelled);
}

TEST_F(Client, CancelBeforeSendingEndsHere) {
  refused_port nobody;
  client c{nobody.endpoint()};
  auto j = c.submit("add", 1, 2);
  EXPECT_EQ(j.status().stage, job_stage::submitted);
  j.cancel();
  auto rep = reply_of(j);
  EXPECT_EQ(rep.code, errc::cancelled);
  EXPECT_TRUE(j.status().ended_locally);
  EXPECT_FALSE(c.ping(50ms).has_value());
}

TEST_F(Client, DeadlineEndsAWaitingCall) {
  start();
  client c{endpoint()};
  status_log log;
  auto first = submit_running_hold(c, log);
  call_options opts;
  opts.deadline = 50ms;
  try {
    c.call<std::int64_t>(opts, "hold", std::int64_t{2});
    ADD_FAILURE() << "no deadline_exceeded";
  } catch (const call_error& e) {
    EXPECT_EQ(e.code(), errc::deadline_exceeded);
  }
  release.open();
  EXPECT_EQ(first.get<std::int64_t>(guard), 1);
}

TEST_F(Client, CallTimeoutThrowsAndCancels) {
  start();
  client_options co;
  co.endpoints = {endpoint()};
  co.call_timeout = 100ms;
  client c{co};
  EXPECT_THROW(c.call<std::int64_t>("hold", std::int64_t{1}), timeout_error);
  // The timed-out call was cancelled at the server: the worker it held is
  // busy until released, yet a new call of another function goes through.
  EXPECT_EQ(c.call<std::int64_t>("add", 1, 2), 3);
}

TEST_F(Client, WaitingInsideAStatusCallbackThrows) {
  start();
  client c{endpoint()};
  auto done = c.submit("add", 1, 2);
  EXPECT_EQ(done.get<std::int64_t>(guard), 3);
  std::atomic<int> refused{0};
  std::atomic<int> looked{0};
  call_options opts;
  opts.on_status = [&](const job_status&) {
    try {
      (void) done.result(); // would wait on the thread that delivers replies
    } catch (const std::logic_error&) {
      ++refused;
    }
    if (done.result(0ms)) // only looks: fine anywhere
      ++looked;
  };
  EXPECT_EQ(c.call<std::int64_t>(opts, "add", 2, 2), 4);
  EXPECT_EQ(refused.load(), 2); // queued and started
  EXPECT_EQ(looked.load(), 2);
}

// -- connections ------------------------------------------------------------------

TEST_F(Client, SeveralGatewaysShareTheCalls) {
  start(2);
  client_options co;
  co.endpoints = {endpoint(0), endpoint(1)};
  client c{co};
  // Both links are up once both answer a ping; calls then alternate.
  auto rtts = c.ping_each(guard);
  ASSERT_EQ(rtts.size(), 2u);
  ASSERT_TRUE(rtts[0].has_value());
  ASSERT_TRUE(rtts[1].has_value());
  std::vector<job> jobs;
  for (int i = 0; i < 20; ++i)
    jobs.push_back(c.submit("twice", std::int64_t{i}));
  std::map<std::string, int> per_gateway;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(jobs[static_cast<std::size_t>(i)].get<std::int64_t>(guard), 2 * i);
    ++per_gateway[jobs[static_cast<std::size_t>(i)].status().gateway];
  }
  EXPECT_EQ(per_gateway[endpoint(0)], 10);
  EXPECT_EQ(per_gateway[endpoint(1)], 10);
}

TEST_F(Client, AGatewayDownLeavesTheOthers) {
  start(1);
  refused_port nobody;
  client_options co;
  co.endpoints = {nobody.endpoint(), endpoint()};
  client c{co};
  auto rtts = c.ping_each(200ms);
  EXPECT_FALSE(rtts[0].has_value());
  EXPECT_TRUE(rtts[1].has_value());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(c.call<std::int64_t>("add", i, 1), i + 1);
}

TEST_F(Client, LostConnectionEndsItsCalls) {
  start();
  client c{endpoint()};
  status_log log;
  auto running = submit_running_hold(c, log);
  gateways.clear(); // the gateway goes away with the call in flight
  auto rep = reply_of(running);
  EXPECT_EQ(rep.code, errc::unavailable);
  EXPECT_TRUE(running.status().ended_locally);
  EXPECT_TRUE(contains(rep.message, "lost the connection")) << rep.message;
}

TEST_F(Client, ClosingTheClientEndsItsJobs) {
  start();
  std::optional<job> running;
  {
    client c{endpoint()};
    status_log log;
    running = submit_running_hold(c, log);
  }
  auto rep = reply_of(*running);
  EXPECT_EQ(rep.code, errc::unavailable);
  EXPECT_TRUE(running->status().ended_locally);
  running->cancel(); // the client is gone: no effect
  // The call it left running was cancelled at the server, although `hold`
  // still blocks: nothing is in flight at the gateway any more.
  gateways[0]->drain();
  EXPECT_TRUE(gateways[0]->wait_drained(guard));
}

TEST_F(Client, ReconnectsToARestartedGateway) {
  start();
  auto ep = endpoint();
  client c{ep};
  EXPECT_EQ(c.call<std::int64_t>("add", 1, 2), 3);
  gateways.clear();
  add_gateway(ep); // the same port again
  // ZeroMQ reconnects in the background. A ping sent before the client saw
  // the old connection drop ends `unavailable`; the first one after the
  // reconnect gets its pong.
  auto until = std::chrono::steady_clock::now() + guard;
  bool pong = false;
  while (!pong && std::chrono::steady_clock::now() < until)
    pong = c.ping(guard).has_value();
  EXPECT_TRUE(pong);
  EXPECT_EQ(c.call<std::int64_t>("add", 2, 2), 4);
}

TEST_F(Client, MessageLevelRejectionsReachTheirJob) {
  node.emplace(sys, registry);
  add_gateway("tcp://127.0.0.1:*", 512);
  client c{endpoint()};
  try {
    c.call<std::string>("split", std::string(1000, 'x'));
    ADD_FAILURE() << "no too_large";
  } catch (const call_error& e) {
    EXPECT_EQ(e.code(), errc::too_large);
  }
  EXPECT_EQ(c.call<std::int64_t>("add", 1, 2), 3);
}

TEST_F(Client, RejectsBadEndpoints) {
  EXPECT_THROW(client{"nonsense://x"}, std::invalid_argument);
  EXPECT_THROW((client{client_options{{}, 0ms}}), std::invalid_argument);
}

TEST_F(Client, ManyThreadsEachGetTheirOwnResults) {
  start();
  client c{endpoint()};
  constexpr int threads = 8;
  constexpr int calls = 50;
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      // Half the calls in flight together, half one by one.
      std::vector<std::pair<std::int64_t, job>> jobs;
      for (int i = 0; i < calls; ++i) {
        std::int64_t x = t * 1000 + i;
        if (i % 2 == 0) {
          jobs.emplace_back(x, c.submit("twice", x));
        } else {
          try {
            if (c.call<std::int64_t>("twice", x) != 2 * x)
              ++wrong;
          } catch (const std::exception&) {
            ++wrong;
          }
        }
      }
      for (auto& [x, j] : jobs) {
        try {
          if (j.get<std::int64_t>(guard) != 2 * x)
            ++wrong;
        } catch (const std::exception&) {
          ++wrong;
        }
      }
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// -- literals -----------------------------------------------------------------------

value lit(const std::string& text) {
  std::string err;
  auto v = parse_literal(text, &err);
  EXPECT_TRUE(v.has_value()) << text << ": " << err;
  if (!v)
    return value{};
  return std::move(*v);
}

std::string lit_error(const std::string& text) {
  std::string err;
  auto v = parse_literal(text, &err);
  EXPECT_FALSE(v.has_value()) << text << " parsed as " << (v ? to_string(*v) : "");
  return err;
}

TEST(Literal, Scalars) {
  EXPECT_EQ(lit("null"), value{});
  EXPECT_EQ(lit("true"), value{true});
  EXPECT_EQ(lit(" false "), value{false});
  EXPECT_EQ(lit("0"), value{0});
  EXPECT_EQ(lit("42"), value{42});
  EXPECT_EQ(lit("-7"), value{-7});
  EXPECT_EQ(lit("-9223372036854775808"), value{INT64_MIN});
  EXPECT_EQ(lit("18446744073709551615"), value{UINT64_MAX});
  EXPECT_EQ(lit("1.5"), value{1.5});
  EXPECT_EQ(lit("-2e3"), value{-2000.0});
  EXPECT_EQ(lit("2.5E-1"), value{0.25});
  EXPECT_TRUE(lit("3").get_if<std::int64_t>() != nullptr);
  EXPECT_TRUE(lit("3.0").get_if<double>() != nullptr);
}

TEST(Literal, Strings) {
  EXPECT_EQ(lit(R"("hello")"), value{"hello"});
  EXPECT_EQ(lit(R"("")"), value{""});
  EXPECT_EQ(lit(R"("a\"b\\c\/d\n\t\r\b\f")"), value{"a\"b\\c/d\n\t\r\b\f"});
  EXPECT_EQ(lit(R"("\u00e9")"), value{"\xc3\xa9"});
  EXPECT_EQ(lit(R"("\u20AC")"), value{"\xe2\x82\xac"});
  EXPECT_EQ(lit(R"("\ud83d\ude00")"), value{"\xf0\x9f\x98\x80"});
  EXPECT_EQ(lit(R"("caf\u00e9 ok")"), value{"caf\xc3\xa9 ok"});
  EXPECT_EQ(lit(R"(b"00ff10")"), value(ferry::transport::bytes{0x00, 0xff, 0x10}));
  EXPECT_EQ(lit(R"(b"")"), value{ferry::transport::bytes{}});
}

TEST(Literal, ArraysAndMaps) {
  EXPECT_EQ(lit("[]"), value{value::array{}});
  EXPECT_EQ(lit(R"([1, "a", [true, null], 2.5])"),
            value(value::array{1, "a", value::array{true, nullptr}, 2.5}));
  EXPECT_EQ(lit(R"({"k": 1, "m": {"n": []}})"),
            value(value::map{{"k", 1}, {"m", value::map{{"n", value::array{}}}}}));
  EXPECT_EQ(lit("{1: 2}"), value(value::map{{1, 2}}));
  EXPECT_EQ(lit(" [ 1 , 2 ] "), value(value::array{1, 2}));
  // What transport::to_string prints parses back to the same value.
  auto v = value(value::array{"x\"y", -3, value::map{{"a", ferry::transport::bytes{1}}}});
  EXPECT_EQ(lit(to_string(v)), v);
}

TEST(Literal, Errors) {
  EXPECT_TRUE(contains(lit_error(R"("abc)"), "unterminated string"));
  EXPECT_TRUE(contains(lit_error("[1, 2"), "unterminated array"));
  EXPECT_TRUE(contains(lit_error("[1 2]"), "expected ',' or ']'"));
  EXPECT_TRUE(contains(lit_error(R"({"a" 1})"), "expected ':'"));
  EXPECT_TRUE(contains(lit_error("1 2"), "after the literal"));
  EXPECT_TRUE(contains(lit_error(R"("\x")"), "unknown escape"));
  EXPECT_TRUE(contains(lit_error(R"("\u12")"), "four hex digits"));
  EXPECT_TRUE(contains(lit_error(R"("\ud83d")"), "surrogate"));
  EXPECT_TRUE(contains(lit_error(R"(b"abc")"), "hex digits"));
  EXPECT_TRUE(contains(lit_error("99999999999999999999"), "out of range"));
  EXPECT_TRUE(contains(lit_error("1e999"), "out of range"));
  EXPECT_TRUE(contains(lit_error("1."), "digit"));
  EXPECT_TRUE(contains(lit_error("Adam"), "expected a literal"));
  EXPECT_TRUE(contains(lit_error(""), "expected a literal"));
  EXPECT_TRUE(contains(lit_error(std::string(100, '[') + std::string(100, ']')), "nests deeper"));
  EXPECT_TRUE(contains(lit_error("[1, }"), "offset 4"));
}

TEST(Literal, ArgumentsFallBackToBareWords) {
  auto arg = [](const std::string& text) {
    std::string err;
    auto v = parse_argument(text, &err);
    EXPECT_TRUE(v.has_value()) << text << ": " << err;
    if (!v)
      return value{};
    return std::move(*v);
  };
  EXPECT_EQ(arg("Adam"), value{"Adam"});
  EXPECT_EQ(arg("3"), value{3});
  EXPECT_EQ(arg("-3"), value{-3});
  EXPECT_EQ(arg("007"), value{"007"});
  EXPECT_EQ(arg("+5"), value{"+5"});
  EXPECT_EQ(arg("-"), value{"-"});
  EXPECT_EQ(arg("3abc"), value{"3abc"});
  EXPECT_EQ(arg("truest"), value{"truest"});
  EXPECT_EQ(arg("hello world"), value{"hello world"});
  EXPECT_EQ(arg(""), value{""});
  EXPECT_EQ(arg(R"("42")"), value{"42"});
  EXPECT_EQ(arg(R"(["Adam","Mary"])"), value(value::array{"Adam", "Mary"}));
  for (auto bad : {R"("open)", "[1,", "{", R"(b"0)", "99999999999999999999", " [x]"}) {
    std::string err;
    EXPECT_FALSE(parse_argument(bad, &err).has_value()) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

// -- the ferry command line ----------------------------------------------------------

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs the real `ferry` binary with `args`, collecting stdout and stderr
/// until it exits. Killed (and reported) if it outlives the guard; always
/// reaped.
run_result run_ferry(const std::vector<std::string>& args) {
  run_result r;
  std::optional<child_process> cli;
  try {
    cli.emplace("ferry", FERRY_CLI_PATH, args);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot spawn " << FERRY_CLI_PATH << ": " << e.what();
    return r;
  }
  auto status = cli->wait_exit(guard);
  bool killed = !status;
  if (killed) {
    cli->signal(SIGKILL);
    status = cli->wait_exit(guard);
  }
  EXPECT_FALSE(killed) << "ferry did not exit within the guard";
  r.out = cli->stdout_text();
  r.err = cli->stderr_text();
  if (status)
    r.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
  return r;
}

using Cli = client_fixture;

TEST_F(Cli, Ping) {
  start(2);
  auto r = run_ferry({"ping", "--endpoint", endpoint(0), "--endpoint=" + endpoint(1)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "pong from " + endpoint(0) + " in ")) << r.out;
  EXPECT_TRUE(contains(r.out, "pong from " + endpoint(1) + " in ")) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, PingOfAnUnreachableGatewayExits3) {
  start();
  refused_port nobody;
  auto r = run_ferry({"ping", "--endpoint", endpoint(), "--endpoint", nobody.endpoint(),
                      "--timeout-ms", "300"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.out, "pong from " + endpoint())) << r.out;
  EXPECT_TRUE(contains(r.err, "error unreachable: no pong from " + nobody.endpoint())) << r.err;
}

TEST_F(Cli, Info) {
  start();
  auto r = run_ferry({"info", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ferry")) << r.out;
  EXPECT_TRUE(contains(r.out, "add(int64, int64) -> int64  [plain")) << r.out;
  EXPECT_TRUE(contains(r.out, "trim_words(str, int64) -> str  [batch max_batch_size=8"))
    << r.out;
  EXPECT_TRUE(contains(r.out, "split(str) -> (str, int64)")) << r.out;
}

TEST_F(Cli, CallPrintsOneLinePerOutput) {
  start();
  auto r = run_ferry({"call", "add", "2", "3", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5\n");
  EXPECT_EQ(r.err, "");
  r = run_ferry({"--endpoint", endpoint(), "call", "trim_words", "Adam", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"Ada\"\n");
  r = run_ferry({"call", "split", R"("he said \"hi\"")", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"he said \\\"hi\\\"\"\n12\n");
  r = run_ferry({"call", "--endpoint", endpoint(), "add", "--", "-4", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "-3\n");
}

TEST_F(Cli, CallWithStatusPrintsEventsToStderr) {
  start();
  auto r = run_ferry({"call", "add", "1", "2", "--status", "--deadline-ms", "5000",
                      "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "3\n");
  auto queued = r.err.find("status queued rank=0");
  auto started = r.err.find("status started batch_size=1");
  EXPECT_NE(queued, std::string::npos) << r.err;
  EXPECT_NE(started, std::string::npos) << r.err;
  EXPECT_LT(queued, started) << r.err;
}

TEST_F(Cli, CallErrorsGoToStderrWithExit1) {
  start();
  auto r = run_ferry({"call", "add", "2", "x", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "error bad_args: ")) << r.err;
  r = run_ferry({"call", "nope", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error unknown_fn: ")) << r.err;
  r = run_ferry({"call", "fail", "1", "--endpoint", endpoint()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error fn_error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "boom")) << r.err;
}

TEST_F(Cli, UsageErrorsExit2) {
  start();
  for (const auto& args : std::vector<std::vector<std::string>>{
         {},
         {"bogus"},
         {"call"},
         {"call", "add", "[1,", "--endpoint", endpoint()},
         {"call", "add", "1", "--deadline-ms", "soon"},
         {"call", "add", "1", "--timeout-ms", "0"},
         {"call", "add", "1", "--frobnicate"},
         {"info", "extra"},
         {"ping", "--status"},
         {"ping", "--endpoint", "nonsense://x"},
       }) {
    auto r = run_ferry(args);
    std::string joined;
    for (const auto& a : args)
      joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << joined;
    EXPECT_EQ(r.out, "") << joined;
  }
}

TEST_F(Cli, Help) {
  for (const auto& args : std::vector<std::vector<std::string>>{
         {"--help"}, {"help"}, {"call", "--help"}, {"help", "call"}, {"info", "-h"},
         {"ping", "--help"}}) {
    auto r = run_ferry(args);
    EXPECT_EQ(r.exit_code, 0) << args.front();
    EXPECT_TRUE(contains(r.out, "usage: ferry")) << r.out;
  }
  EXPECT_TRUE(contains(run_ferry({"call", "--help"}).out, "--deadline-ms"));
}

TEST_F(Cli, UnreachableOrSilentExits3) {
  start();
  refused_port nobody;
  auto r = run_ferry({"call", "add", "1", "2", "--endpoint", nobody.endpoint(),
                      "--timeout-ms", "300"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "error unreachable: ")) << r.err;
  r = run_ferry({"info", "--endpoint", nobody.endpoint(), "--timeout-ms", "300"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "error unreachable: ")) << r.err;
  // A call that does not end in time is cancelled and reported.
  r = run_ferry({"call", "hold", "1", "--endpoint", endpoint(), "--timeout-ms", "300"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "error timeout: ")) << r.err;
}

} // namespace
