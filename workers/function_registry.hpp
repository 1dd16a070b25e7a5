#pragma once

#include "transport/error_code.hpp"
#include "transport/function_spec.hpp"
#include "transport/value.hpp"
#include "workers/internal/typed_invoker.hpp"

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::workers {

using transport::function_spec;
using transport::knobs;

/// Runs one batch: `args[i]` is request i's packed msgpack argument array; the
/// result holds exactly one outcome per request, in order. Called on a worker
/// thread; may block.
using batch_invoker =
  std::function<std::vector<transport::outcome>(const std::vector<std::string>& args)>;

/// The dynamic form of a batch function: one column of values per input in,
/// one column per output out, each column as long as the batch.
using dynamic_batch_fn = std::function<std::vector<std::vector<transport::value>>(
  const std::vector<std::vector<transport::value>>& columns)>;

/// A registered function: what the batcher needs to know and how to run it.
struct registered_function {
  function_spec spec;
  batch_invoker invoke;
};

/// The functions a process serves, registered from ordinary C++ signatures.
/// Filled before the runtime starts, read-only afterwards (safe to share
/// between worker threads then). Registering a name twice throws
/// std::invalid_argument.
class function_registry {
public:
  /// Registers a batch function `std::vector<U> f(const std::vector<T>&...)`
  /// or one returning `std::tuple<std::vector<U>...>` for several outputs.
  template <class F>
  const function_spec& add_batch(std::string name, F fn, knobs k = {}) {
    using namespace internal;
    using traits = fn_traits<F>;
    using elems = typename column_elements<typename traits::args>::type;
    using outs = typename as_outputs<typename traits::result>::type;
    function_spec spec{name, true, k, type_names<elems>::get(),
                       column_type_names<outs>()};
    return insert(std::move(spec), make_batch_invoker(std::move(name), std::move(fn)));
  }

  /// Registers a plain function `U f(T...)` (or returning a tuple). It runs on
  /// the same queues and workers, one request per batch.
  template <class F>
  const function_spec& add(std::string name, F fn, knobs k = {}) {
    using namespace internal;
    using traits = fn_traits<F>;
    using outs = typename as_outputs<typename traits::result>::type;
    k.max_batch_size = 1;
    function_spec spec{name, false, k, type_names<typename traits::args>::get(),
                       type_names<outs>::get()};
    return insert(std::move(spec), make_plain_invoker(std::move(name), std::move(fn)));
  }

  /// Registers a batch function in dynamic form. `inputs` and `outputs` name
  /// the types reported by `info` and fix the arity and output count.
  const function_spec& add_dynamic(std::string name, dynamic_batch_fn fn,
                                   std::vector<std::string> inputs,
                                   std::vector<std::string> outputs,
                                   knobs k = {});

  /// Replaces the knobs of a registered function (e.g. from command-line
  /// overrides). Throws std::invalid_argument for an unknown name or invalid
  /// knobs; a plain function keeps max_batch_size 1.
  void set_knobs(std::string_view name, knobs k);

  /// The function registered under `name`, or nullptr.
  [[nodiscard]] const registered_function* find(std::string_view name) const;

  /// Every registered function, in name order.
  [[nodiscard]] std::vector<std::shared_ptr<const registered_function>> all() const;

  [[nodiscard]] bool empty() const noexcept { return fns_.empty(); }

private:
  template <class Outs>
  static std::vector<std::string> column_type_names() {
    return internal::type_names<
      typename internal::column_elements<Outs>::type>::get();
  }

  const function_spec& insert(function_spec spec, batch_invoker invoke);

  std::map<std::string, std::shared_ptr<const registered_function>, std::less<>> fns_;
};

} // namespace ferry::workers
