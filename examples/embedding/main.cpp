// The classic example, embedded: ferry's batcher and a local worker pool inside
// this program's own actor_system, called from plain C++ threads.
//
// trim_words(words, lens) cuts each word to its length. Each call of the
// function takes --sleep-ms (a stand-in for a model on a GPU). 16 concurrent
// calls to the batched registration (max_batch_size 16) finish in about one
// call's time; the same 16 calls one by one take 16 times as long.

#include "actors/messages.hpp"
#include "runtime/embedded.hpp"
#include "runtime/local_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<int> batches{0};
std::chrono::milliseconds sleep_per_call{1000};

std::vector<std::string> trim_words(const std::vector<std::string>& words,
                                    const std::vector<std::int64_t>& lens) {
  ++batches;
  std::this_thread::sleep_for(sleep_per_call);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i)
    out.push_back(words[i].substr(0, static_cast<std::size_t>(std::max<std::int64_t>(lens[i], 0))));
  return out;
}

struct run_stats {
  int batches;
  double seconds;
  bool all_right;
};

run_stats run_concurrent(const ferry::runtime::local_client& client,
                         const std::string& fn, int calls) {
  batches = 0;
  auto start = std::chrono::steady_clock::now();
  std::vector<ferry::runtime::job> jobs;
  for (int i = 0; i < calls; ++i)
    jobs.push_back(client.submit(fn, "word" + std::to_string(i), std::int64_t{3}));
  bool all_right = true;
  for (auto& j : jobs) {
    auto out = j.get();
    std::tuple<std::string> trimmed;
    all_right = all_right && out.ok() && !ferry::transport::unpack_tuple(out.body, trimmed)
                && std::get<0>(trimmed) == "wor";
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {batches.load(), secs, all_right};
}

void usage(const char* argv0) {
  std::printf("usage: %s [--sleep-ms N] [--calls N]\n"
              "  Runs trim_words(words, lens) embedded: N concurrent calls (default 16)\n"
              "  batched with max_batch_size 16, then the same calls one by one.\n"
              "  --sleep-ms N  time one call of the function takes (default 1000)\n",
              argv0);
}

} // namespace

int main(int argc, char** argv) {
  int calls = 16;
  for (int i = 1; i < argc; ++i) {
    auto arg = std::string{argv[i]};
    if (arg == "--help" || arg == "-h") {
      usage(argv[0]);
      return 0;
    }
    if ((arg == "--sleep-ms" || arg == "--calls") && i + 1 < argc) {
      char* end = nullptr;
      auto n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 0 || (arg == "--calls" && n < 1)) {
        std::fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], arg.c_str(), argv[i]);
        return 2;
      }
      if (arg == "--calls")
        calls = static_cast<int>(n);
      else
        sleep_per_call = std::chrono::milliseconds{n};
      continue;
    }
    std::fprintf(stderr, "%s: unknown argument %s (try --help)\n", argv[0], arg.c_str());
    return 2;
  }

  caf::actor_system_config cfg;
  ferry::actors::add_message_types(cfg);
  caf::actor_system sys{cfg};

  ferry::workers::function_registry registry;
  ferry::transport::knobs batched;
  batched.max_batch_size = 16;
  batched.max_batch_delay_us = 50'000; // let concurrent arrivals board together
  registry.add_batch("trim_words", trim_words, batched);
  ferry::transport::knobs one_by_one;
  one_by_one.max_batch_size = 1;
  registry.add_batch("trim_words_unbatched", trim_words, one_by_one);

  ferry::runtime::embedded node{sys, registry};
  ferry::runtime::local_client client{sys, node.batcher()};

  std::printf("trim_words: %d concurrent calls, %lld ms per function call\n", calls,
              static_cast<long long>(sleep_per_call.count()));
  auto b = run_concurrent(client, "trim_words", calls);
  std::printf("  batched (max_batch_size 16): %2d batch(es) in %6.2f s\n", b.batches, b.seconds);
  auto u = run_concurrent(client, "trim_words_unbatched", calls);
  std::printf("  one by one (max_batch_size 1): %2d batch(es) in %6.2f s\n", u.batches, u.seconds);
  std::printf("  speed-up: %.1fx, results %s\n", u.seconds / b.seconds,
              b.all_right && u.all_right ? "all correct" : "WRONG");
  return b.all_right && u.all_right ? 0 : 1;
}
