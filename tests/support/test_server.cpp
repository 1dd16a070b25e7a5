// ferry_test_server: a runtime::app serving small functions that let the
// multi-process tests (tests/gateway/) reach every path of client protocol v1.
//
//   echo(int64) -> int64          batched, 16 per batch, waits up to 50 ms
//   add(int64, int64) -> int64    plain
//   slow(ms) -> ms                batched, 4 per batch, sleeps the largest ms
//   fail(int64) -> int64          batched, throws std::runtime_error("boom")
//   bad_out(int64) -> int64       batched, returns one output too few
//   tiny_queue(ms) -> ms          like slow, 1 per batch, queue_limit 2
//
//   ferry_test_server --listen tcp://127.0.0.1:*

#include "runtime/app.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using column = std::vector<std::int64_t>;

column echo(const column& xs) {
  return xs;
}

std::int64_t add(std::int64_t a, std::int64_t b) {
  return a + b;
}

/// Sleeps once for the whole batch, as long as its largest request asks.
column slow(const column& ms) {
  auto longest = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  std::this_thread::sleep_for(std::chrono::milliseconds{std::max<std::int64_t>(longest, 0)});
  return ms;
}

column fail(const column&) {
  throw std::runtime_error("boom");
}

column bad_out(const column& xs) {
  return column(xs.begin(), xs.end() - 1);
}

} // namespace

int main(int argc, char** argv) {
  ferry::runtime::app app{"ferry_test_server"};

  ferry::transport::knobs echo_knobs;
  echo_knobs.max_batch_size = 16;
  echo_knobs.max_batch_delay_us = 50'000;
  app.add_batch("echo", echo, echo_knobs);

  app.add("add", add);

  ferry::transport::knobs slow_knobs;
  slow_knobs.max_batch_size = 4;
  app.add_batch("slow", slow, slow_knobs);

  app.add_batch("fail", fail);
  app.add_batch("bad_out", bad_out);

  ferry::transport::knobs tiny;
  tiny.max_batch_size = 1;
  tiny.queue_limit = 2;
  tiny.concurrency = 1;
  app.add_batch("tiny_queue", slow, tiny);

  return app.launch(argc, argv);
}
