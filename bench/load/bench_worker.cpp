// ferry_bench_worker: a worker node for the cluster scaling benchmark. Its
// batch function is sleep-bound, so one node's throughput is set by the
// sleep and the batch size, not by the CPU, and 2 cores can host 8 nodes.
//
//   sleepy(xs) -> xs       batched; sleeps --sleep-ms (default 20) per batch;
//                          max_batch_size 8, concurrency 1: at most
//                          8 / 20 ms = 400 calls/s per node
//
//   ferry_bench_worker --join tcp://127.0.0.1:5556 --node-name w1

#include "runtime/app.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<long> sleep_ms{20};

std::vector<std::string> sleepy(const std::vector<std::string>& xs) {
  std::this_thread::sleep_for(std::chrono::milliseconds{sleep_ms.load()});
  return xs;
}

} // namespace

int main(int argc, char** argv) {
  ferry::runtime::app app{"ferry_bench_worker"};
  ferry::transport::knobs k;
  k.max_batch_size = 8;
  k.max_batch_delay_us = 0;
  k.concurrency = 1;
  k.queue_limit = 100000; // the load generator bounds what is in flight
  app.add_batch("sleepy", sleepy, k);
  app.add_option(ferry::runtime::count_option("sleep-ms", "time one batch of sleepy takes (default 20)",
                                               [](long n) { sleep_ms = n; }));
  return app.launch(argc, argv);
}
