#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ferry::runtime {

/// A per-function knob set from the command line or a config file:
/// `--knob FN.KNOB=VALUE`.
struct knob_override {
  std::string fn;
  std::string knob; ///< max_batch_size, max_batch_delay_ms, concurrency, queue_limit
  std::string value;
};

/// What a ferry server process is told at start. Defaults serve the embedded
/// single-node case with no flags at all.
struct server_options {
  std::vector<std::string> listen;  ///< empty: tcp://127.0.0.1:5555
  std::size_t max_message_size = 4 * 1024 * 1024;
  std::size_t threads = 0;          ///< CAF scheduler threads; 0 = one per core
  std::chrono::milliseconds drain_timeout{30000};
  std::vector<knob_override> knobs;
  /// Head mode: endpoints worker nodes join.
  std::vector<std::string> cluster;
  /// Worker mode: the head's cluster endpoint to join (no gateway then).
  std::string join;
  std::string node_name;
  std::chrono::milliseconds heartbeat{250};
  std::chrono::milliseconds heartbeat_timeout{1500};
  bool unavailable_without_workers = false;
};

/// A command-line option a program adds to the standard ones, `--NAME VALUE`.
/// `set` returns an error message, or an empty string when the value is fine.
struct extra_option {
  std::string name;
  std::string value_name;
  std::string help;
  std::function<std::string(const std::string&)> set;
};

/// An extra option `--NAME N` taking a non-negative integer, handed to `set`.
[[nodiscard]] extra_option count_option(std::string name, std::string help,
                                        std::function<void(long)> set);

/// The outcome of parsing: run with the options, or exit with `exit_code`
/// after `message` (help on stdout when exit_code is 0, errors on stderr).
struct parse_result {
  std::optional<server_options> options;
  int exit_code = 0;
  std::string message;
};

/// Parses `argv` (and any `--config FILE` it names: one `name = value` or
/// `name value` per line, names as the long options without `--`, `#`
/// comments). Unknown options, missing values and malformed numbers are
/// errors with exit code 2.
[[nodiscard]] parse_result parse_options(int argc, const char* const* argv,
                                         const std::string& program,
                                         const std::vector<extra_option>& extra);

} // namespace ferry::runtime
