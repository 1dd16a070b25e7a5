// ferry_test_worker: a runtime::app whose functions tell the cluster tests
// (tests/cluster/) which node ran a call. Run it as a worker node with --join.
//
//   where(ms) -> tag        batched, default knobs (4 per batch); sleeps the
//                           batch's largest ms, answers --tag for every request
//   slow_where(ms) -> tag   the same with max_batch_size 4 spelled out, for the
//                           tests that hold batches on a node
//
// Before each batch it prints "test_worker TAG: running FN batch of N" on
// stderr, so a test can wait for a node to hold a batch (an event, not a sleep).
//
//   ferry_test_worker --join tcp://127.0.0.1:5556 --node-name w1 --tag w1

#include "runtime/app.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string tag = "untagged";

std::vector<std::string> run(const char* fn, const std::vector<std::int64_t>& ms) {
  std::fprintf(stderr, "test_worker %s: running %s batch of %zu\n", tag.c_str(), fn,
               ms.size());
  std::fflush(stderr);
  auto longest = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  std::this_thread::sleep_for(std::chrono::milliseconds{std::max<std::int64_t>(longest, 0)});
  return std::vector<std::string>(ms.size(), tag);
}

std::vector<std::string> where(const std::vector<std::int64_t>& ms) {
  return run("where", ms);
}

std::vector<std::string> slow_where(const std::vector<std::int64_t>& ms) {
  return run("slow_where", ms);
}

} // namespace

int main(int argc, char** argv) {
  ferry::runtime::app app{"ferry_test_worker"};
  app.add_batch("where", where);
  ferry::transport::knobs slow;
  slow.max_batch_size = 4;
  app.add_batch("slow_where", slow_where, slow);
  app.add_option({"tag", "NAME", "what where and slow_where answer (default untagged)",
                  [](const std::string& v) -> std::string {
                    if (v.empty())
                      return "--tag expects a name";
                    tag = v;
                    return {};
                  }});
  return app.launch(argc, argv);
}
