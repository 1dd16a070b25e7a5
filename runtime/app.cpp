#include "runtime/app.hpp"

#include "actors/gateway.hpp"
#include "actors/messages.hpp"
#include "runtime/embedded.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <pthread.h>

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

  // Signals are taken by sigwait() below; every thread started from here on
  // inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config cfg;
  actors::add_message_types(cfg);
  if (opts.threads > 0)
    cfg.set("scheduler.max-threads", opts.threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  embedded node{sys, registry_};

  actors::gateway_config gw_cfg;
  gw_cfg.endpoints = opts.listen;
  gw_cfg.max_message_size = opts.max_message_size;
  std::optional<actors::gateway> gw;
  try {
    gw.emplace(sys, node.batcher(), gw_cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), e.what());
    return 1;
  }
  for (const auto& ep : gw->endpoints())
    std::printf("ferry: listening on %s\n", ep.c_str());
  std::printf("ferry: ready\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::printf("ferry: %s received, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  gw->drain();
  bool clean = gw->wait_drained(opts.drain_timeout);
  std::printf("ferry: %s\n", clean ? "drained, exiting" : "drain timed out, exiting");
  std::fflush(stdout);
  return clean ? 0 : 1;
}

} // namespace ferry::runtime
