// The seed scenario's client: 16 concurrent calls of trim_words against a
// running trim_words_server, batched and then unbatched, with the wall times.
//
//   seed_client [--endpoint tcp://127.0.0.1:5555] [--calls 16]

#include "clients/client.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct run_result {
  double seconds = 0;
  int wrong = 0;
};

run_result run(ferry::clients::client& c, const std::string& fn, int calls) {
  auto start = std::chrono::steady_clock::now();
  std::vector<ferry::clients::job> jobs;
  for (int i = 0; i < calls; ++i)
    jobs.push_back(c.submit(fn, "word" + std::to_string(i), std::int64_t{3}));
  run_result r;
  for (auto& j : jobs) {
    try {
      if (j.get<std::string>() != "wor")
        ++r.wrong;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", fn.c_str(), e.what());
      ++r.wrong;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

} // namespace

int main(int argc, char** argv) {
  std::string endpoint = "tcp://127.0.0.1:5555";
  int calls = 16;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--endpoint" && i + 1 < argc) {
      endpoint = argv[++i];
    } else if (arg == "--calls" && i + 1 < argc) {
      calls = std::atoi(argv[++i]);
      if (calls < 1) {
        std::fprintf(stderr, "seed_client: --calls expects a positive number\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: seed_client [--endpoint E] [--calls N]\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  ferry::clients::client c{endpoint};
  if (!c.ping(std::chrono::seconds{5})) {
    std::fprintf(stderr, "seed_client: no server answers at %s\n", endpoint.c_str());
    return 3;
  }
  std::printf("%d concurrent calls of trim_words\n", calls);
  auto b = run(c, "trim_words", calls);
  std::printf("  batched (max_batch_size 16):  %7.2f s\n", b.seconds);
  std::fflush(stdout);
  auto u = run(c, "trim_words_unbatched", calls);
  std::printf("  unbatched (max_batch_size 1): %7.2f s\n", u.seconds);
  std::printf("  speed-up: %.1fx; %s\n", u.seconds / b.seconds,
              b.wrong + u.wrong == 0 ? "all results correct" : "SOME RESULTS WRONG");
  return b.wrong + u.wrong == 0 ? 0 : 1;
}
