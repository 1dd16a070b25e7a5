#pragma once

// Test support for the multi-process tests: a program running as a child
// process, its output read into lines that tests wait on. Timeouts here are
// failure guards only: every wait returns as soon as its line arrives.

#include "tests/support/sync.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ferry::test {

/// Where a child's stderr goes: read like its stdout, or straight to the test's
/// own stderr (so a sanitizer report shows in the test log as it happens).
enum class child_stderr { captured, inherited };

/// A program started with posix_spawn, its stdout (and stderr, when captured)
/// on pipes that a thread of its own reads into one list of lines, in the
/// order read, and into the exact text of each stream. The output accessors
/// are thread-safe; signal(), ended(), wait_exit() and the destructor belong
/// to the owning thread. The destructor SIGKILLs the process unless it has
/// been reaped already, always waits for it and joins the reader, so no test
/// leaves a process behind; where /usr/bin/setpriv exists the child is also
/// started with a parent-death signal, so even a test process killed by a
/// ctest timeout takes its children with it.
class child_process {
public:
  /// Spawns `binary args...` with no signal blocked; throws std::runtime_error
  /// when it cannot. `name` prefixes its lines in failure messages (and on
  /// stderr when FERRY_TEST_VERBOSE is set).
  child_process(std::string name, const std::string& binary,
                const std::vector<std::string>& args,
                child_stderr err = child_stderr::captured);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  /// True until the process has been reaped (by ended() or wait_exit()).
  [[nodiscard]] bool running() const noexcept { return !reaped_; }

  /// Sends `sig` unless the process has been reaped.
  void signal(int sig) const;

  /// Lines printed so far; use it as a mark to wait for lines after it.
  [[nodiscard]] std::size_t line_count() const;

  /// Every line printed so far.
  [[nodiscard]] std::vector<std::string> lines() const;

  /// Lines at index >= `from` that contain `part`.
  [[nodiscard]] std::size_t count(std::string_view part, std::size_t from = 0) const;

  /// The first line at index >= `from` containing `part`, if one arrived.
  [[nodiscard]] std::optional<std::string> find(std::string_view part,
                                                std::size_t from = 0) const;

  /// Waits for a line at index >= `from` containing `part`; nullopt after
  /// `timeout` or once the process closed its output without printing it.
  [[nodiscard]] std::optional<std::string>
  wait_line(std::string_view part, std::size_t from = 0,
            std::chrono::milliseconds timeout = guard) const;

  /// Like wait_line(), for the first line that `match` accepts.
  [[nodiscard]] std::optional<std::string>
  wait_line_if(const std::function<bool(std::string_view)>& match, std::size_t from = 0,
               std::chrono::milliseconds timeout = guard) const;

  /// Reaps the process if it has ended on its own and returns its wait
  /// status; nullopt while it runs (or once reaped already).
  [[nodiscard]] std::optional<int> ended();

  /// Waits for the process to exit and reaps it; returns its wait status, or
  /// nullopt when it still runs after `timeout`.
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout = guard);

  /// Everything printed so far, each line prefixed with the name.
  [[nodiscard]] std::string output() const;

  /// The exact bytes read so far from stdout, and from a captured stderr.
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;

  /// Blocks until `pred()` holds, evaluating it again whenever any child
  /// prints a line or closes its output; false after `timeout`. `pred` may
  /// use the accessors above.
  static bool wait_until(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = guard);

private:
  void read_output(std::vector<int> fds);

  std::string name_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::vector<std::string> lines_; ///< guarded by the shared output lock
  std::string text_[2];            ///< stdout, stderr; same lock
  bool closed_ = false;            ///< every pipe hit EOF; same lock
  std::thread reader_;
};

} // namespace ferry::test
