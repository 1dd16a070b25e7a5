#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::transport {

/// How the batcher treats one function's queue. Defaults follow the design:
/// batches of up to 4, never wait for late arrivals, one batch at a time.
struct knobs {
  std::uint32_t max_batch_size = 4;
  /// Above 0: wait until the batch is full or its oldest request has waited
  /// this long. 0: take what is waiting, never wait.
  std::int64_t max_batch_delay_us = 0;
  /// Batches of this function running at once per worker pool.
  std::uint32_t concurrency = 1;
  /// Waiting requests beyond which calls get `queue_full`.
  std::uint32_t queue_limit = 1024;
};

/// What the runtime knows about a served function: its name, whether it is
/// batched, its knobs, and its input and output type names (served by `info`).
struct function_spec {
  std::string name;
  bool batch = true;
  knobs knob;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

/// Where a function can run: a node ("local" for the head's own pool) and
/// how many of its batches may run there at once.
struct node_capacity {
  std::string node;
  std::uint32_t slots = 0;
};

/// A served function with its capacity across the cluster right now.
struct function_info {
  function_spec spec;
  std::vector<node_capacity> nodes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_capacity& x) {
  return f(x.node, x.slots);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_info& x) {
  return f(x.spec, x.nodes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, knobs& x) {
  return f(x.max_batch_size, x.max_batch_delay_us, x.concurrency,
           x.queue_limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_spec& x) {
  return f(x.name, x.batch, x.knob, x.inputs, x.outputs);
}

} // namespace ferry::transport
