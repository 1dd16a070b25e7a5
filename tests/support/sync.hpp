#pragma once

// What the tests wait with instead of sleeps: the failure guard that bounds
// every wait, and a gate that holds a thread until the test opens it.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>

namespace ferry::test {

/// How long a test waits for something that must happen before it fails.
/// Never the mechanism: every wait returns as soon as its condition holds.
inline constexpr std::chrono::milliseconds guard{10'000};

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// Closed until open() is called once; pass() blocks while it is closed.
/// Safe to use from any thread.
class gate {
public:
  void open() {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      open_ = true;
    }
    cv_.notify_all();
  }

  void pass() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [this] { return open_; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

} // namespace ferry::test
