#pragma once

#include "runtime/options.hpp"
#include "workers/function_registry.hpp"

#include <caf/fwd.hpp>

#include <string>
#include <vector>

namespace ferry::runtime {

/// The facade a ferry server's main() uses: register functions with their
/// knobs, then launch(). launch() reads options from the command line (and an
/// optional config file) and runs in one of two roles:
/// - server (default): the batcher, a local worker pool and a gateway; with
///   --cluster also a head that worker nodes join (a program without
///   functions, like ferryd, is a pure head). Serves until SIGINT or SIGTERM,
///   then drains: new calls get `unavailable`, accepted calls finish and are
///   answered, and launch() returns 0.
/// - worker node (--join ENDPOINT): serves its functions to a head; on
///   SIGINT/SIGTERM leaves gracefully (its running batches finish first).
///
///     ferry::runtime::app app{"trim_words"};
///     app.add_batch("trim_words", trim_words, {.max_batch_size = 16});
///     return app.launch(argc, argv);
class app {
public:
  explicit app(std::string program) : program_(std::move(program)) {}

  /// See workers::function_registry::add_batch.
  template <class F>
  const transport::function_spec& add_batch(std::string name, F fn,
                                            transport::knobs k = {}) {
    return registry_.add_batch(std::move(name), std::move(fn), k);
  }

  /// See workers::function_registry::add.
  template <class F>
  const transport::function_spec& add(std::string name, F fn, transport::knobs k = {}) {
    return registry_.add(std::move(name), std::move(fn), k);
  }

  [[nodiscard]] workers::function_registry& registry() noexcept { return registry_; }

  /// Adds a program-specific option shown by --help.
  void add_option(extra_option opt) { extra_.push_back(std::move(opt)); }

  /// Serves until SIGINT/SIGTERM. Returns the process exit code: 0 after a
  /// clean drain or --help, 1 when it cannot start (an endpoint in use), 2 for
  /// bad options. Prints "ferry: listening on ENDPOINT" per endpoint, then
  /// "ferry: ready", on stdout.
  int launch(int argc, const char* const* argv);

private:
  int serve(caf::actor_system& sys, const server_options& opts);
  int work(caf::actor_system& sys, const server_options& opts);

  std::string program_;
  workers::function_registry registry_;
  std::vector<extra_option> extra_;
};

} // namespace ferry::runtime
