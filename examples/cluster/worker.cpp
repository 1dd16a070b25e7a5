// A worker node program for a ferry cluster. It is an ordinary runtime::app:
// run alone it serves clients itself; started with --join it serves them
// through a head (ferryd, or any server started with --cluster), and any
// number of copies can join and leave while calls flow.
//
//   embed(texts) -> (lengths, served_by)   batched: up to 8 texts per call of
//                                          the function, waiting up to 20 ms
//                                          for company; each call takes
//                                          --sleep-ms (default 200)
//
//   ferryd --listen tcp://127.0.0.1:5555 --cluster tcp://127.0.0.1:5556
//   cluster_worker --join tcp://127.0.0.1:5556 --node-name n1
//   cluster_worker --join tcp://127.0.0.1:5556 --node-name n2
//   ferry call embed "hello world"          # prints 11 and "n1" (or "n2")
//
// `served_by` is the node's name (--node-name; default HOST:PID, as the head
// shows it), so a client can see where its call ran. examples/cluster/run.sh
// runs this whole scene on loopback.

#include "runtime/app.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

std::atomic<long> sleep_ms{200};
std::string node_name;

/// A stand-in for a model that embeds a batch of texts at once: what it costs
/// is per call, not per text, which is what batching across nodes pays off.
std::tuple<std::vector<std::int64_t>, std::vector<std::string>>
embed(const std::vector<std::string>& texts) {
  std::this_thread::sleep_for(std::chrono::milliseconds{sleep_ms.load()});
  std::vector<std::int64_t> lengths;
  lengths.reserve(texts.size());
  for (const auto& t : texts)
    lengths.push_back(static_cast<std::int64_t>(t.size()));
  return {std::move(lengths), std::vector<std::string>(texts.size(), node_name)};
}

/// The name the head knows this node by: --node-name, else HOST:PID (the
/// worker node's own default).
std::string own_name(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--node-name" && i + 1 < argc)
      return argv[i + 1];
    if (arg.rfind("--node-name=", 0) == 0)
      return arg.substr(12);
  }
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0)
    return "node:" + std::to_string(::getpid());
  return std::string{host} + ":" + std::to_string(::getpid());
}

} // namespace

int main(int argc, char** argv) {
  node_name = own_name(argc, argv);
  ferry::runtime::app app{"cluster_worker"};
  ferry::transport::knobs k;
  k.max_batch_size = 8;
  k.max_batch_delay_us = 20'000;
  app.add_batch("embed", embed, k);
  app.add_option(ferry::runtime::count_option("sleep-ms", "time one call of embed takes (default 200)",
                                               [](long n) { sleep_ms = n; }));
  return app.launch(argc, argv);
}
