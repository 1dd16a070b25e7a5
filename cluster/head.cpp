#include "cluster/head.hpp"

#include "actors/internal/companion_mailbox.hpp"
#include "actors/messages.hpp"
#include "transport/node_protocol.hpp"
#include "transport/router.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <zmq.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace ferry::cluster {

namespace {

using actors::clock;
using actors::join_atom;
using actors::leave_atom;
using actors::run_atom;
using transport::function_spec;
using transport::outcome;

using joined_atom = caf::atom_constant<caf::atom("joined")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

std::atomic<std::uint64_t> next_batch_id{1};

struct link_state {
  std::unordered_map<std::uint64_t, caf::response_promise> pending;
  bool leaving = false;
};

/// Stands for one function on one worker node: the batcher's worker for it.
/// Batches it receives go to the head's socket thread as `run`; results come
/// back as `(result_atom, batch, outcomes)`. On `lost_atom` it leaves the
/// batcher and fails its batches (which the batcher re-queues); on
/// `leave_atom` it leaves the batcher and quits once its batches finished.
caf::behavior node_link(caf::stateful_actor<link_state>* self, caf::actor batcher,
                        caf::actor head, std::string node_key, std::string node_name,
                        function_spec spec) {
  auto fn = spec.name;
  auto slots = spec.knob.concurrency;
  self->request(batcher, caf::infinite, join_atom::value, std::move(spec),
                caf::actor_cast<caf::actor>(self), slots, std::move(node_name))
    .then(
      [=](const std::string& refusal) {
        self->send(head, joined_atom::value, node_key, fn, refusal);
        if (!refusal.empty())
          self->quit();
      },
      [=](caf::error& err) {
        self->send(head, joined_atom::value, node_key, fn, to_string(err));
        self->quit();
      });
  auto finish_leave = [=] {
    if (self->state.leaving && self->state.pending.empty()) {
      self->send(head, done_atom::value, node_key, fn);
      self->quit();
    }
  };
  return {
    [=](run_atom, std::vector<std::string>& args) {
      auto bid = next_batch_id++;
      self->state.pending.emplace(bid, self->make_response_promise());
      self->send(head, run_atom::value, node_key, fn, bid, std::move(args));
    },
    [=](result_atom, std::uint64_t bid, std::vector<outcome>& outs) {
      auto i = self->state.pending.find(bid);
      if (i == self->state.pending.end())
        return;
      i->second.deliver(std::move(outs));
      self->state.pending.erase(i);
      finish_leave();
    },
    [=](lost_atom) {
      // Leave first: the batcher must not pick this link again for the
      // batches it re-queues when the errors below arrive.
      self->send(batcher, leave_atom::value);
      for (auto& [bid, promise] : self->state.pending)
        promise.deliver(caf::make_error(caf::sec::request_receiver_down));
      self->state.pending.clear();
      self->quit();
    },
    [=](leave_atom) {
      self->send(batcher, leave_atom::value);
      self->state.leaving = true;
      finish_leave();
    },
  };
}

} // namespace

struct head::impl {
  struct node_entry {
    transport::envelope route;
    std::string name;
    int fd = -1;
    clock::time_point last_seen;
    std::map<std::string, caf::actor> links; ///< by function
    std::size_t joins_pending = 0;
    std::vector<std::pair<std::string, std::string>> refused;
    bool leaving = false;
  };

  struct batch_owner {
    std::string node_key;
    caf::actor link;
  };

  impl(caf::actor_system& sys, caf::actor batcher, head_config cfg)
    : sys(sys), batcher(std::move(batcher)), cfg(std::move(cfg)), ctx(1), router(ctx),
      mailbox(sys, [this] { router.wake(); }), self(mailbox.self()) {
    std::string err;
    auto bound_eps = router.bind_all(this->cfg.endpoints, &err);
    if (!bound_eps)
      throw std::runtime_error(err);
    bound = std::move(*bound_eps);
    router.watch_disconnects();
    mailbox.become(behavior());
    thread = std::thread{[this] { run(); }};
  }

  ~impl() {
    stop = true;
    router.wake();
    thread.join();
    for (auto& [key, n] : nodes)
      for (auto& [fn, link] : n.links)
        caf::anon_send(link, lost_atom::value);
  }

  caf::behavior behavior() {
    return {
      [this](run_atom, const std::string& node_key, const std::string& fn,
             std::uint64_t bid, const std::vector<std::string>& args) {
        auto n = nodes.find(node_key);
        if (n == nodes.end())
          return; // lost meanwhile: its link was told and fails the batch
        batches[bid] = batch_owner{node_key, n->second.links[fn]};
        router.send(n->second.route, transport::encode_run(bid, fn, args));
      },
      [this](joined_atom, const std::string& node_key, const std::string& fn,
             const std::string& refusal) {
        auto n = nodes.find(node_key);
        if (n == nodes.end())
          return;
        auto& node = n->second;
        if (!refusal.empty()) {
          std::fprintf(stderr, "ferry: refused %s from node %s: %s\n", fn.c_str(),
                       node.name.c_str(), refusal.c_str());
          node.refused.emplace_back(fn, refusal);
          node.links.erase(fn);
        }
        if (node.joins_pending > 0 && --node.joins_pending == 0)
          welcome(node);
      },
      [this](done_atom, const std::string& node_key, const std::string& fn) {
        auto n = nodes.find(node_key);
        if (n == nodes.end())
          return;
        n->second.links.erase(fn);
        if (n->second.leaving && n->second.links.empty()) {
          router.send(n->second.route, transport::encode_node_signal("bye"));
          std::fprintf(stderr, "ferry: node %s left\n", n->second.name.c_str());
          nodes.erase(n);
        }
      },
    };
  }

  /// Logs the node joined, now that the batcher took (or refused) each of its
  /// functions, so a call sent after this line finds them, and welcomes it.
  void welcome(const node_entry& node) {
    std::string fns;
    for (const auto& [fn, link] : node.links)
      fns += (fns.empty() ? "" : ", ") + fn;
    std::fprintf(stderr, "ferry: node %s joined serving [%s]\n", node.name.c_str(), fns.c_str());
    router.send(node.route,
                transport::encode_welcome(cfg.heartbeat_interval.count(),
                                          cfg.heartbeat_timeout.count(), node.refused));
  }

  // -- the socket thread ------------------------------------------------------

  void run() {
    auto next_tick = clock::now() + cfg.heartbeat_interval;
    while (!stop) {
      auto now = clock::now();
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now);
      router.wait(std::max(wait, std::chrono::milliseconds{0}));
      mailbox.drain();
      for (int i = 0; i < 256; ++i) {
        auto msg = router.try_receive();
        if (!msg)
          break;
        on_message(*msg);
      }
      for (auto fd : router.take_disconnects())
        lose_by_fd(fd);
      node_count = nodes.size();
      now = clock::now();
      if (now >= next_tick) {
        tick(now);
        next_tick = now + cfg.heartbeat_interval;
      }
    }
  }

  void drop(const char* what, const std::string& detail) {
    ++dropped;
    std::fprintf(stderr, "ferry: dropped %s from a node: %s\n", what, detail.c_str());
  }

  void on_message(transport::routed_message& msg) {
    if (msg.route.empty())
      return;
    if (msg.body.size() > cfg.max_message_size)
      return drop("oversized message", std::to_string(msg.body.size()) + " bytes");
    std::string err;
    auto decoded = transport::decode_node_message(msg.body, &err);
    if (!decoded)
      return drop("malformed message", err);
    auto& m = *decoded;
    const auto& key = msg.route.front();
    if (m.type == "join")
      return on_join(msg, m);
    auto n = nodes.find(key);
    if (n == nodes.end()) {
      // Not (or no longer) a member: a node that was declared lost and came
      // back, or one whose head restarted. Its results are stale.
      if (m.type == "result")
        drop("late result", "batch " + std::to_string(m.batch) + " of a lost node");
      // A node leaving that is no member has nothing left here.
      router.send(msg.route, transport::encode_node_signal(m.type == "leave" ? "bye" : "rejoin"));
      return;
    }
    auto& node = n->second;
    node.last_seen = clock::now();
    if (msg.peer_fd >= 0)
      node.fd = msg.peer_fd;
    if (m.type == "heartbeat")
      return;
    if (m.type == "result")
      return on_result(key, m);
    if (m.type == "leave")
      return on_leave(n);
    drop("message of unknown type", m.type);
  }

  void on_join(transport::routed_message& msg, transport::node_message& m) {
    const auto& key = msg.route.front();
    if (m.version != transport::node_protocol_version) {
      drop("join", "node protocol version " + std::to_string(m.version));
      router.send(msg.route, transport::encode_refuse(
                               "node protocol version " + std::to_string(m.version)
                               + " is not supported; this head speaks version "
                               + std::to_string(transport::node_protocol_version)));
      return;
    }
    if (nodes.count(key) > 0)
      lose(key, "joined again");
    auto& node = nodes[key];
    node.route = msg.route;
    node.name = m.node.empty() ? "unnamed" : m.node;
    node.fd = msg.peer_fd;
    node.last_seen = clock::now();
    for (auto& spec : m.functions) {
      if (spec.name.empty() || node.links.count(spec.name) > 0)
        continue;
      auto name = spec.name;
      if (spec.knob.concurrency == 0)
        spec.knob.concurrency = 1;
      node.links[name] = sys.spawn(node_link, batcher, mailbox.handle(), key, node.name,
                                   std::move(spec));
      ++node.joins_pending;
    }
    if (node.joins_pending == 0)
      welcome(node);
  }

  void on_result(const std::string& key, transport::node_message& m) {
    auto b = batches.find(m.batch);
    if (b == batches.end() || b->second.node_key != key)
      return drop("result", "unknown batch " + std::to_string(m.batch));
    self->send(b->second.link, result_atom::value, m.batch, std::move(m.outcomes));
    batches.erase(b);
  }

  void on_leave(std::unordered_map<std::string, node_entry>::iterator n) {
    auto& node = n->second;
    node.leaving = true;
    std::fprintf(stderr, "ferry: node %s leaving\n", node.name.c_str());
    if (node.links.empty()) {
      router.send(node.route, transport::encode_node_signal("bye"));
      nodes.erase(n);
      return;
    }
    for (auto& [fn, link] : node.links)
      self->send(link, leave_atom::value);
  }

  void lose(const std::string& key, const std::string& why) {
    auto n = nodes.find(key);
    if (n == nodes.end())
      return;
    ++lost;
    std::fprintf(stderr, "ferry: node %s lost (%s)\n", n->second.name.c_str(), why.c_str());
    for (auto& [fn, link] : n->second.links)
      self->send(link, lost_atom::value);
    for (auto b = batches.begin(); b != batches.end();)
      b = b->second.node_key == key ? batches.erase(b) : std::next(b);
    nodes.erase(n);
  }

  void lose_by_fd(int fd) {
    std::vector<std::string> keys;
    for (const auto& [key, n] : nodes)
      if (n.fd == fd)
        keys.push_back(key);
    for (const auto& key : keys)
      lose(key, "connection closed");
  }

  void tick(clock::time_point now) {
    std::vector<std::string> silent;
    for (auto& [key, n] : nodes) {
      if (now - n.last_seen > cfg.heartbeat_timeout)
        silent.push_back(key);
      else
        router.send(n.route, transport::encode_node_signal("heartbeat"));
    }
    for (const auto& key : silent)
      lose(key, "no heartbeat for " + std::to_string(cfg.heartbeat_timeout.count()) + " ms");
  }

  caf::actor_system& sys;
  caf::actor batcher;
  head_config cfg;
  zmq::context_t ctx;
  transport::router router;
  actors::internal::companion_mailbox mailbox;
  caf::actor_companion* self;
  std::vector<std::string> bound;

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> node_count{0};
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> dropped{0};

  // Owned by the socket thread.
  std::unordered_map<std::string, node_entry> nodes;
  std::unordered_map<std::uint64_t, batch_owner> batches;

  std::thread thread; // last: starts after everything above exists
};

head::head(caf::actor_system& sys, caf::actor batcher, head_config cfg)
  : impl_(std::make_unique<impl>(sys, std::move(batcher), std::move(cfg))) {}

head::~head() = default;

const std::vector<std::string>& head::endpoints() const noexcept {
  return impl_->bound;
}

head_stats head::stats() const {
  return {impl_->node_count, impl_->lost, impl_->dropped};
}

} // namespace ferry::cluster
