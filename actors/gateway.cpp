#include "actors/gateway.hpp"

#include "actors/internal/companion_mailbox.hpp"
#include "actors/messages.hpp"
#include "transport/protocol.hpp"
#include "transport/router.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <zmq.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace ferry::actors {

namespace {

using drain_atom = caf::atom_constant<caf::atom("drain")>;

} // namespace

using transport::errc;

struct gateway::impl {
  /// A call accepted from a client and not yet answered.
  struct open_call {
    transport::envelope route;
    std::string id;         ///< the client's id, packed, echoed verbatim
    std::string client_key; ///< routing id + id, for duplicates and cancel
  };

  impl(caf::actor_system& sys, caf::actor batcher, gateway_config cfg)
    : sys(sys), batcher(std::move(batcher)), cfg(std::move(cfg)), ctx(1),
      router(ctx), mailbox(sys, [this] { router.wake(); }), self(mailbox.self()) {
    std::string err;
    auto bound_eps = router.bind_all(this->cfg.endpoints, &err);
    if (!bound_eps)
      throw std::runtime_error(err);
    bound = std::move(*bound_eps);
    mailbox.become(behavior());
    thread = std::thread{[this] { run(); }};
  }

  ~impl() {
    stop = true;
    router.wake();
    thread.join();
  }

  caf::behavior behavior() {
    return {
      [this](call_reply& reply) { on_reply(reply); },
      [this](status_atom, const status_event& ev) { on_status(ev); },
      [this](cancel_atom, const std::string& reason) { abandon_all(reason); },
      [this](drain_atom) {
        // Set here, between two socket messages, so no call is half accepted.
        draining = true;
        notify_if_drained();
      },
      [this](std::vector<transport::function_info>& specs) {
        if (info_waiting.empty())
          return;
        auto [route, id] = std::move(info_waiting.front());
        info_waiting.pop_front();
        router.send(route, transport::encode_info(id, cfg.version, specs));
      },
    };
  }

  // -- the socket thread ------------------------------------------------------

  void run() {
    while (!stop) {
      router.wait(std::chrono::milliseconds{-1});
      mailbox.drain();
      // Bounded per round so replies keep flowing under a flood of requests.
      for (int i = 0; i < 256; ++i) {
        auto msg = router.try_receive();
        if (!msg)
          break;
        on_message(*msg);
      }
    }
  }

  void reject(const transport::envelope& route, const std::string& id, errc code,
              std::string_view message) {
    ++rejected;
    router.send(route, transport::encode_error(id, code, message));
  }

  void on_message(transport::routed_message& msg) {
    ++received;
    if (msg.route.empty())
      return; // ROUTER always adds the routing id; nothing to answer to
    if (msg.body.size() > cfg.max_message_size)
      return reject(msg.route, transport::peek_id(msg.body), errc::too_large,
                    "message of " + std::to_string(msg.body.size())
                      + " bytes exceeds the limit of "
                      + std::to_string(cfg.max_message_size));
    auto decoded = transport::decode_request(msg.body);
    if (auto err = std::get_if<transport::request_error>(&decoded))
      return reject(msg.route, err->id, err->code, err->message);
    auto& req = std::get<transport::client_request>(decoded);
    switch (req.type) {
      case transport::request_type::ping:
        router.send(msg.route, transport::encode_pong(req.id));
        break;
      case transport::request_type::info:
        info_waiting.emplace_back(std::move(msg.route), std::move(req.id));
        self->send(batcher, info_atom::value);
        break;
      case transport::request_type::cancel: {
        auto i = by_client.find(client_key(msg.route, req.id));
        if (i != by_client.end())
          self->send(batcher, cancel_atom::value, i->second);
        break;
      }
      case transport::request_type::call:
        on_call(msg.route, req);
        break;
    }
  }

  static std::string client_key(const transport::envelope& route,
                                const std::string& id) {
    return std::to_string(route.front().size()) + ':' + route.front() + id;
  }

  void on_call(transport::envelope& route, transport::client_request& req) {
    if (draining) {
      router.send(route, transport::encode_error(
                           req.id, errc::unavailable,
                           "this node is draining and accepts no new calls"));
      return;
    }
    auto ck = client_key(route, req.id);
    if (by_client.count(ck) > 0) {
      router.send(route, transport::encode_error(
                           req.id, errc::duplicate_id,
                           "this client already has a call with this id in flight"));
      return;
    }
    auto key = next_key++;
    call_request call;
    call.key = key;
    call.fn = std::move(req.fn);
    call.args = std::move(req.args);
    call.status = req.status;
    // Budgets beyond a year are as good as none (and would overflow the clock).
    constexpr std::int64_t max_budget_ms = 365LL * 24 * 3600 * 1000;
    if (req.deadline_ms >= 0 && req.deadline_ms <= max_budget_ms)
      call.deadline = to_wire(clock::now() + std::chrono::milliseconds{req.deadline_ms});
    by_client.emplace(ck, key);
    calls.emplace(key, open_call{std::move(route), std::move(req.id), std::move(ck)});
    ++in_flight;
    self->send(batcher, call_atom::value, std::move(call));
  }

  void on_status(const status_event& ev) {
    auto i = calls.find(ev.key);
    if (i == calls.end())
      return;
    const auto& c = i->second;
    router.send(c.route, ev.what == stage::queued
                           ? transport::encode_queued(c.id, ev.rank, ev.queue_size, ev.eta_ms)
                           : transport::encode_started(c.id, ev.batch_size));
  }

  void notify_if_drained() {
    if (draining && in_flight == 0) {
      std::lock_guard<std::mutex> guard{drain_mtx};
      drained_cv.notify_all();
    }
  }

  /// Answers every open call with `unavailable` (the node gives up on them).
  void abandon_all(const std::string& reason) {
    for (auto& [key, c] : calls) {
      router.send(c.route, transport::encode_error(c.id, errc::unavailable, reason));
      self->send(batcher, cancel_atom::value, key);
    }
    calls.clear();
    by_client.clear();
    in_flight = 0;
    notify_if_drained();
  }

  void on_reply(const call_reply& reply) {
    auto i = calls.find(reply.key);
    if (i == calls.end())
      return;
    const auto& c = i->second;
    const auto& r = reply.result;
    router.send(c.route, r.ok() ? transport::encode_result(c.id, r.body)
                                : transport::encode_error(c.id, r.code, r.body));
    by_client.erase(c.client_key);
    calls.erase(i);
    --in_flight;
    notify_if_drained();
  }

  caf::actor_system& sys;
  caf::actor batcher;
  gateway_config cfg;
  zmq::context_t ctx;
  transport::router router;
  internal::companion_mailbox mailbox;
  caf::actor_companion* self;
  std::vector<std::string> bound;

  std::atomic<bool> stop{false};
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::mutex drain_mtx;
  std::condition_variable drained_cv;

  // Owned by the socket thread.
  std::unordered_map<std::uint64_t, open_call> calls;
  std::unordered_map<std::string, std::uint64_t> by_client;
  std::deque<std::pair<transport::envelope, std::string>> info_waiting;
  std::uint64_t next_key = 1;

  std::thread thread; // last: starts after everything above exists
};

gateway::gateway(caf::actor_system& sys, caf::actor batcher, gateway_config cfg)
  : impl_(std::make_unique<impl>(sys, std::move(batcher), std::move(cfg))) {}

gateway::~gateway() = default;

const std::vector<std::string>& gateway::endpoints() const noexcept {
  return impl_->bound;
}

void gateway::drain() {
  caf::anon_send(impl_->mailbox.handle(), drain_atom::value);
}

bool gateway::wait_drained(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{impl_->drain_mtx};
  return impl_->drained_cv.wait_for(guard, timeout,
                                    [this] { return impl_->draining && impl_->in_flight == 0; });
}

bool gateway::abandon_open_calls(const std::string& reason,
                                 std::chrono::milliseconds timeout) {
  drain();
  caf::anon_send(impl_->mailbox.handle(), cancel_atom::value, reason);
  return wait_drained(timeout);
}

gateway_stats gateway::stats() const {
  return {impl_->received, impl_->rejected, impl_->in_flight};
}

} // namespace ferry::actors
