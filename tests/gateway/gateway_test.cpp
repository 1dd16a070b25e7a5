// Multi-process tests of client protocol v1: each test spawns a real server
// binary (ferry_test_server, or the trim_words example), reads its stdout until
// "ferry: ready", and talks to it over loopback with raw ZeroMQ DEALER and REQ
// sockets, encoding with transport/protocol.hpp. Timeouts are failure guards
// only: every wait returns as soon as what it waits for arrives.

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
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using ferry::transport::errc;
using ferry::transport::server_reply;
using ferry::transport::value;
using ferry::test::child_process;
using ferry::test::child_stderr;
using ferry::test::contains;
using ferry::test::guard;
using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds left_until(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() > 0 ? left : std::chrono::milliseconds{0};
}

/// Milliseconds since `t0`, as a number gtest can print.
std::int64_t ms_since(clock_type::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// Matches a line that begins with `prefix`.
std::function<bool(std::string_view)> starting_with(std::string prefix) {
  return [prefix = std::move(prefix)](std::string_view line) { return starts_with(line, prefix); };
}

// -- clients --------------------------------------------------------------------

/// One reply as received: its frames (envelope first) and the decoded body.
struct reply : server_reply {
  std::vector<std::string> frames;
  [[nodiscard]] const std::string& raw() const { return frames.back(); }
};

bool is_terminal(const reply& r) {
  return r.type == "result" || r.type == "error";
}

std::string show_id(const std::string& packed) {
  auto v = ferry::transport::unpack_value(packed);
  return v ? to_string(*v) : "<undecodable id>";
}

std::string show(const reply& r) {
  std::string out = r.type + " id=" + show_id(r.id);
  if (r.type == "error")
    out += " " + std::string{to_string(r.code)} + ": " + r.message;
  if (r.type == "result") {
    auto v = ferry::transport::unpack_value(r.data);
    out += " data=" + (v ? to_string(*v) : "<undecodable>");
  }
  if (r.type == "status")
    out += " " + r.stage + " rank=" + std::to_string(r.rank) + " queue_size="
           + std::to_string(r.queue_size) + " batch_size=" + std::to_string(r.batch_size);
  return out;
}

/// A client socket (DEALER unless told otherwise) and every reply it has
/// received, in arrival order. Waits look through what arrived first, then
/// read more, so tests can wait for replies of different calls in any order.
class client {
public:
  client(zmq::context_t& ctx, const std::string& endpoint,
         zmq::socket_type type = zmq::socket_type::dealer)
    : socket_(ctx, type) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }

  void send(const std::string& body) { send_frames({body}); }

  void send_frames(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i)
      socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                                 : zmq::send_flags::none);
  }

  /// The first reply at or after arrival index `from` for `id` that matches
  /// `pred`; nullopt (a test failure) when none arrived within the guard.
  std::optional<reply> await(const std::string& id,
                             const std::function<bool(const reply&)>& pred,
                             std::size_t from = 0) {
    auto r = await_any([&](const reply& x) { return x.id == id && pred(x); }, from);
    if (!r)
      ADD_FAILURE() << "(waiting for id " << show_id(id) << ")";
    return r;
  }

  /// The first reply at or after arrival index `from`, whatever its id, that
  /// matches `pred`.
  std::optional<reply> await_any(const std::function<bool(const reply&)>& pred,
                                 std::size_t from = 0) {
    auto deadline = clock_type::now() + guard;
    for (auto i = from;; ++i) {
      while (i >= all_.size())
        if (!receive_one(deadline)) {
          ADD_FAILURE() << "no awaited reply within " << guard.count() << " ms";
          return std::nullopt;
        }
      if (pred(all_[i]))
        return all_[i];
    }
  }

  /// The result or error of call `id`.
  std::optional<reply> terminal(const std::string& id, std::size_t from = 0) {
    return await(id, is_terminal, from);
  }

  /// The first status event of `stage` ("queued" or "started") for `id`.
  std::optional<reply> status(const std::string& id, const std::string& stage) {
    return await(id, [&](const reply& r) { return r.type == "status" && r.stage == stage; });
  }

  /// Sends a call and returns its terminal reply.
  std::optional<reply> call(const std::string& id, const std::string& fn,
                            const std::string& args) {
    auto from = all_.size();
    send(ferry::transport::encode_call(id, fn, args));
    return terminal(id, from);
  }

  /// Pings and waits for the pong: every reply the server sent before it has
  /// arrived by then (one ROUTER thread answers in order).
  bool barrier(const std::string& id) {
    auto from = all_.size();
    send(ferry::transport::encode_ping(id));
    return await(id, [](const reply& r) { return r.type == "pong"; }, from).has_value();
  }

  /// Every reply for `id`, in arrival order.
  [[nodiscard]] std::vector<reply> history(const std::string& id) const {
    std::vector<reply> out;
    for (const auto& r : all_)
      if (r.id == id)
        out.push_back(r);
    return out;
  }

  [[nodiscard]] std::size_t received() const noexcept { return all_.size(); }

private:
  bool receive_one(clock_type::time_point deadline) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, left_until(deadline)) == 0)
      return false;
    reply r;
    zmq::message_t msg;
    do {
      if (!socket_.recv(msg, zmq::recv_flags::none))
        return false;
      r.frames.emplace_back(msg.data<char>(), msg.size());
    } while (msg.more());
    std::string err;
    auto decoded = ferry::transport::decode_reply(r.frames.back(), &err);
    if (!decoded) {
      ADD_FAILURE() << "undecodable reply: " << err;
      return false;
    }
    static_cast<server_reply&>(r) = std::move(*decoded);
    all_.push_back(std::move(r));
    return true;
  }

  zmq::socket_t socket_;
  std::vector<reply> all_;
};

// -- building messages and checking replies -------------------------------------

template <class T>
std::string p(const T& x) {
  return ferry::transport::pack(x);
}

std::string p(const char* s) {
  return ferry::transport::pack(std::string{s});
}

/// A map from string keys to values packed already, in the order given, so
/// tests can build messages encode_* would never produce.
std::string raw_map(const std::vector<std::pair<std::string, std::string>>& pairs) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  pk.pack_map(static_cast<std::uint32_t>(pairs.size()));
  for (const auto& [key, val] : pairs) {
    pk.pack(key);
    buf.write(val.data(), val.size());
  }
  return {buf.data(), buf.size()};
}

template <class... Ts>
std::string args(const Ts&... xs) {
  return ferry::transport::pack_array(xs...);
}

template <class... Ts>
value row(Ts... xs) {
  return value{value::array{value{xs}...}};
}

::testing::AssertionResult is_result(const std::optional<reply>& r, const value& expected) {
  if (!r)
    return ::testing::AssertionFailure() << "no reply";
  if (r->type != "result")
    return ::testing::AssertionFailure() << "expected a result, got " << show(*r);
  auto got = ferry::transport::unpack_value(r->data);
  if (!got || *got != expected)
    return ::testing::AssertionFailure()
           << "expected data " << to_string(expected) << ", got " << show(*r);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_error(const std::optional<reply>& r, errc code,
                                    std::string_view part = {}) {
  if (!r)
    return ::testing::AssertionFailure() << "no reply";
  if (r->type != "error" || r->code != code)
    return ::testing::AssertionFailure()
           << "expected error " << to_string(code) << ", got " << show(*r);
  if (!contains(r->message, part))
    return ::testing::AssertionFailure()
           << "expected '" << part << "' in the message, got " << show(*r);
  return ::testing::AssertionSuccess();
}

/// The value under `key` in a reply's raw top-level map.
std::optional<msgpack::object_handle> raw_field(const std::string& body, const std::string& key,
                                                msgpack::object& out) {
  auto oh = ferry::transport::unpack(body);
  if (!oh || oh->get().type != msgpack::type::MAP)
    return std::nullopt;
  const auto& m = oh->get().via.map;
  for (std::uint32_t i = 0; i < m.size; ++i) {
    std::string k;
    if (ferry::transport::try_convert(m.ptr[i].key, k) && k == key) {
      out = m.ptr[i].val;
      return oh;
    }
  }
  return std::nullopt;
}

/// Counts the batches behind a set of "started" batch sizes: a batch of B
/// reports B to each of its B calls.
std::optional<std::size_t> count_batches(const std::vector<std::uint32_t>& sizes) {
  std::map<std::uint32_t, std::size_t> seen;
  for (auto b : sizes)
    ++seen[b];
  std::size_t batches = 0;
  for (auto [b, n] : seen) {
    if (b == 0 || n % b != 0)
      return std::nullopt;
    batches += n / b;
  }
  return batches;
}

// -- fixtures -------------------------------------------------------------------

/// Owns a ZeroMQ context and one server process, which each test starts.
/// (Lower-case so that `ctest -R gateway` selects these tests.)
class gateway : public ::testing::Test {
protected:
  /// Starts `binary` on an OS-chosen loopback port with `extra` options and
  /// waits for "ferry: ready". Returns an empty string on success, else what
  /// went wrong. The server's stderr goes straight to the test log.
  [[nodiscard]] std::string start(const std::string& binary = FERRY_TEST_SERVER,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"--listen", "tcp://127.0.0.1:*"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    try {
      server_ = std::make_unique<child_process>("server", binary, argv, child_stderr::inherited);
    } catch (const std::exception& e) {
      return e.what();
    }
    constexpr std::string_view ready = "ferry: ready";
    if (!server_->wait_line_if([ready](std::string_view line) { return line == ready; }))
      return "no 'ferry: ready' from " + binary + "; its stdout:\n" + server_->output();
    constexpr std::string_view listening = "ferry: listening on ";
    for (const auto& line : server_->lines()) {
      if (line == ready)
        break;
      if (starts_with(line, listening)) {
        endpoint_ = line.substr(listening.size());
        break;
      }
    }
    return endpoint_.empty() ? "'ferry: ready' without a listening line" : "";
  }

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

  child_process& server() { return *server_; }

  /// A server the test did not stop must still be running: a crash (or a
  /// sanitizer report, which exits) fails the test even when every reply came.
  void TearDown() override {
    if (server_ && server_->running()) {
      auto status = server_->ended();
      EXPECT_FALSE(status) << "the server died during the test, wait status " << *status
                           << "\n" << server_->output();
    }
  }

  zmq::context_t ctx{1};

private:
  std::unique_ptr<child_process> server_;
  std::string endpoint_;
};

// -- envelopes and ids ----------------------------------------------------------

TEST_F(gateway, DealerAndReqClientsBothWork) {
  ASSERT_EQ(start(), "");
  client dealer{ctx, endpoint()};
  EXPECT_TRUE(is_result(dealer.call(p("d1"), "add", args(2, 3)), row(5)));

  // REQ adds an empty delimiter frame; it only accepts a reply carrying it back.
  client req{ctx, endpoint(), zmq::socket_type::req};
  req.send(ferry::transport::encode_ping(p("r1")));
  auto pong = req.await(p("r1"), [](const reply&) { return true; });
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, "pong");
  EXPECT_EQ(pong->frames.size(), 1u) << "REQ strips the delimiter it got back";
  EXPECT_TRUE(is_result(req.call(p("r2"), "add", args(40, 2)), row(42)));
  EXPECT_TRUE(is_error(req.call(p("r3"), "no_such_fn", args()), errc::unknown_fn));
  req.send("\xc1 not msgpack");
  EXPECT_TRUE(is_error(req.terminal(ferry::transport::nil_id), errc::bad_request));
  EXPECT_TRUE(is_result(req.call(p("r4"), "add", args(1, 1)), row(2)));
}

TEST_F(gateway, EnvelopeFramesAreEchoedInFrontOfEveryReply) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  const std::vector<std::string> envelope{"hop-1", std::string{"\0\x01", 2}, ""};
  auto with_envelope = [&](const std::string& body) {
    auto frames = envelope;
    frames.push_back(body);
    return frames;
  };
  c.send_frames(with_envelope(ferry::transport::encode_ping(p("e1"))));
  c.send_frames(with_envelope(ferry::transport::encode_call(p("e2"), "echo", args(7), -1, true)));
  c.send_frames(with_envelope(ferry::transport::encode_call(p("e3"), "nope", args())));
  c.send_frames(with_envelope("garbage"));
  ASSERT_TRUE(c.await(p("e1"), [](const reply& r) { return r.type == "pong"; }));
  EXPECT_TRUE(is_result(c.terminal(p("e2")), row(7)));
  EXPECT_TRUE(is_error(c.terminal(p("e3")), errc::unknown_fn));
  EXPECT_TRUE(is_error(c.terminal(ferry::transport::nil_id), errc::bad_request));
  ASSERT_TRUE(c.barrier(p("done")));
  for (const auto& id : {p("e1"), p("e2"), p("e3"), ferry::transport::nil_id})
    for (const auto& r : c.history(id)) {
      ASSERT_EQ(r.frames.size(), envelope.size() + 1) << show(r);
      EXPECT_EQ(std::vector<std::string>(r.frames.begin(), r.frames.end() - 1), envelope)
        << show(r);
    }
  EXPECT_GE(c.history(p("e2")).size(), 3u) << "queued, started and result, all enveloped";
}

TEST_F(gateway, IdsAreEchoedByteForByte) {
  ASSERT_EQ(start(), "");
  const std::vector<std::pair<std::string, std::string>> ids{
    {"int", p(42)},
    {"negative int", p(-7)},
    {"int64 min", p(std::numeric_limits<std::int64_t>::min())},
    {"uint64 max", p(std::numeric_limits<std::uint64_t>::max())},
    {"int in a wide encoding", std::string{"\xd3\0\0\0\0\0\0\0\x05", 9}},
    {"string", p("job-17 \xc3\xa9")},
    {"empty string", std::string{"\xa0"}},
    {"binary", std::string{"\xc4\x04\x00\xff\x10\x80", 6}},
    {"nil", ferry::transport::nil_id},
    {"float64", p(1.5)},
    {"float32", std::string{"\xca\x40\x20\x00\x00", 5}},
    {"bool", std::string{"\xc3"}},
  };
  client c{ctx, endpoint()};
  for (const auto& [what, id] : ids) {
    SCOPED_TRACE(what);
    c.send(ferry::transport::encode_ping(id));
    auto pong = c.await(id, [](const reply& r) { return r.type == "pong"; });
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, id);
  }
  // Calls all in flight at once: each result must find its own id.
  for (std::size_t i = 0; i < ids.size(); ++i)
    c.send(ferry::transport::encode_call(ids[i].second, "add",
                                         args(static_cast<std::int64_t>(i), 100)));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE(ids[i].first);
    EXPECT_TRUE(is_result(c.terminal(ids[i].second), row(static_cast<std::int64_t>(i) + 100)));
  }
  // Errors echo the id too, whichever part of the server produced them.
  for (const auto& [what, id] : ids) {
    SCOPED_TRACE(what);
    auto from = c.received();
    c.send(ferry::transport::encode_call(id, "no_such_fn", args()));
    EXPECT_TRUE(is_error(c.terminal(id, from), errc::unknown_fn));
    from = c.received();
    c.send(ferry::transport::encode_call(id, "add", args(std::string{"x"}, 1)));
    EXPECT_TRUE(is_error(c.terminal(id, from), errc::bad_args));
  }
}

// -- batching -------------------------------------------------------------------

// The seed scenario: 16 concurrent calls of a slow batch function share at most
// two trips instead of sixteen.
TEST_F(gateway, SeedScenarioSixteenCallsShareAtMostTwoBatches) {
#ifndef FERRY_TRIM_WORDS_SERVER
  GTEST_SKIP() << "examples are not built (FERRY_BUILD_EXAMPLES=OFF)";
#else
  constexpr int sleep_ms = 300;
  ASSERT_EQ(start(FERRY_TRIM_WORDS_SERVER, {"--sleep-ms", std::to_string(sleep_ms)}), "");
  const std::vector<std::string> words{"Adam", "ferry", "batching", "runtime", "x", "",
                                       "passenger", "dock", "timetable", "queue",
                                       "boat", "across", "ZeroMQ", "msgpack", "actor",
                                       "sixteen"};
  client c{ctx, endpoint()};
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < words.size(); ++i)
    c.send(ferry::transport::encode_call(p(static_cast<std::int64_t>(i)), "trim_words",
                                         args(words[i], static_cast<std::int64_t>(i % 6)),
                                         -1, true));
  std::vector<std::uint32_t> sizes;
  for (std::size_t i = 0; i < words.size(); ++i) {
    auto id = p(static_cast<std::int64_t>(i));
    SCOPED_TRACE(words[i]);
    EXPECT_TRUE(is_result(c.terminal(id), row(words[i].substr(0, i % 6))));
    for (const auto& r : c.history(id))
      if (r.type == "status" && r.stage == "started")
        sizes.push_back(r.batch_size);
  }
  auto elapsed_ms = ms_since(t0);
  ASSERT_EQ(sizes.size(), words.size()) << "one 'started' event per call";
  auto batches = count_batches(sizes);
  ASSERT_TRUE(batches) << "batch sizes that do not add up";
  EXPECT_LE(*batches, 2u);
  // One call at a time would take 16 trips.
  EXPECT_LT(elapsed_ms, 8 * sleep_ms);
#endif
}

TEST_F(gateway, ConcurrentCallsOfEchoBoardTheSameBatch) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  for (std::int64_t i = 0; i < 16; ++i)
    c.send(ferry::transport::encode_call(p(i), "echo", args(i * 10), -1, true));
  std::vector<std::uint32_t> sizes;
  for (std::int64_t i = 0; i < 16; ++i) {
    EXPECT_TRUE(is_result(c.terminal(p(i)), row(i * 10)));
    if (auto s = c.status(p(i), "started"))
      sizes.push_back(s->batch_size);
  }
  auto batches = count_batches(sizes);
  ASSERT_TRUE(batches);
  EXPECT_LE(*batches, 2u);
}

// -- malformed input --------------------------------------------------------------

struct bad_case {
  std::string what;
  std::string body;
  errc code;
  std::string id;         ///< the id the error must carry
  bool nil_ok = false;    ///< the id may also be nil (it was not read)
};

TEST_F(gateway, BadInputIsRejectedAndTheSocketKeepsWorking) {
  ASSERT_EQ(start(), "");
  const std::string nil = ferry::transport::nil_id;
  const std::string nested = std::string(100'000, '\x91') + "\xc0";
  const std::string array_bomb{"\xdd\xff\xff\xff\xff\x01\x02\x03", 8};
  const std::string str_bomb{"\xdb\xff\xff\xff\xff" "abc", 8};
  const std::string bin_bomb{"\xc6\xff\xff\xff\xff\x00\x01", 7};
  auto call_with = [](std::string id, std::string args_raw) {
    return raw_map({{"type", p("call")}, {"id", std::move(id)}, {"fn", p("echo")},
                    {"args", std::move(args_raw)}});
  };
  const std::vector<bad_case> cases{
    // bad_request: not a usable message
    {"garbage bytes", std::string{"\xc1\xc1\xc1 garbage", 11}, errc::bad_request, nil},
    {"text", "hello, ferry", errc::bad_request, nil},
    {"empty frame", "", errc::bad_request, nil},
    {"array body", args(std::string{"call"}, 1, std::string{"echo"}), errc::bad_request, nil},
    {"string body", p("call"), errc::bad_request, nil},
    {"nil body", nil, errc::bad_request, nil},
    {"missing type", raw_map({{"id", p(11)}, {"fn", p("add")}, {"args", args(1, 2)}}),
     errc::bad_request, p(11)},
    {"type not a string", raw_map({{"type", p(5)}, {"id", p(12)}}), errc::bad_request, p(12)},
    {"unknown type", raw_map({{"type", p("frobnicate")}, {"id", p(13)}}), errc::bad_request,
     p(13)},
    {"array id", raw_map({{"type", p("call")}, {"id", args(1, 2)}, {"fn", p("add")},
                          {"args", args(1, 2)}}),
     errc::bad_request, nil},
    {"map id", raw_map({{"type", p("ping")}, {"id", raw_map({{"a", p(1)}})}}),
     errc::bad_request, nil},
    {"call without id", raw_map({{"type", p("call")}, {"fn", p("add")}, {"args", args(1, 2)}}),
     errc::bad_request, nil},
    {"cancel without id", raw_map({{"type", p("cancel")}}), errc::bad_request, nil},
    {"call without fn", raw_map({{"type", p("call")}, {"id", p(14)}, {"args", args(1, 2)}}),
     errc::bad_request, p(14)},
    {"fn not a string", raw_map({{"type", p("call")}, {"id", p(15)}, {"fn", p(3)},
                                 {"args", args(1, 2)}}),
     errc::bad_request, p(15)},
    {"negative deadline", raw_map({{"type", p("call")}, {"id", p(16)}, {"fn", p("add")},
                                   {"args", args(1, 2)}, {"deadline_ms", p(-5)}}),
     errc::bad_request, p(16)},
    {"status not a bool", raw_map({{"type", p("call")}, {"id", p(17)}, {"fn", p("add")},
                                   {"args", args(1, 2)}, {"status", p("yes")}}),
     errc::bad_request, p(17)},
    {"truncated map", ferry::transport::encode_call(p(18), "add", args(1, 2)).substr(0, 20),
     errc::bad_request, p(18), true},
    {"trailing bytes", ferry::transport::encode_ping(p(19)) + "\xc0", errc::bad_request, p(19),
     true},
    {"100000 nested arrays", call_with(p(20), nested), errc::bad_request, p(20), true},
    {"100000 nested arrays as the body", nested, errc::bad_request, nil},
    {"array32 length bomb", call_with(p(21), array_bomb), errc::bad_request, p(21), true},
    {"array32 length bomb as the body", array_bomb, errc::bad_request, nil},
    {"map32 length bomb as the body",
     std::string{"\xdf\xff\xff\xff\xff", 5} + p("type") + p("ping"), errc::bad_request, nil},
    {"str32 length bomb id", raw_map({{"type", p("ping")}, {"id", str_bomb}}),
     errc::bad_request, nil},
    {"bin32 length bomb", call_with(p(22), bin_bomb), errc::bad_request, p(22), true},
    // unknown_fn and bad_args: well-formed calls that cannot run
    {"unknown function", ferry::transport::encode_call(p(30), "no_such_fn", args(1)),
     errc::unknown_fn, p(30)},
    {"too many arguments", ferry::transport::encode_call(p(31), "add", args(1, 2, 3)),
     errc::bad_args, p(31)},
    {"too few arguments", ferry::transport::encode_call(p(32), "add", args(1)),
     errc::bad_args, p(32)},
    {"no args key", raw_map({{"type", p("call")}, {"id", p(33)}, {"fn", p("add")}}),
     errc::bad_args, p(33)},
    {"string for int64", ferry::transport::encode_call(p(34), "add", args(std::string{"1"}, 2)),
     errc::bad_args, p(34)},
    {"float for int64", ferry::transport::encode_call(p(35), "add", args(1.5, 2)),
     errc::bad_args, p(35)},
    {"args not an array", raw_map({{"type", p("call")}, {"id", p(36)}, {"fn", p("add")},
                                   {"args", p(5)}}),
     errc::bad_args, p(36)},
    {"batched fn, wrong type", ferry::transport::encode_call(p(37), "echo", args(std::string{"x"})),
     errc::bad_args, p(37)},
  };
  client c{ctx, endpoint()};
  std::int64_t n = 0;
  for (const auto& bc : cases) {
    SCOPED_TRACE(bc.what);
    auto from = c.received();
    c.send(bc.body);
    auto r = c.await_any(is_terminal, from);
    EXPECT_TRUE(is_error(r, bc.code));
    if (r) {
      EXPECT_TRUE(r->id == bc.id || (bc.nil_ok && r->id == nil))
        << "id " << show_id(r->id) << ", expected " << show_id(bc.id);
      EXPECT_FALSE(r->message.empty());
    }
    // The same socket still works right after.
    auto good = p("good-" + std::to_string(++n));
    EXPECT_TRUE(is_result(c.call(good, "add", args(n, 1000)), row(n + 1000)));
  }
  // Nothing arrived that was not asked for.
  ASSERT_TRUE(c.barrier(p("end")));
  EXPECT_EQ(c.received(), 2 * cases.size() + 1);
}

TEST_F(gateway, BadArgsFailAloneAndTheRestOfTheBatchRuns) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  // Sent together, within echo's 50 ms batching window.
  c.send(ferry::transport::encode_call(p("a"), "echo", args(1), -1, true));
  c.send(ferry::transport::encode_call(p("b"), "echo", args(std::string{"one"}), -1, true));
  c.send(ferry::transport::encode_call(p("c"), "echo", args(3), -1, true));
  c.send(ferry::transport::encode_call(p("d"), "echo", args(4, 5), -1, true));
  EXPECT_TRUE(is_result(c.terminal(p("a")), row(1)));
  EXPECT_TRUE(is_error(c.terminal(p("b")), errc::bad_args, "argument 0 must be int64, got str"));
  EXPECT_TRUE(is_result(c.terminal(p("c")), row(3)));
  EXPECT_TRUE(is_error(c.terminal(p("d")), errc::bad_args, "takes 1 argument(s), got 2"));
  for (const auto& id : {p("a"), p("b"), p("c"), p("d")}) {
    auto started = c.status(id, "started");
    ASSERT_TRUE(started);
    EXPECT_EQ(started->batch_size, 4u) << "all four ran in one batch";
  }
  EXPECT_TRUE(is_result(c.call(p("e"), "echo", args(5)), row(5)));
}

// -- errors from the queue and the workers --------------------------------------

TEST_F(gateway, DuplicateIdIsRefusedPerClientWhileInFlight) {
  ASSERT_EQ(start(), "");
  client a{ctx, endpoint()};
  client b{ctx, endpoint()};
  const auto id = p("dup");
  a.send(ferry::transport::encode_call(id, "slow", args(600), -1, true));
  ASSERT_TRUE(a.status(id, "started"));
  auto from = a.received();
  a.send(ferry::transport::encode_call(id, "add", args(1, 2)));
  EXPECT_TRUE(is_error(a.terminal(id, from), errc::duplicate_id));
  // Another client's ids are its own.
  EXPECT_TRUE(is_result(b.call(id, "add", args(1, 2)), row(3)));
  // The first call is unharmed, and exactly one terminal reply per call.
  auto first = a.await(id, [](const reply& r) { return r.type == "result"; });
  EXPECT_TRUE(is_result(first, row(600)));
  // Once answered, the id is free again.
  EXPECT_TRUE(is_result(a.call(id, "add", args(2, 2)), row(4)));
  ASSERT_TRUE(a.barrier(p("end")));
  std::size_t terminals = 0;
  for (const auto& r : a.history(id))
    terminals += is_terminal(r) ? 1 : 0;
  EXPECT_EQ(terminals, 3u) << "slow's result, the duplicate_id error, the reuse's result";
}

TEST_F(gateway, QueueFullWhenTheQueueLimitIsReached) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("q1"), "tiny_queue", args(500), -1, true));
  ASSERT_TRUE(c.status(p("q1"), "started"));
  c.send(ferry::transport::encode_call(p("q2"), "tiny_queue", args(0), -1, true));
  ASSERT_TRUE(c.status(p("q2"), "queued"));
  c.send(ferry::transport::encode_call(p("q3"), "tiny_queue", args(0), -1, true));
  ASSERT_TRUE(c.status(p("q3"), "queued"));
  c.send(ferry::transport::encode_call(p("q4"), "tiny_queue", args(0), -1, true));
  auto full = c.terminal(p("q4"));
  EXPECT_TRUE(is_error(full, errc::queue_full, "tiny_queue"));
  EXPECT_EQ(c.history(p("q4")).size(), 1u) << "a refused call gets no status events";
  EXPECT_TRUE(is_result(c.terminal(p("q1")), row(500)));
  EXPECT_TRUE(is_result(c.terminal(p("q2")), row(0)));
  EXPECT_TRUE(is_result(c.terminal(p("q3")), row(0)));
  EXPECT_TRUE(is_result(c.call(p("q5"), "tiny_queue", args(0)), row(0)));
}

TEST_F(gateway, DeadlineExceededWhileWaitingBehindASlowBatch) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("blocker"), "slow", args(1000), -1, true));
  ASSERT_TRUE(c.status(p("blocker"), "started"));
  auto t0 = clock_type::now();
  c.send(ferry::transport::encode_call(p("late"), "slow", args(0), 100, true));
  auto late = c.terminal(p("late"));
  auto waited_ms = ms_since(t0);
  EXPECT_TRUE(is_error(late, errc::deadline_exceeded));
  EXPECT_GE(waited_ms, 90) << "the budget counts from arrival";
  EXPECT_TRUE(c.history(p("blocker")).back().type == "status")
    << "the deadline ended the call in the queue, before the blocking batch finished";
  for (const auto& r : c.history(p("late")))
    EXPECT_NE(r.stage, "started") << "an expired call never runs";
  // A budget of 0 has passed on arrival.
  c.send(ferry::transport::encode_call(p("zero"), "add", args(1, 1), 0));
  EXPECT_TRUE(is_error(c.terminal(p("zero")), errc::deadline_exceeded));
  // A generous budget is no obstacle.
  c.send(ferry::transport::encode_call(p("roomy"), "slow", args(0), 10'000));
  EXPECT_TRUE(is_result(c.terminal(p("roomy")), row(0)));
  EXPECT_TRUE(is_result(c.terminal(p("blocker")), row(1000)));
}

TEST_F(gateway, CancelEndsAWaitingCall) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("run"), "slow", args(1000), -1, true));
  ASSERT_TRUE(c.status(p("run"), "started"));
  c.send(ferry::transport::encode_call(p("wait"), "slow", args(0), -1, true));
  ASSERT_TRUE(c.status(p("wait"), "queued"));
  c.send(ferry::transport::encode_call(p("kept"), "slow", args(2), -1, true));
  ASSERT_TRUE(c.status(p("kept"), "queued"));
  // Another client's cancel names its own calls: "kept" stays queued.
  client other{ctx, endpoint()};
  other.send(ferry::transport::encode_cancel(p("kept")));
  ASSERT_TRUE(other.barrier(p("o1")));
  c.send(ferry::transport::encode_cancel(p("wait")));
  EXPECT_TRUE(is_error(c.terminal(p("wait")), errc::cancelled));
  EXPECT_EQ(c.history(p("run")).back().type, "status") << "cancelled before the batch ended";
  // Cancelling what is not in flight sends nothing back.
  c.send(ferry::transport::encode_cancel(p("nobody")));
  c.send(ferry::transport::encode_cancel(p("wait")));
  ASSERT_TRUE(c.barrier(p("b1")));
  EXPECT_TRUE(c.history(p("nobody")).empty());
  EXPECT_TRUE(is_result(c.terminal(p("run")), row(1000)));
  EXPECT_TRUE(is_result(c.terminal(p("kept")), row(2)));
  ASSERT_TRUE(c.barrier(p("b2")));
  auto wait_history = c.history(p("wait"));
  EXPECT_TRUE(is_terminal(wait_history.back())) << "one terminal reply, nothing after it";
  for (const auto& r : wait_history)
    EXPECT_NE(r.stage, "started") << "a cancelled waiting call never runs";
  EXPECT_TRUE(is_result(c.call(p("after"), "slow", args(1)), row(1)));
}

TEST_F(gateway, CancelEndsARunningCallAtOnce) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("long"), "slow", args(5000), -1, true));
  ASSERT_TRUE(c.status(p("long"), "started"));
  auto t0 = clock_type::now();
  c.send(ferry::transport::encode_cancel(p("long")));
  auto r = c.terminal(p("long"));
  auto waited_ms = ms_since(t0);
  EXPECT_TRUE(is_error(r, errc::cancelled));
  EXPECT_LT(waited_ms, 2500) << "the reply must not wait for the 5 s batch";
  // The socket and the rest of the server carry on.
  EXPECT_TRUE(is_result(c.call(p("next"), "add", args(3, 4)), row(7)));
  ASSERT_TRUE(c.barrier(p("end")));
  EXPECT_TRUE(is_terminal(c.history(p("long")).back()));
}

TEST_F(gateway, FnErrorCarriesTheExceptionMessage) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("f1"), "fail", args(1)));
  c.send(ferry::transport::encode_call(p("f2"), "fail", args(2)));
  EXPECT_TRUE(is_error(c.terminal(p("f1")), errc::fn_error, "boom"));
  EXPECT_TRUE(is_error(c.terminal(p("f2")), errc::fn_error, "boom"));
  EXPECT_TRUE(is_result(c.call(p("f3"), "echo", args(3)), row(3)));
}

TEST_F(gateway, BadOutputNamesTheFunctionAndTheSizes) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  auto r = c.call(p("o1"), "bad_out", args(7));
  EXPECT_TRUE(is_error(r, errc::bad_output, "bad_out"));
  EXPECT_TRUE(is_error(r, errc::bad_output, "lengths [0]"));
  EXPECT_TRUE(is_error(r, errc::bad_output, "batch of 1"));
  EXPECT_TRUE(is_result(c.call(p("o2"), "echo", args(8)), row(8)));
}

TEST_F(gateway, TooLargeMessagesAreRefusedWithTheirId) {
  ASSERT_EQ(start(FERRY_TEST_SERVER, {"--max-message-size", "1024"}), "");
  client c{ctx, endpoint()};
  const std::string big(2048, 'x');
  c.send(ferry::transport::encode_call(p("big-1"), "echo", args(big)));
  auto r = c.await_any(is_terminal);
  EXPECT_TRUE(is_error(r, errc::too_large, "1024"));
  if (r) {
    EXPECT_EQ(show_id(r->id), show_id(p("big-1")));
  }
  // The id is found wherever it sits in the map.
  auto from = c.received();
  c.send(raw_map({{"type", p("call")}, {"fn", p("echo")}, {"args", args(big)}, {"id", p(77)}}));
  r = c.await_any(is_terminal, from);
  EXPECT_TRUE(is_error(r, errc::too_large));
  if (r) {
    EXPECT_EQ(show_id(r->id), show_id(p(77)));
  }
  // Just under the limit is decoded as usual (echo wants an int64).
  auto near = ferry::transport::encode_call(p("near"), "echo", args(std::string(900, 'y')));
  ASSERT_LE(near.size(), 1024u);
  c.send(near);
  EXPECT_TRUE(is_error(c.terminal(p("near")), errc::bad_args));
  EXPECT_TRUE(is_result(c.call(p("small"), "echo", args(5)), row(5)));
}

// -- status, info, ping -----------------------------------------------------------

TEST_F(gateway, StatusEventsComeQueuedThenStartedThenTheResult) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("blocker"), "slow", args(300), -1, true));
  ASSERT_TRUE(c.status(p("blocker"), "started"));
  // Six calls wait behind it; slow takes 4 per batch, so the last two are
  // re-ranked when the first four leave.
  constexpr std::int64_t waiting = 6;
  for (std::int64_t i = 0; i < waiting; ++i)
    c.send(ferry::transport::encode_call(p(i), "slow", args(i), -1, true));
  for (std::int64_t i = 0; i < waiting; ++i)
    EXPECT_TRUE(is_result(c.terminal(p(i)), row(i)));
  EXPECT_TRUE(is_result(c.terminal(p("blocker")), row(300)));
  ASSERT_TRUE(c.barrier(p("end")));

  std::size_t requeued = 0;
  for (std::int64_t i = 0; i < waiting; ++i) {
    SCOPED_TRACE("call " + std::to_string(i));
    auto events = c.history(p(i));
    ASSERT_GE(events.size(), 3u);
    EXPECT_TRUE(is_terminal(events.back())) << "nothing after the result";
    std::size_t k = 0;
    std::optional<std::uint32_t> last_rank;
    for (; k < events.size() && events[k].stage == "queued"; ++k) {
      const auto& q = events[k];
      EXPECT_EQ(q.type, "status");
      EXPECT_LT(q.rank, q.queue_size) << show(q);
      if (!last_rank) {
        EXPECT_EQ(q.rank, static_cast<std::uint32_t>(i)) << "first rank: calls ahead of it";
        EXPECT_EQ(q.queue_size, static_cast<std::uint32_t>(i + 1));
      } else {
        EXPECT_LT(q.rank, *last_rank) << "ranks only decrease";
      }
      last_rank = q.rank;
      msgpack::object eta;
      auto holder = raw_field(q.raw(), "eta_ms", eta);
      ASSERT_TRUE(holder) << "queued event without eta_ms";
      EXPECT_TRUE(eta.type == msgpack::type::NIL || eta.type == msgpack::type::POSITIVE_INTEGER)
        << "eta_ms must be nil or a non-negative integer";
    }
    ASSERT_GE(k, 1u) << "no queued event first";
    requeued += k > 1 ? 1 : 0;
    ASSERT_EQ(k + 2, events.size()) << "queued..., then exactly one started, then the result";
    EXPECT_EQ(events[k].type, "status");
    EXPECT_EQ(events[k].stage, "started");
    EXPECT_EQ(events[k].batch_size, i < 4 ? 4u : 2u);
  }
  EXPECT_EQ(requeued, 2u) << "the two calls left behind got new ranks";
}

TEST_F(gateway, InfoListsEveryFunction) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_info_request(p("i1")));
  auto info = c.await(p("i1"), [](const reply& r) { return r.type == "info"; });
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->version.empty());
  std::map<std::string, ferry::transport::function_spec> fns;
  for (const auto& f : info->functions)
    fns[f.name] = f;
  ASSERT_EQ(fns.size(), 6u);
  using names = std::vector<std::string>;
  struct expected {
    bool batch;
    std::uint32_t max_batch_size;
    std::int64_t delay_us;
    names inputs;
    names outputs;
  };
  const std::map<std::string, expected> want{
    {"add", {false, 1, 0, {"int64", "int64"}, {"int64"}}},
    {"echo", {true, 16, 50'000, {"int64"}, {"int64"}}},
    {"slow", {true, 4, 0, {"int64"}, {"int64"}}},
    {"fail", {true, 4, 0, {"int64"}, {"int64"}}},
    {"bad_out", {true, 4, 0, {"int64"}, {"int64"}}},
    {"tiny_queue", {true, 1, 0, {"int64"}, {"int64"}}},
  };
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(name);
    ASSERT_EQ(fns.count(name), 1u);
    const auto& f = fns[name];
    EXPECT_EQ(f.batch, w.batch);
    EXPECT_EQ(f.knob.max_batch_size, w.max_batch_size);
    EXPECT_EQ(f.knob.max_batch_delay_us, w.delay_us);
    EXPECT_EQ(f.inputs, w.inputs);
    EXPECT_EQ(f.outputs, w.outputs);
  }
  EXPECT_EQ(fns["tiny_queue"].knob.queue_limit, 2u);
  // Every entry carries every key of the contract, not just defaults.
  msgpack::object functions;
  auto holder = raw_field(info->raw(), "functions", functions);
  ASSERT_TRUE(holder);
  ASSERT_EQ(functions.type, msgpack::type::ARRAY);
  for (std::uint32_t i = 0; i < functions.via.array.size; ++i) {
    ASSERT_EQ(functions.via.array.ptr[i].type, msgpack::type::MAP);
    std::map<std::string, msgpack::type::object_type> keys;
    const auto& m = functions.via.array.ptr[i].via.map;
    for (std::uint32_t j = 0; j < m.size; ++j)
      keys[m.ptr[j].key.as<std::string>()] = m.ptr[j].val.type;
    for (const auto* k : {"name", "batch", "max_batch_size", "max_batch_delay_ms", "inputs",
                          "outputs"})
      EXPECT_EQ(keys.count(k), 1u) << "missing " << k;
    EXPECT_EQ(keys["batch"], msgpack::type::BOOLEAN);
    EXPECT_EQ(keys["inputs"], msgpack::type::ARRAY);
  }
}

TEST_F(gateway, PingGetsPong) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_ping(p("p1")));
  auto pong = c.await(p("p1"), [](const reply&) { return true; });
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, "pong");
  // A ping needs no id; the pong then carries nil.
  c.send(raw_map({{"type", p("ping")}}));
  auto anonymous = c.await(ferry::transport::nil_id, [](const reply&) { return true; });
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->type, "pong");
}

// -- drain ------------------------------------------------------------------------

TEST_F(gateway, SigtermDrainsCallsInFlightAndRefusesNewOnes) {
  ASSERT_EQ(start(), "");
  client c{ctx, endpoint()};
  constexpr std::int64_t calls = 6;
  for (std::int64_t i = 0; i < calls; ++i)
    c.send(ferry::transport::encode_call(p(i), "slow", args(300), -1, true));
  for (std::int64_t i = 0; i < calls; ++i)
    ASSERT_TRUE(c.await(p(i), [](const reply& r) { return r.type == "status"; }));
  server().signal(SIGTERM);
  ASSERT_TRUE(server().wait_line_if(starting_with("ferry: SIGTERM received, draining")))
    << server().output();
  // The line is printed just before the gateway starts refusing; a call that
  // slips in between is accepted and must be answered like the others.
  std::optional<reply> refused;
  std::vector<std::string> slipped_in;
  for (int n = 0; n < 20 && !refused; ++n) {
    auto id = p("late-" + std::to_string(n));
    auto r = c.call(id, "add", args(1, 1));
    ASSERT_TRUE(r);
    if (r->type == "error")
      refused = r;
    else
      slipped_in.push_back(id);
  }
  EXPECT_TRUE(is_error(refused, errc::unavailable));
  for (std::int64_t i = 0; i < calls; ++i)
    EXPECT_TRUE(is_result(c.terminal(p(i)), row(300)));
  auto status = server().wait_exit();
  ASSERT_TRUE(status) << "still running after the drain:\n" << server().output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
    << "wait status " << *status << "\n" << server().output();
  EXPECT_TRUE(contains(server().output(), "ferry: drained, exiting")) << server().output();
}

TEST_F(gateway, DrainTimeoutAnswersTheCallsLeftUnavailable) {
  ASSERT_EQ(start(FERRY_TEST_SERVER, {"--drain-timeout-ms", "200"}), "");
  client c{ctx, endpoint()};
  c.send(ferry::transport::encode_call(p("running"), "slow", args(1500), -1, true));
  ASSERT_TRUE(c.status(p("running"), "started"));
  c.send(ferry::transport::encode_call(p("waiting"), "slow", args(0), -1, true));
  ASSERT_TRUE(c.status(p("waiting"), "queued"));
  auto t0 = clock_type::now();
  server().signal(SIGTERM);
  // Neither call can finish within the drain timeout; each still gets exactly
  // one terminal reply.
  EXPECT_TRUE(is_error(c.terminal(p("running")), errc::unavailable));
  EXPECT_TRUE(is_error(c.terminal(p("waiting")), errc::unavailable));
  EXPECT_LT(ms_since(t0), 1500) << "answered at the drain timeout, not after the batch";
  auto status = server().wait_exit();
  ASSERT_TRUE(status) << server().output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1)
    << "a drain that timed out exits 1; wait status " << *status << "\n" << server().output();
  EXPECT_TRUE(contains(server().output(), "drain timed out")) << server().output();
  for (const auto& id : {p("running"), p("waiting")}) {
    std::size_t terminals = 0;
    for (const auto& r : c.history(id))
      terminals += is_terminal(r) ? 1 : 0;
    EXPECT_EQ(terminals, 1u) << show_id(id);
  }
}

} // namespace
