// The classic example as a server: trim_words(words, lens) -> [trimmed],
// batched with max_batch_size 16. Each call of the function takes --sleep-ms
// (default 5000, the seed's 5 s), so 16 concurrent calls finish in about 5 s
// where one at a time they would take 80 s.
//
//   trim_words_server --listen tcp://127.0.0.1:5555 --sleep-ms 5000
//   ferry call trim_words Adam 3        # prints "Ada"

#include "runtime/app.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<long> sleep_ms{5000};

std::vector<std::string> trim_words(const std::vector<std::string>& words,
                                    const std::vector<std::int64_t>& lens) {
  std::this_thread::sleep_for(std::chrono::milliseconds{sleep_ms.load()});
  std::vector<std::string> out;
  out.reserve(words.size());
  for (std::size_t i = 0; i < words.size(); ++i)
    out.push_back(words[i].substr(0, static_cast<std::size_t>(std::max<std::int64_t>(lens[i], 0))));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  ferry::runtime::app app{"trim_words_server"};
  ferry::transport::knobs k;
  k.max_batch_size = 16;
  k.max_batch_delay_us = 50'000; // concurrent arrivals board the same batch
  app.add_batch("trim_words", trim_words, k);
  // The same function unbatched, for comparison.
  ferry::transport::knobs single;
  single.max_batch_size = 1;
  app.add_batch("trim_words_unbatched", trim_words, single);
  app.add_option(ferry::runtime::count_option("sleep-ms", "time one call of trim_words takes (default 5000)",
                                               [](long n) { sleep_ms = n; }));
  return app.launch(argc, argv);
}
