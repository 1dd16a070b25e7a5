// ferry_bench_server: the server side of the network-edge benchmark. Its
// functions do no work, so what a call costs is ferry's own path: gateway,
// batcher, worker and back.
//
//   noop(xs) -> xs         batched, identity on a column of strings;
//                          max_batch_size 64, max_batch_delay 0, concurrency 1
//   noop_plain(x) -> x     the same as a plain (unbatched) function
//
//   ferry_bench_server --listen tcp://127.0.0.1:*          # a server
//   ferry_bench_server --join tcp://127.0.0.1:5556         # a worker node
//
// As a worker node it serves the same no-op to a head, for the remote-versus-
// local latency measure in bench/load/run_scaling.sh.

#include "runtime/app.hpp"

#include <string>
#include <vector>

namespace {

std::vector<std::string> noop(const std::vector<std::string>& xs) { return xs; }

std::string noop_plain(const std::string& x) { return x; }

} // namespace

int main(int argc, char** argv) {
  ferry::runtime::app app{"ferry_bench_server"};
  ferry::transport::knobs k;
  k.max_batch_size = 64;
  k.max_batch_delay_us = 0;
  k.concurrency = 1;
  k.queue_limit = 100000; // the load generator bounds what is in flight
  app.add_batch("noop", noop, k);
  app.add("noop_plain", noop_plain, k);
  return app.launch(argc, argv);
}
