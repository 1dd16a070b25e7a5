#include "runtime/app.hpp"

#include "actors/gateway.hpp"
#include "actors/messages.hpp"
#include "cluster/head.hpp"
#include "cluster/worker_node.hpp"
#include "runtime/embedded.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace ferry::runtime {

namespace {

/// Applies `--knob FN.KNOB=VALUE` overrides; returns an error message or "".
std::string apply_knobs(workers::function_registry& registry,
                        const std::vector<knob_override>& overrides) {
  for (const auto& o : overrides) {
    auto fn = registry.find(o.fn);
    if (fn == nullptr)
      return "--knob: no function named '" + o.fn + "'";
    auto k = fn->spec.knob;
    char* end = nullptr;
    errno = 0;
    auto n = std::strtod(o.value.c_str(), &end);
    if (o.value.empty() || *end != '\0' || errno != 0 || n < 0 || n > 4e9)
      return "--knob " + o.fn + "." + o.knob + ": bad value '" + o.value + "'";
    if (o.knob == "max_batch_size")
      k.max_batch_size = static_cast<std::uint32_t>(n);
    else if (o.knob == "max_batch_delay_ms")
      k.max_batch_delay_us = static_cast<std::int64_t>(n * 1000.0);
    else if (o.knob == "concurrency")
      k.concurrency = static_cast<std::uint32_t>(n);
    else if (o.knob == "queue_limit")
      k.queue_limit = static_cast<std::uint32_t>(n);
    else
      return "--knob: unknown knob '" + o.knob
             + "' (max_batch_size, max_batch_delay_ms, concurrency, queue_limit)";
    try {
      registry.set_knobs(o.fn, k);
    } catch (const std::invalid_argument& e) {
      return std::string{"--knob: "} + e.what();
    }
  }
  return {};
}

} // namespace

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

/// Blocks until SIGINT or SIGTERM; returns its name.
const char* wait_for_stop() {
  auto set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

void say(const std::string& line) {
  std::printf("ferry: %s\n", line.c_str());
  std::fflush(stdout);
}

} // namespace

int app::launch(int argc, const char* const* argv) {
  auto parsed = parse_options(argc, argv, program_, extra_);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  auto& opts = *parsed.options;
  if (auto err = apply_knobs(registry_, opts.knobs); !err.empty()) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), err.c_str());
    return 2;
  }
  if (!opts.join.empty() && registry_.empty()) {
    std::fprintf(stderr, "%s: --join needs functions to serve; this program has none\n",
                 program_.c_str());
    return 2;
  }
  // A program without functions of its own serves what worker nodes bring.
  if (registry_.empty() && opts.join.empty() && opts.cluster.empty())
    opts.cluster.push_back("tcp://127.0.0.1:5556");

  // Signals are taken by sigwait(); every thread started from here on
  // inherits the mask.
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config cfg;
  configure_actor_system(cfg, opts.threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  return opts.join.empty() ? serve(sys, opts) : work(sys, opts);
}

int app::serve(caf::actor_system& sys, const server_options& opts) {
  actors::batcher_config batcher_cfg;
  batcher_cfg.unavailable_without_workers = opts.unavailable_without_workers;
  embedded node{sys, registry_, batcher_cfg};

  actors::gateway_config gw_cfg;
  gw_cfg.endpoints = opts.listen;
  gw_cfg.max_message_size = opts.max_message_size;
  std::optional<actors::gateway> gw;
  std::optional<cluster::head> head;
  try {
    gw.emplace(sys, node.batcher(), gw_cfg);
    if (!opts.cluster.empty()) {
      cluster::head_config head_cfg;
      head_cfg.endpoints = opts.cluster;
      head_cfg.heartbeat_interval = opts.heartbeat;
      head_cfg.heartbeat_timeout = opts.heartbeat_timeout;
      head.emplace(sys, node.batcher(), head_cfg);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), e.what());
    return 1;
  }
  for (const auto& ep : gw->endpoints())
    say("listening on " + ep);
  if (head)
    for (const auto& ep : head->endpoints())
      say("cluster on " + ep);
  say("ready");

  say(std::string{wait_for_stop()} + " received, draining");
  gw->drain();
  bool clean = gw->wait_drained(opts.drain_timeout);
  if (!clean)
    (void) gw->abandon_open_calls("the server stopped before this call finished",
                                  std::chrono::seconds{5});
  auto st = gw->stats();
  say(std::to_string(st.received) + " messages received, " + std::to_string(st.rejected)
      + " rejected as malformed or too large");
  say(clean ? "drained, exiting" : "drain timed out; open calls answered unavailable, exiting");
  return clean ? 0 : 1;
}

int app::work(caf::actor_system& sys, const server_options& opts) {
  cluster::worker_node_config node_cfg;
  node_cfg.head = opts.join;
  node_cfg.name = opts.node_name;
  node_cfg.heartbeat_interval = opts.heartbeat;
  node_cfg.heartbeat_timeout = opts.heartbeat_timeout;
  std::atomic<bool> refused{false};
  node_cfg.on_refused = [&refused](const std::string&) {
    refused = true;
    ::kill(::getpid(), SIGTERM); // wakes wait_for_stop()
  };
  std::optional<cluster::worker_node> node;
  try {
    node.emplace(sys, registry_, node_cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), e.what());
    return 1;
  }
  say("worker node joining " + opts.join);
  say("ready");
  auto sig = wait_for_stop();
  if (refused) {
    say("refused by the head, exiting");
    return 1;
  }
  say(std::string{sig} + " received, leaving the cluster");
  node->leave();
  bool clean = node->wait_left(opts.drain_timeout);
  say(clean ? "left, exiting" : "leave timed out, exiting");
  return clean ? 0 : 1;
}

} // namespace ferry::runtime
