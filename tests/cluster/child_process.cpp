#include "child_process.hpp"

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
                             const std::vector<std::string>& args)
  : name_(std::move(name)) {
  int out[2];
  int err[2];
  // Close-on-exec in the parent: no other child inherits these pipes, so EOF
  // comes exactly when this one exits. dup2 onto 1 and 2 clears the flag there.
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"pipe2: "} + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error(std::string{"pipe2: "} + std::strerror(errno));
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
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
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
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + binary + ": " + std::strerror(rc));
  }
  reader_ = std::thread{[this, o = out[0], e = err[0]] { read_output(o, e); }};
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

void child_process::read_output(int out_fd, int err_fd) {
  std::string pending[2];
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
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
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      char chunk[4096];
      auto n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1; // poll ignores negative descriptors
        --open;
        add_lines(pending[i], true);
        continue;
      }
      pending[i].append(chunk, static_cast<std::size_t>(n));
      add_lines(pending[i], false);
    }
  }
  for (auto& fd : fds)
    if (fd.fd >= 0)
      ::close(fd.fd);
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
  std::optional<std::string> found;
  wait_until(
    [&] {
      found = find(part, from);
      std::lock_guard<std::recursive_mutex> guard{output_mtx};
      return found.has_value() || closed_;
    },
    timeout);
  return found;
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

bool child_process::wait_until(const std::function<bool()>& pred,
                               std::chrono::milliseconds timeout) {
  std::unique_lock<std::recursive_mutex> lock{output_mtx};
  return output_cv.wait_for(lock, timeout, pred);
}

} // namespace ferry::test
