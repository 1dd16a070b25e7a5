#pragma once

// Turns ordinary C++ signatures into batch invokers: decodes each request's
// packed arguments on its own, runs the function once for the requests that
// decoded, checks the shape of what it returned and packs one row per request.

#include "transport/codec.hpp"
#include "transport/error_code.hpp"
#include "transport/type_names.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferry::workers::internal {

using transport::errc;
using transport::outcome;

// -- signature inspection -----------------------------------------------------

template <class F>
struct fn_traits : fn_traits<decltype(&F::operator())> {};

template <class R, class... As>
struct fn_traits<R (*)(As...)> {
  using result = R;
  using args = std::tuple<std::decay_t<As>...>;
};

template <class C, class R, class... As>
struct fn_traits<R (C::*)(As...) const> : fn_traits<R (*)(As...)> {};

template <class C, class R, class... As>
struct fn_traits<R (C::*)(As...)> : fn_traits<R (*)(As...)> {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

/// A result type seen as a tuple of outputs: U -> tuple<U>, tuple<Us...> as is,
/// void -> tuple<>.
template <class R>
struct as_outputs {
  using type = std::tuple<R>;
};
template <class... Us>
struct as_outputs<std::tuple<Us...>> {
  using type = std::tuple<Us...>;
};
template <>
struct as_outputs<void> {
  using type = std::tuple<>;
};

template <class T>
struct column_element; // std::vector<T> -> T
template <class T>
struct column_element<std::vector<T>> {
  using type = T;
};

template <class Tuple>
struct column_elements;
template <class... Cols>
struct column_elements<std::tuple<Cols...>> {
  using type = std::tuple<typename column_element<Cols>::type...>;
};

template <class Tuple>
struct type_names;
template <class... Ts>
struct type_names<std::tuple<Ts...>> {
  static std::vector<std::string> get() { return {transport::type_name<Ts>()...}; }
};

// -- argument decoding --------------------------------------------------------

/// Decodes one request's arguments into `out`; on failure returns the
/// `bad_args` message, naming the function.
template <class... Ts>
std::optional<std::string> decode_args(const std::string& fn,
                                       const std::string& packed,
                                       std::tuple<Ts...>& out) {
  if (auto err = transport::unpack_tuple(packed, out))
    return fn + ": " + *err;
  return std::nullopt;
}

/// Runs `f`, turning any exception into its message.
template <class F>
std::optional<std::string> run_guarded(F&& f) {
  try {
    f();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string{e.what()};
  } catch (...) {
    return std::string{"unknown exception"};
  }
}

// -- batch functions ------------------------------------------------------------

/// "f returned 2 output list(s) of lengths [3, 2] for a batch of 3 (expected
/// 2 lists of length 3)".
std::string bad_output_message(const std::string& fn,
                               const std::vector<std::size_t>& lengths,
                               std::size_t batch_size,
                               std::size_t expected_outputs);

inline std::string bad_output_message(const std::string& fn,
                                      const std::vector<std::size_t>& lengths,
                                      std::size_t batch_size) {
  return bad_output_message(fn, lengths, batch_size, lengths.size());
}

template <class Tuple, std::size_t... Is>
std::string pack_row_at(const Tuple& cols, std::size_t j,
                        std::index_sequence<Is...>) {
  return transport::pack_array(std::get<Is>(cols)[j]...);
}

/// Invoker for `std::vector<U> f(const std::vector<T>&...)` and tuple-of-vector
/// results.
template <class F>
auto make_batch_invoker(std::string name, F fn) {
  using traits = fn_traits<F>;
  using columns_t = typename traits::args;
  using row_t = typename column_elements<columns_t>::type;
  using outputs_t = typename as_outputs<typename traits::result>::type;
  return [name = std::move(name), fn = std::move(fn)](
           const std::vector<std::string>& batch) mutable {
    std::vector<outcome> results(batch.size());
    std::vector<std::size_t> good;
    columns_t columns;
    for (std::size_t r = 0; r < batch.size(); ++r) {
      row_t row;
      if (auto err = decode_args(name, batch[r], row)) {
        results[r] = outcome::failure(errc::bad_args, std::move(*err));
        continue;
      }
      std::apply(
        [&](auto&... cols) {
          std::apply([&](auto&... xs) { (cols.push_back(std::move(xs)), ...); },
                     row);
        },
        columns);
      good.push_back(r);
    }
    if (good.empty())
      return results;
    outputs_t outputs;
    auto thrown = run_guarded([&] {
      if constexpr (std::tuple_size_v<outputs_t> == 1)
        std::get<0>(outputs) = std::apply(fn, columns);
      else
        outputs = std::apply(fn, columns);
    });
    if (thrown) {
      for (auto r : good)
        results[r] = outcome::failure(errc::fn_error, *thrown);
      return results;
    }
    std::vector<std::size_t> lengths;
    std::apply([&](const auto&... outs) { (lengths.push_back(outs.size()), ...); },
               outputs);
    for (auto n : lengths) {
      if (n != good.size()) {
        auto msg = bad_output_message(name, lengths, good.size());
        for (auto r : good)
          results[r] = outcome::failure(errc::bad_output, msg);
        return results;
      }
    }
    for (std::size_t j = 0; j < good.size(); ++j)
      results[good[j]] = outcome::success(pack_row_at(
        outputs, j, std::make_index_sequence<std::tuple_size_v<outputs_t>>{}));
    return results;
  };
}

// -- plain functions ------------------------------------------------------------

/// Invoker for `U f(T...)`: runs once per request of the batch.
template <class F>
auto make_plain_invoker(std::string name, F fn) {
  using traits = fn_traits<F>;
  using args_t = typename traits::args;
  using result_t = typename traits::result;
  return [name = std::move(name), fn = std::move(fn)](
           const std::vector<std::string>& batch) mutable {
    std::vector<outcome> results(batch.size());
    for (std::size_t r = 0; r < batch.size(); ++r) {
      args_t args;
      if (auto err = decode_args(name, batch[r], args)) {
        results[r] = outcome::failure(errc::bad_args, std::move(*err));
        continue;
      }
      std::string row;
      auto err = run_guarded([&] {
        if constexpr (std::is_void_v<result_t>) {
          std::apply(fn, args);
          row = transport::pack_array();
        } else if constexpr (is_tuple<result_t>::value) {
          row = std::apply([](const auto&... xs) { return transport::pack_array(xs...); },
                           std::apply(fn, args));
        } else {
          row = transport::pack_array(std::apply(fn, args));
        }
      });
      results[r] = err ? outcome::failure(errc::fn_error, std::move(*err))
                       : outcome::success(std::move(row));
    }
    return results;
  };
}

} // namespace ferry::workers::internal
