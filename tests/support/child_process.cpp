#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

extern char** environ;

namespace ferry::test {

namespace {

// One lock and one condition for the output of every child, so a test can
// wait for a line from any of several processes. Recursive: wait_until()
// evaluates predicates that call the locking accessors.
std::recursive_mutex output_mtx;
std::condition_variable_any output_cv;

const bool verbose = std::getenv("FERRY_TEST_VERBOSE") != nullptr;

constexpr const char* setpriv = "/usr/bin/setpriv";

} // namespace

child_process::child_process(std::string name, const std::string& binary,
                             const std::vector<std::string>& args, child_stderr err)
  : name_(std::move(name)) {
  // One pipe per captured stream. Close-on-exec in the parent: no other child
  // inherits these pipes, so EOF comes exactly when this one exits. dup2 onto
  // 1 and 2 clears the flag there.
  int streams = err == child_stderr::captured ? 2 : 1;
  int pipes[2][2];
  for (int i = 0; i < streams; ++i)
    if (::pipe2(pipes[i], O_CLOEXEC) != 0) {
      auto what = std::string{"pipe2: "} + std::strerror(errno);
      for (int j = 0; j < i; ++j) {
        ::close(pipes[j][0]);
        ::close(pipes[j][1]);
      }
      throw std::runtime_error(what);
    }
  std::vector<std::string> words;
  if (::access(setpriv, X_OK) == 0)
    words = {setpriv, "--pdeathsig", "KILL", "--"};
  words.push_back(binary);
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int i = 0; i < streams; ++i)
    posix_spawn_file_actions_adddup2(&actions, pipes[i][1], STDOUT_FILENO + i);
  // The child starts with no signal blocked and default handlers for the
  // signals the tests send, whatever the test runner set up.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGCONT})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  std::vector<int> read_ends;
  for (int i = 0; i < streams; ++i) {
    ::close(pipes[i][1]);
    read_ends.push_back(pipes[i][0]);
  }
  if (rc != 0) {
    for (int fd : read_ends)
      ::close(fd);
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
  }
  reader_ = std::thread{[this, fds = std::move(read_ends)] { read_output(fds); }};
}

child_process::~child_process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (reader_.joinable())
    reader_.join();
}

void child_process::signal(int sig) const {
  if (!reaped_ && pid_ > 0)
    ::kill(pid_, sig);
}

void child_process::read_output(std::vector<int> fds) {
  std::vector<pollfd> polled;
  for (int fd : fds)
    polled.push_back({fd, POLLIN, 0});
  std::string pending[2];
  auto open = polled.size();
  auto add_lines = [&](std::string& buf, bool flush_all) {
    std::vector<std::string> got;
    for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
      got.push_back(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
    if (flush_all && !buf.empty()) {
      got.push_back(buf);
      buf.clear();
    }
    if (got.empty())
      return;
    {
      std::lock_guard<std::recursive_mutex> guard{output_mtx};
      for (auto& line : got) {
        if (verbose)
          std::fprintf(stderr, "[%s] %s\n", name_.c_str(), line.c_str());
        lines_.push_back(std::move(line));
      }
    }
    output_cv.notify_all();
  };
  while (open > 0) {
    if (::poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      if (polled[i].fd < 0 || polled[i].revents == 0)
        continue;
      char chunk[4096];
      auto n = ::read(polled[i].fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        ::close(polled[i].fd);
        polled[i].fd = -1; // poll ignores negative descriptors
        --open;
        add_lines(pending[i], true);
        continue;
      }
      {
        std::lock_guard<std::recursive_mutex> guard{output_mtx};
        text_[i].append(chunk, static_cast<std::size_t>(n));
      }
      pending[i].append(chunk, static_cast<std::size_t>(n));
      add_lines(pending[i], false);
    }
  }
  for (auto& p : polled)
    if (p.fd >= 0)
      ::close(p.fd);
  {
    std::lock_guard<std::recursive_mutex> guard{output_mtx};
    closed_ = true;
  }
  output_cv.notify_all();
}

std::size_t child_process::line_count() const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  return lines_.size();
}

std::vector<std::string> child_process::lines() const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  return lines_;
}

std::size_t child_process::count(std::string_view part, std::size_t from) const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  std::size_t n = 0;
  for (auto i = from; i < lines_.size(); ++i)
    if (contains(lines_[i], part))
      ++n;
  return n;
}

std::optional<std::string> child_process::find(std::string_view part,
                                               std::size_t from) const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  for (auto i = from; i < lines_.size(); ++i)
    if (contains(lines_[i], part))
      return lines_[i];
  return std::nullopt;
}

std::optional<std::string> child_process::wait_line(std::string_view part, std::size_t from,
                                                    std::chrono::milliseconds timeout) const {
  return wait_line_if([part](std::string_view line) { return contains(line, part); }, from,
                      timeout);
}

std::optional<std::string>
child_process::wait_line_if(const std::function<bool(std::string_view)>& match,
                            std::size_t from, std::chrono::milliseconds timeout) const {
  std::optional<std::string> found;
  wait_until(
    [&] {
      for (auto i = from; i < lines_.size() && !found; ++i)
        if (match(lines_[i]))
          found = lines_[i];
      return found.has_value() || closed_;
    },
    timeout);
  return found;
}

std::optional<int> child_process::ended() {
  int status = 0;
  if (reaped_ || ::waitpid(pid_, &status, WNOHANG) != pid_)
    return std::nullopt;
  reaped_ = true;
  return status;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (reaped_)
    return std::nullopt;
  // The process closes its output when it exits: wait for that, then reap.
  bool closed = wait_until(
    [&] {
      std::lock_guard<std::recursive_mutex> guard{output_mtx};
      return closed_;
    },
    timeout);
  if (!closed)
    return std::nullopt;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0)
    if (errno != EINTR)
      return std::nullopt;
  reaped_ = true;
  return status;
}

std::string child_process::output() const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  std::string out;
  for (const auto& l : lines_)
    out += "  [" + name_ + "] " + l + "\n";
  return out;
}

std::string child_process::stdout_text() const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  return text_[0];
}

std::string child_process::stderr_text() const {
  std::lock_guard<std::recursive_mutex> guard{output_mtx};
  return text_[1];
}

bool child_process::wait_until(const std::function<bool()>& pred,
                               std::chrono::milliseconds timeout) {
  std::unique_lock<std::recursive_mutex> lock{output_mtx};
  return output_cv.wait_for(lock, timeout, pred);
}

} // namespace ferry::test
