#include "cluster/worker_node.hpp"

#include "actors/internal/companion_mailbox.hpp"
#include "actors/messages.hpp"
#include "transport/dealer.hpp"
#include "transport/node_protocol.hpp"
#include "workers/local_pool.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace ferry::cluster {

namespace {

using actors::clock;
using transport::errc;
using transport::outcome;

std::string default_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0)
    std::snprintf(host, sizeof(host), "node");
  return std::string{host} + ":" + std::to_string(::getpid());
}

} // namespace

struct worker_node::impl {
  struct running_batch {
    std::uint64_t batch;
    std::string fn;
  };

  struct waiting_batch {
    std::uint64_t batch;
    std::vector<std::string> args;
  };

  impl(caf::actor_system& sys, const workers::function_registry& registry,
       worker_node_config cfg)
    : sys(sys), cfg(std::move(cfg)), mailbox(sys, [this] { dealer.wake(); }),
      self(mailbox.self()) {
    if (this->cfg.name.empty())
      this->cfg.name = default_name();
    for (const auto& fn : registry.all()) {
      specs.push_back(fn->spec);
      for (std::uint32_t i = 0; i < fn->spec.knob.concurrency; ++i) {
        auto w = workers::spawn_worker(sys, fn);
        idle[fn->spec.name].push_back(w);
        all_workers.push_back(std::move(w));
      }
    }
    std::string err;
    if (!dealer.connect(this->cfg.head, &err))
      throw std::runtime_error(err);
    mailbox.become(behavior());
    thread = std::thread{[this] { run(); }};
  }

  ~impl() {
    stop = true;
    dealer.wake();
    thread.join();
    for (auto& w : all_workers)
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  }

  caf::behavior behavior() {
    return {
      [this](std::vector<outcome>& outs) {
        auto src = caf::actor_cast<caf::actor>(self->current_sender());
        auto i = running.find(src);
        if (i == running.end())
          return;
        send(transport::encode_node_result(i->second.batch, outs));
        auto fn = i->second.fn;
        idle[fn].push_back(src);
        running.erase(i);
        start_waiting(fn);
      },
      [this](actors::leave_atom) { (void) send(transport::encode_node_signal("leave")); },
    };
  }

  // -- the socket thread ------------------------------------------------------

  void run() {
    auto next_tick = clock::now();
    while (!stop) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - clock::now());
      dealer.wait(std::max(wait, std::chrono::milliseconds{0}));
      mailbox.drain();
      while (auto ev = dealer.try_link_event()) {
        if (ev->up) {
          send_join();
        } else if (is_joined) {
          std::fprintf(stderr, "ferry: lost the head (connection closed); rejoining\n");
          is_joined = false;
        }
      }
      while (auto msg = dealer.try_receive())
        on_message(msg->body);
      auto now = clock::now();
      if (now >= next_tick) {
        tick(now);
        next_tick = now + cfg.heartbeat_interval;
      }
    }
  }

  bool send(const std::string& body) {
    return dealer.try_send(0, body);
  }

  void send_join() {
    if (refused || leaving)
      return;
    join_sent = clock::now();
    (void) send(transport::encode_join(cfg.name, specs));
  }

  void tick(clock::time_point now) {
    if (is_joined) {
      if (now - last_heard > cfg.heartbeat_timeout) {
        std::fprintf(stderr, "ferry: lost the head (silent for %lld ms); rejoining\n",
                     static_cast<long long>(cfg.heartbeat_timeout.count()));
        is_joined = false;
        send_join();
      } else {
        (void) send(transport::encode_node_signal("heartbeat"));
      }
    } else if (now - join_sent >= cfg.heartbeat_timeout) {
      send_join(); // the head may be back; ZeroMQ drops it while it is not
    }
  }

  void on_message(const std::string& body) {
    std::string err;
    auto m = transport::decode_node_message(body, &err);
    if (!m) {
      std::fprintf(stderr, "ferry: dropped a malformed message from the head: %s\n", err.c_str());
      return;
    }
    last_heard = clock::now();
    if (m->type == "welcome") {
      is_joined = true;
      if (m->heartbeat_ms > 0)
        cfg.heartbeat_interval = std::chrono::milliseconds{m->heartbeat_ms};
      if (m->timeout_ms > 0)
        cfg.heartbeat_timeout = std::chrono::milliseconds{m->timeout_ms};
      for (const auto& [fn, reason] : m->refused)
        std::fprintf(stderr, "ferry: the head refused %s: %s\n", fn.c_str(), reason.c_str());
      std::fprintf(stderr, "ferry: joined the head at %s as %s\n", cfg.head.c_str(),
                   cfg.name.c_str());
    } else if (m->type == "run") {
      on_run(*m);
    } else if (m->type == "rejoin") {
      is_joined = false;
      // A node back from a pause gets a rejoin for each message it sent while
      // paused; one join answers them all.
      if (clock::now() - join_sent > cfg.heartbeat_interval)
        send_join();
    } else if (m->type == "refuse") {
      refused = true;
      std::fprintf(stderr, "ferry: the head refused this node: %s\n", m->reason.c_str());
      if (cfg.on_refused)
        cfg.on_refused(m->reason);
    } else if (m->type == "bye") {
      std::lock_guard<std::mutex> guard{left_mtx};
      left = true;
      left_cv.notify_all();
    } else if (m->type != "heartbeat") {
      std::fprintf(stderr, "ferry: dropped a message of unknown type '%s' from the head\n",
                   m->type.c_str());
    }
  }

  void on_run(transport::node_message& m) {
    auto free = idle.find(m.fn);
    if (free == idle.end()) {
      std::vector<outcome> outs(m.args.size(),
                                outcome::failure(errc::unavailable,
                                                 "node " + cfg.name + " does not serve '" + m.fn
                                                   + "'"));
      (void) send(transport::encode_node_result(m.batch, outs));
      return;
    }
    // No free worker happens after a rejoin while a batch of the old
    // membership still runs (the head counts the node's full capacity again):
    // the batch waits here for that worker instead of failing.
    waiting[m.fn].push_back(waiting_batch{m.batch, std::move(m.args)});
    start_waiting(m.fn);
  }

  void start_waiting(const std::string& fn) {
    auto& free = idle[fn];
    auto& queue = waiting[fn];
    while (!free.empty() && !queue.empty()) {
      auto w = free.back();
      free.pop_back();
      running.emplace(w, running_batch{queue.front().batch, fn});
      self->send(w, actors::run_atom::value, std::move(queue.front().args));
      queue.pop_front();
    }
  }

  caf::actor_system& sys;
  worker_node_config cfg;
  transport::dealer dealer;
  actors::internal::companion_mailbox mailbox;
  caf::actor_companion* self;
  std::vector<transport::function_spec> specs;
  std::vector<caf::actor> all_workers;

  std::atomic<bool> stop{false};
  std::atomic<bool> is_joined{false};
  std::atomic<bool> leaving{false};
  std::mutex left_mtx;
  std::condition_variable left_cv;
  bool left = false;

  // Owned by the socket thread.
  std::map<std::string, std::vector<caf::actor>> idle;
  std::map<caf::actor, running_batch> running;
  std::map<std::string, std::deque<waiting_batch>> waiting;
  bool refused = false;
  clock::time_point last_heard;
  clock::time_point join_sent;

  std::thread thread; // last: starts after everything above exists
};

worker_node::worker_node(caf::actor_system& sys, const workers::function_registry& registry,
                         worker_node_config cfg)
  : impl_(std::make_unique<impl>(sys, registry, std::move(cfg))) {}

worker_node::~worker_node() = default;

void worker_node::leave() {
  impl_->leaving = true;
  // The socket thread owns the socket: hand the leave over through the mailbox.
  caf::anon_send(impl_->mailbox.handle(), actors::leave_atom::value);
}

bool worker_node::wait_left(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{impl_->left_mtx};
  return impl_->left_cv.wait_for(guard, timeout, [this] { return impl_->left; });
}

bool worker_node::joined() const {
  return impl_->is_joined;
}

} // namespace ferry::cluster
