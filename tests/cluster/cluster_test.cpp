// Multi-process tests of the cluster: each test starts the real head daemon
// (ferryd) and worker nodes (ferry_test_worker --join), drives calls through
// the head's gateway over loopback with a raw ZeroMQ DEALER (client protocol
// v1 via transport/protocol.hpp), and does to the nodes what happens to
// machines: SIGKILL, SIGSTOP/SIGCONT, SIGTERM, a head that dies and comes back.
// Tests wait for the log lines the processes print (events), never for time;
// timeouts are failure guards only, and the one fixed wait is a 200 ms quiet
// window after a barrier that checks no duplicate reply trails in.

#include "tests/support/child_process.hpp"

#include "transport/codec.hpp"
#include "transport/error_code.hpp"
#include "transport/protocol.hpp"
#include "transport/value.hpp"

#include <gtest/gtest.h>
#include <zmq.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ferry::test::child_process;
using ferry::test::contains;
using ferry::test::guard;
using ferry::transport::errc;
using ferry::transport::server_reply;
using clock_type = std::chrono::steady_clock;

// -- the client -------------------------------------------------------------------

std::optional<std::int64_t> id_of(const server_reply& r) {
  auto v = ferry::transport::unpack_value(r.id);
  if (!v)
    return std::nullopt;
  if (auto i = v->get_if<std::int64_t>())
    return *i;
  return std::nullopt;
}

/// The node tag a `where`/`slow_where` result carries; empty for anything else.
std::string tag_of(const server_reply& r) {
  if (r.type != "result")
    return {};
  auto v = ferry::transport::unpack_value(r.data);
  if (!v)
    return {};
  auto row = v->get_if<ferry::transport::value::array>();
  if (!row || row->size() != 1)
    return {};
  auto s = (*row)[0].get_if<std::string>();
  return s ? *s : std::string{};
}

std::string show(const server_reply& r) {
  auto id = id_of(r);
  std::string out = r.type + " id=" + (id ? std::to_string(*id) : "?");
  if (r.type == "error")
    out += " " + std::string{to_string(r.code)} + ": " + r.message;
  if (r.type == "result")
    out += " from " + tag_of(r);
  return out;
}

bool is_terminal(const server_reply& r) {
  return r.type == "result" || r.type == "error";
}

/// A client of the head's gateway: one DEALER socket, many calls in flight,
/// ids are int64. Keeps every reply it receives, by id.
class test_client {
public:
  test_client(zmq::context_t& ctx, const std::string& endpoint)
    : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }

  /// Calls `fn(ms)` (where, slow_where) as call `id`.
  void call(std::int64_t id, const std::string& fn, std::int64_t ms,
            std::int64_t deadline_ms = -1) {
    auto body = ferry::transport::encode_call(ferry::transport::pack(id), fn,
                                              ferry::transport::pack_array(ms), deadline_ms);
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
    sent_.insert(id);
  }

  /// Calls ids [first, first + n) at once; returns the ids.
  std::vector<std::int64_t> call_many(std::int64_t first, int n, const std::string& fn,
                                      std::int64_t ms) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(first + i);
      call(first + i, fn, ms);
    }
    return ids;
  }

  /// Receives until every id in `ids` has a terminal reply; false after the
  /// timeout.
  [[nodiscard]] bool await_terminals(const std::vector<std::int64_t>& ids,
                                     std::chrono::milliseconds timeout = guard) {
    auto deadline = clock_type::now() + timeout;
    auto done = [&] {
      for (auto id : ids)
        if (terminals(id).empty())
          return false;
      return true;
    };
    while (!done())
      if (!receive_one(deadline))
        return false;
    return true;
  }

  /// The terminal reply of one call.
  [[nodiscard]] std::optional<server_reply> result_of(std::int64_t id) {
    if (!await_terminals({id}))
      return std::nullopt;
    return terminals(id).front();
  }

  /// Pings and waits for the pong: every reply the gateway sent before it has
  /// arrived by then.
  [[nodiscard]] bool barrier() {
    auto id = next_ping_--;
    auto body = ferry::transport::encode_ping(ferry::transport::pack(id));
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
    auto deadline = clock_type::now() + guard;
    for (;;) {
      auto i = replies_.find(id);
      if (i != replies_.end() && !i->second.empty())
        return i->second.front().type == "pong";
      if (!receive_one(deadline))
        return false;
    }
  }

  /// Receives whatever arrives within `window` (to see that nothing does).
  void listen_for(std::chrono::milliseconds window) {
    auto deadline = clock_type::now() + window;
    while (receive_one(deadline)) {
    }
  }

  [[nodiscard]] std::vector<server_reply> terminals(std::int64_t id) const {
    std::vector<server_reply> out;
    if (auto i = replies_.find(id); i != replies_.end())
      for (const auto& r : i->second)
        if (is_terminal(r))
          out.push_back(r);
    return out;
  }

  [[nodiscard]] const std::set<std::int64_t>& sent() const noexcept { return sent_; }

  [[nodiscard]] const std::map<std::int64_t, std::vector<server_reply>>& replies() const {
    return replies_;
  }

  /// Replies the client could not read or whose id it cannot tell.
  [[nodiscard]] const std::vector<std::string>& strays() const noexcept { return strays_; }

private:
  bool receive_one(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                                      - clock_type::now());
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (left.count() <= 0 || zmq::poll(&item, 1, left) == 0)
      return false;
    zmq::message_t msg;
    if (!socket_.recv(msg, zmq::recv_flags::none))
      return false;
    while (msg.more()) // the body is the last frame
      if (!socket_.recv(msg, zmq::recv_flags::none))
        return false;
    std::string err;
    auto r = ferry::transport::decode_reply({msg.data<char>(), msg.size()}, &err);
    if (!r) {
      strays_.push_back("undecodable reply: " + err);
      return true;
    }
    auto id = id_of(*r);
    if (!id) {
      strays_.push_back(show(*r));
      return true;
    }
    replies_[*id].push_back(std::move(*r));
    return true;
  }

  zmq::socket_t socket_;
  std::set<std::int64_t> sent_;
  std::map<std::int64_t, std::vector<server_reply>> replies_;
  std::vector<std::string> strays_;
  std::int64_t next_ping_ = -1;
};

/// Every call the client sent has exactly one terminal reply, every other
/// reply belongs to a call or a ping it sent, and nothing came undecodable.
::testing::AssertionResult exactly_once(const test_client& c) {
  auto fail = ::testing::AssertionFailure();
  bool ok = true;
  for (auto id : c.sent()) {
    auto n = c.terminals(id).size();
    if (n != 1) {
      ok = false;
      fail << "call " << id << " got " << n << " terminal replies";
      for (const auto& r : c.terminals(id))
        fail << " [" << show(r) << "]";
      fail << "\n";
    }
  }
  for (const auto& [id, rs] : c.replies())
    if (id >= 0 && c.sent().count(id) == 0) {
      ok = false;
      fail << "reply for call " << id << " that was never sent: " << show(rs.front()) << "\n";
    }
  for (const auto& s : c.strays()) {
    ok = false;
    fail << "stray reply: " << s << "\n";
  }
  return ok ? ::testing::AssertionSuccess() : fail;
}

/// Every call in `ids` succeeded on one of `allowed` nodes; counts calls per
/// node into `*per_node`.
::testing::AssertionResult all_ran_on(const test_client& c, const std::vector<std::int64_t>& ids,
                                      const std::set<std::string>& allowed,
                                      std::map<std::string, int>* per_node = nullptr) {
  auto fail = ::testing::AssertionFailure();
  bool ok = true;
  for (auto id : ids) {
    auto ts = c.terminals(id);
    if (ts.empty()) {
      ok = false;
      fail << "call " << id << " has no reply\n";
      continue;
    }
    auto tag = tag_of(ts.front());
    if (allowed.count(tag) == 0) {
      ok = false;
      fail << "call " << id << ": " << show(ts.front()) << "\n";
      continue;
    }
    if (per_node)
      ++(*per_node)[tag];
  }
  return ok ? ::testing::AssertionSuccess() : fail;
}

std::string show(const std::map<std::string, int>& per_node) {
  std::string out;
  for (const auto& [tag, n] : per_node)
    out += tag + ":" + std::to_string(n) + " ";
  return out;
}

std::string after_prefix(const std::string& line, const std::string& prefix) {
  auto at = line.find(prefix);
  return at == std::string::npos ? std::string{} : line.substr(at + prefix.size());
}

// -- the fixture ------------------------------------------------------------------

/// Owns the head daemon, the worker nodes and the clients of one test. Every
/// process is SIGKILLed and reaped when the test ends, whatever happened.
class cluster : public ::testing::Test {
protected:
  /// A child that tripped a sanitizer (in a -DFERRY_SANITIZE build) says so on
  /// its stderr; it fails the test even when the calls went well.
  void TearDown() override {
    std::vector<const child_process*> all;
    if (head_)
      all.push_back(head_.get());
    for (const auto& [name, w] : workers_)
      all.push_back(w.get());
    for (auto p : all)
      for (auto needle : {"Sanitizer", "runtime error:"})
        EXPECT_EQ(p->count(needle), 0u) << p->output();
  }

  /// Starts ferryd with a 100 ms heartbeat and a 1 s timeout on the given
  /// endpoints (OS-chosen ports by default) and waits for "ferry: ready".
  ::testing::AssertionResult start_head(std::vector<std::string> extra = {},
                                        const std::string& listen = "tcp://127.0.0.1:*",
                                        const std::string& nodes = "tcp://127.0.0.1:*") {
    std::vector<std::string> args{"--listen", listen, "--cluster", nodes,
                                  "--heartbeat-ms", "100", "--heartbeat-timeout-ms", "1000"};
    args.insert(args.end(), extra.begin(), extra.end());
    head_ = std::make_unique<child_process>("ferryd", FERRY_FERRYD, args);
    if (!head_->wait_line("ferry: ready"))
      return ::testing::AssertionFailure() << "ferryd did not get ready:\n" << head_->output();
    client_ep_ = after_prefix(head_->find("ferry: listening on ").value_or(""),
                              "ferry: listening on ");
    cluster_ep_ = after_prefix(head_->find("ferry: cluster on ").value_or(""),
                               "ferry: cluster on ");
    if (client_ep_.empty() || cluster_ep_.empty())
      return ::testing::AssertionFailure() << "ferryd printed no endpoints:\n" << head_->output();
    return ::testing::AssertionSuccess();
  }

  /// Starts a worker node named and tagged `name` and waits for the head's
  /// "node NAME joined" line: from then on the node serves its functions.
  ::testing::AssertionResult start_worker(const std::string& name,
                                          std::vector<std::string> extra = {}) {
    auto mark = head_->line_count();
    spawn_worker(name, extra);
    if (!head_->wait_line("ferry: node " + name + " joined", mark))
      return ::testing::AssertionFailure()
             << "the head never logged " << name << " joined:\n" << logs();
    return ::testing::AssertionSuccess();
  }

  child_process& spawn_worker(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--join", cluster_ep_, "--node-name", name, "--tag", name};
    args.insert(args.end(), extra.begin(), extra.end());
    auto& w = workers_[name];
    w = std::make_unique<child_process>(name, FERRY_TEST_WORKER, args);
    return *w;
  }

  /// Waits until a node joined again: the head's "node NAME joined" line at
  /// or after `head_mark` and the node's "joined the head" line at or after
  /// `worker_mark`.
  ::testing::AssertionResult rejoined(const std::string& name, std::size_t head_mark,
                                      std::size_t worker_mark) {
    auto& w = *workers_.at(name);
    if (!head_->wait_line("ferry: node " + name + " joined", head_mark))
      return ::testing::AssertionFailure()
             << "the head never logged " << name << " joined:\n" << logs();
    if (!w.wait_line("ferry: joined the head", worker_mark))
      return ::testing::AssertionFailure() << name << " was never welcomed:\n" << logs();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult start_workers(std::initializer_list<const char*> names) {
    for (auto name : names)
      if (auto ok = start_worker(name); !ok)
        return ok;
    return ::testing::AssertionSuccess();
  }

  child_process& worker(const std::string& name) { return *workers_.at(name); }
  child_process& head() { return *head_; }

  /// A new client connected to the head's gateway.
  test_client& new_client() {
    clients_.push_back(std::make_unique<test_client>(ctx_, client_ep_));
    return *clients_.back();
  }

  /// Everything every process printed, for failure messages.
  std::string logs() const {
    std::string out = head_ ? head_->output() : std::string{};
    for (const auto& [name, w] : workers_)
      out += w->output();
    return out;
  }

  zmq::context_t ctx_{1};
  std::vector<std::unique_ptr<test_client>> clients_; // closed before ctx_
  std::unique_ptr<child_process> head_;
  std::map<std::string, std::unique_ptr<child_process>> workers_;
  std::string client_ep_;
  std::string cluster_ep_;
};

const std::set<std::string> all_three{"w1", "w2", "w3"};

// -- routing ----------------------------------------------------------------------

TEST_F(cluster, CallsRunOnEveryWorkerNode) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto& c = new_client();
  // 60 calls of 30 ms, 4 per batch: 15 batches, more than three nodes with
  // one slot each can take at once, so every node runs some.
  auto ids = c.call_many(1, 60, "where", 30);
  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  EXPECT_TRUE(exactly_once(c));
  std::map<std::string, int> per_node;
  EXPECT_TRUE(all_ran_on(c, ids, all_three, &per_node));
  EXPECT_EQ(per_node.size(), 3u) << "calls per node: " << show(per_node);
}

TEST_F(cluster, JoinedLineMeansTheNodeServesItsFunctions) {
  // The head logs "node NAME joined" once its batcher took the node's
  // functions: a call sent right after the line never finds them missing.
  for (int round = 0; round < 12; ++round) {
    ASSERT_TRUE(start_head());
    auto& c = new_client();
    ASSERT_TRUE(c.barrier()); // connected before the node joins
    ASSERT_TRUE(start_worker("w1"));
    c.call(1, "where", 0);
    auto r = c.result_of(1);
    ASSERT_TRUE(r) << logs();
    ASSERT_EQ(tag_of(*r), "w1") << "round " << round << ": " << show(*r);
    clients_.clear();
    workers_.clear();
    head_.reset();
  }
}

// -- failures -----------------------------------------------------------------------

TEST_F(cluster, KilledNodeUnderLoadLosesNoCallAndDuplicatesNone) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto& c = new_client();
  auto ids = c.call_many(1, 200, "slow_where", 50);
  ASSERT_TRUE(worker("w2").wait_line("running slow_where")) << logs();
  worker("w2").signal(SIGKILL);
  auto status = worker("w2").wait_exit();
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  EXPECT_TRUE(head().wait_line("ferry: node w2 lost (connection closed)")) << head().output();

  ASSERT_TRUE(c.await_terminals(ids, 20s)) << logs();
  ASSERT_TRUE(c.barrier());
  c.listen_for(200ms); // nothing more may come
  EXPECT_TRUE(exactly_once(c));
  EXPECT_TRUE(all_ran_on(c, ids, all_three)) << logs();
}

TEST_F(cluster, StoppedNodeIsLostItsBatchRerunsAndItsLateResultIsDropped) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto& c = new_client();
  // w1 takes a batch that sleeps 800 ms and is stopped right after it began,
  // so it cannot have answered: every call must end on w2 or w3.
  auto ids = c.call_many(1, 12, "slow_where", 800);
  ASSERT_TRUE(worker("w1").wait_line("running slow_where")) << logs();
  auto head_mark = head().line_count();
  auto w1_mark = worker("w1").line_count();
  worker("w1").signal(SIGSTOP);
  auto stopped_at = clock_type::now();

  ASSERT_TRUE(head().wait_line("ferry: node w1 lost (no heartbeat", head_mark)) << logs();
  auto detected = clock_type::now() - stopped_at;
  EXPECT_LT(detected, 5s) << "declared lost after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(detected).count()
                          << " ms (timeout 1000 ms)";
  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  EXPECT_TRUE(all_ran_on(c, ids, {"w2", "w3"})) << logs();

  // Woken up, w1 finishes its batch: the head drops that result (the node is
  // no member, or the batch is no longer its), and the node joins again.
  worker("w1").signal(SIGCONT);
  EXPECT_TRUE(child_process::wait_until([&] {
    return head().count("ferry: dropped late result", head_mark) > 0
           || head().count("ferry: dropped result from a node: unknown batch", head_mark) > 0;
  })) << logs();
  ASSERT_TRUE(rejoined("w1", head_mark, w1_mark));
  ASSERT_TRUE(c.barrier());
  c.listen_for(200ms);
  EXPECT_TRUE(exactly_once(c));

  // The node is back in service.
  auto more = c.call_many(100, 60, "where", 30);
  ASSERT_TRUE(c.await_terminals(more)) << logs();
  EXPECT_TRUE(exactly_once(c));
  EXPECT_TRUE(all_ran_on(c, more, all_three)) << logs();
}

TEST_F(cluster, NodeResumedWhileStillRunningItsBatchFailsNoNewCall) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2"}));
  auto& c = new_client();
  // w1 is stopped holding a batch that outlasts the time it takes the head to
  // declare it lost: when it comes back and rejoins it is still running it.
  c.call(1, "slow_where", 2500);
  ASSERT_TRUE(child_process::wait_until([&] {
    return worker("w1").count("running slow_where") + worker("w2").count("running slow_where") > 0;
  })) << logs();
  auto busy = worker("w1").count("running slow_where") > 0 ? "w1" : "w2";
  auto head_mark = head().line_count();
  auto busy_mark = worker(busy).line_count();
  worker(busy).signal(SIGSTOP);
  ASSERT_TRUE(head().wait_line(std::string{"ferry: node "} + busy + " lost", head_mark)) << logs();
  worker(busy).signal(SIGCONT);
  ASSERT_TRUE(rejoined(busy, head_mark, busy_mark));

  // Both nodes are members again; calls of the same function go to either.
  auto ids = c.call_many(10, 40, "slow_where", 20);
  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  ASSERT_TRUE(c.await_terminals({1}, 10s)) << logs();
  EXPECT_TRUE(exactly_once(c));
  EXPECT_TRUE(all_ran_on(c, ids, {"w1", "w2"})) << logs();
  EXPECT_TRUE(all_ran_on(c, {1}, {"w1", "w2"})) << logs();
}

TEST_F(cluster, WorkersRejoinAHeadRestartedOnTheSamePorts) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  {
    auto& c = new_client();
    auto ids = c.call_many(1, 12, "where", 10);
    ASSERT_TRUE(c.await_terminals(ids)) << logs();
    EXPECT_TRUE(all_ran_on(c, ids, all_three));
  }
  auto listen = client_ep_;
  auto nodes = cluster_ep_;
  std::map<std::string, std::size_t> marks;
  for (const auto& [name, w] : workers_)
    marks[name] = w->line_count();
  head().signal(SIGKILL);
  auto status = head().wait_exit();
  ASSERT_TRUE(status && WIFSIGNALED(*status));
  auto old_head = std::move(head_); // keep its log for failure messages

  ASSERT_TRUE(start_head({}, listen, nodes)) << old_head->output();
  ASSERT_EQ(client_ep_, listen);
  ASSERT_EQ(cluster_ep_, nodes);
  for (const auto& name : all_three)
    ASSERT_TRUE(rejoined(name, 0, marks[name])) << old_head->output();

  auto& c = new_client();
  auto ids = c.call_many(100, 60, "where", 30);
  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  EXPECT_TRUE(exactly_once(c));
  std::map<std::string, int> per_node;
  EXPECT_TRUE(all_ran_on(c, ids, all_three, &per_node)) << logs();
  EXPECT_EQ(per_node.size(), 3u) << "calls per node: " << show(per_node);
}

TEST_F(cluster, BatchWhoseNodesAllDieEndsWorkerLostAfterTwoRetries) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto& c = new_client();
  c.call(1, "slow_where", 30'000);
  // Each attempt runs on a node that is then killed: the first run and two
  // retries, after which the call ends with worker_lost.
  std::set<std::string> killed;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::string runner;
    ASSERT_TRUE(child_process::wait_until([&] {
      for (const auto& name : all_three)
        if (killed.count(name) == 0 && worker(name).count("running slow_where") > 0)
          runner = name;
      return !runner.empty();
    })) << "attempt " << attempt << " never started:\n" << logs();
    worker(runner).signal(SIGKILL);
    (void) worker(runner).wait_exit();
    killed.insert(runner);
  }
  auto r = c.result_of(1);
  ASSERT_TRUE(r) << logs();
  EXPECT_EQ(r->type, "error") << show(*r);
  EXPECT_EQ(r->code, errc::worker_lost) << show(*r);
  ASSERT_TRUE(c.barrier());
  EXPECT_TRUE(exactly_once(c));
}

// -- membership -----------------------------------------------------------------------

TEST_F(cluster, ConflictingRegistrationIsRefusedAndNeverServes) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto mark = head().line_count();
  ASSERT_TRUE(start_worker("w4", {"--knob", "where.max_batch_size=7"}));
  auto refusal = head().wait_line("ferry: refused where from node w4", mark);
  ASSERT_TRUE(refusal) << logs();
  EXPECT_TRUE(contains(*refusal, "different signature or knobs")) << *refusal;
  EXPECT_TRUE(worker("w4").wait_line("the head refused where")) << worker("w4").output();
  EXPECT_FALSE(head().find("refused slow_where", mark)) << head().output();
  EXPECT_TRUE(head().find("ferry: node w4 joined serving [slow_where]", mark)) << head().output();

  auto& c = new_client();
  auto ids = c.call_many(1, 60, "where", 20);
  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  EXPECT_TRUE(exactly_once(c));
  EXPECT_TRUE(all_ran_on(c, ids, all_three)) << logs();
  EXPECT_EQ(worker("w4").count("running where"), 0u) << worker("w4").output();
}

TEST_F(cluster, GracefulLeaveFinishesRunningCallsThenExitsZero) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_workers({"w1", "w2", "w3"}));
  auto& c = new_client();
  auto ids = c.call_many(1, 12, "slow_where", 600);
  ASSERT_TRUE(worker("w1").wait_line("running slow_where")) << logs();
  worker("w1").signal(SIGTERM);

  ASSERT_TRUE(c.await_terminals(ids)) << logs();
  std::map<std::string, int> per_node;
  EXPECT_TRUE(all_ran_on(c, ids, all_three, &per_node)) << logs();
  EXPECT_GT(per_node["w1"], 0) << "the batch w1 held did not finish there: " << show(per_node);
  auto status = worker("w1").wait_exit();
  ASSERT_TRUE(status) << "w1 still runs:\n" << logs();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  EXPECT_TRUE(head().wait_line("ferry: node w1 left")) << head().output();
  EXPECT_FALSE(head().find("ferry: node w1 lost")) << head().output();

  auto later = c.call_many(100, 40, "where", 10);
  ASSERT_TRUE(c.await_terminals(later)) << logs();
  EXPECT_TRUE(all_ran_on(c, later, {"w2", "w3"})) << logs();
  ASSERT_TRUE(c.barrier());
  EXPECT_TRUE(exactly_once(c));
}

TEST_F(cluster, NoWorkerLeftAnswersUnavailableWhenConfigured) {
  ASSERT_TRUE(start_head({"--unavailable-without-workers", "true"}));
  ASSERT_TRUE(start_worker("w1"));
  auto& c = new_client();
  c.call(1, "where", 0);
  auto r = c.result_of(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(tag_of(*r), "w1") << show(*r);

  worker("w1").signal(SIGTERM);
  ASSERT_TRUE(head().wait_line("ferry: node w1 left")) << logs();
  c.call(2, "where", 0);
  r = c.result_of(2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, errc::unavailable) << show(*r);
  EXPECT_TRUE(contains(r->message, "where")) << r->message;
}

TEST_F(cluster, NoWorkerLeftLetsCallsWaitForTheirDeadlineByDefault) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_worker("w1"));
  auto& c = new_client();
  c.call(1, "where", 0);
  auto r = c.result_of(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(tag_of(*r), "w1") << show(*r);

  worker("w1").signal(SIGTERM);
  ASSERT_TRUE(head().wait_line("ferry: node w1 left")) << logs();
  auto sent_at = clock_type::now();
  c.call(2, "where", 0, 300);
  r = c.result_of(2);
  auto waited = clock_type::now() - sent_at;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, errc::deadline_exceeded) << show(*r);
  EXPECT_GE(waited, 250ms) << "answered before its deadline";
}

TEST_F(cluster, LostOnlyNodeEndsItsRunningCallsWhenConfiguredUnavailable) {
  ASSERT_TRUE(start_head({"--unavailable-without-workers", "true"}));
  ASSERT_TRUE(start_worker("w1"));
  auto& c = new_client();
  c.call(1, "slow_where", 30'000);
  ASSERT_TRUE(worker("w1").wait_line("running slow_where")) << logs();
  worker("w1").signal(SIGKILL);
  ASSERT_TRUE(head().wait_line("ferry: node w1 lost")) << logs();
  // No worker serves slow_where any more: the call it held cannot wait for one.
  auto r = c.result_of(1);
  ASSERT_TRUE(r) << logs();
  EXPECT_EQ(r->type, "error") << show(*r);
  EXPECT_TRUE(r->code == errc::unavailable || r->code == errc::worker_lost) << show(*r);
}

TEST_F(cluster, CallOfALostNodeWaitsForTheNextNodeByDefault) {
  ASSERT_TRUE(start_head());
  ASSERT_TRUE(start_worker("w1"));
  auto& c = new_client();
  c.call(1, "slow_where", 300);
  ASSERT_TRUE(worker("w1").wait_line("running slow_where")) << logs();
  worker("w1").signal(SIGKILL);
  ASSERT_TRUE(head().wait_line("ferry: node w1 lost")) << logs();
  ASSERT_TRUE(start_worker("w2"));
  auto r = c.result_of(1);
  ASSERT_TRUE(r) << logs();
  EXPECT_EQ(tag_of(*r), "w2") << show(*r);
}

} // namespace
