#include "workers/function_registry.hpp"

namespace ferry::workers {

namespace internal {

std::string bad_output_message(const std::string& fn,
                               const std::vector<std::size_t>& lengths,
                               std::size_t batch_size,
                               std::size_t expected_outputs) {
  std::string sizes;
  for (auto n : lengths)
    sizes += (sizes.empty() ? "" : ", ") + std::to_string(n);
  return fn + " returned " + std::to_string(lengths.size())
         + " output list(s) of lengths [" + sizes + "] for a batch of "
         + std::to_string(batch_size) + " (expected "
         + std::to_string(expected_outputs) + " list(s) of length "
         + std::to_string(batch_size) + ")";
}

} // namespace internal

namespace {

using transport::errc;
using transport::outcome;
using transport::value;

batch_invoker make_dynamic_invoker(std::string name, dynamic_batch_fn fn,
                                   std::size_t arity, std::size_t n_out) {
  return [name = std::move(name), fn = std::move(fn), arity,
          n_out](const std::vector<std::string>& batch) {
    std::vector<outcome> results(batch.size());
    std::vector<std::size_t> good;
    std::vector<std::vector<value>> columns(arity);
    for (std::size_t r = 0; r < batch.size(); ++r) {
      std::string err;
      auto args = transport::packed_array::open(batch[r], &err);
      if (!args) {
        results[r] = outcome::failure(
          errc::bad_args, name + ": arguments must be a msgpack array (" + err + ")");
        continue;
      }
      if (args->size() != arity) {
        results[r] = outcome::failure(
          errc::bad_args, name + " takes " + std::to_string(arity)
                            + " argument(s), got " + std::to_string(args->size()));
        continue;
      }
      std::vector<value> row(arity);
      bool ok = true;
      for (std::size_t i = 0; ok && i < arity; ++i)
        ok = args->get(i, row[i]);
      if (!ok) {
        results[r] = outcome::failure(errc::bad_args,
                                      name + ": unsupported msgpack type (ext)");
        continue;
      }
      for (std::size_t i = 0; i < arity; ++i)
        columns[i].push_back(std::move(row[i]));
      good.push_back(r);
    }
    if (good.empty())
      return results;
    std::vector<std::vector<value>> outputs;
    auto thrown = internal::run_guarded([&] { outputs = fn(columns); });
    if (thrown) {
      for (auto r : good)
        results[r] = outcome::failure(errc::fn_error, *thrown);
      return results;
    }
    std::vector<std::size_t> lengths;
    bool bad = outputs.size() != n_out;
    for (const auto& col : outputs) {
      lengths.push_back(col.size());
      bad = bad || col.size() != good.size();
    }
    if (bad) {
      auto msg = internal::bad_output_message(name, lengths, good.size(), n_out);
      for (auto r : good)
        results[r] = outcome::failure(errc::bad_output, msg);
      return results;
    }
    for (std::size_t j = 0; j < good.size(); ++j) {
      value::array row;
      row.reserve(n_out);
      for (auto& col : outputs)
        row.push_back(std::move(col[j]));
      results[good[j]] = outcome::success(transport::pack(value{std::move(row)}));
    }
    return results;
  };
}

} // namespace

const function_spec& function_registry::add_dynamic(
  std::string name, dynamic_batch_fn fn, std::vector<std::string> inputs,
  std::vector<std::string> outputs, knobs k) {
  auto invoke = make_dynamic_invoker(name, std::move(fn), inputs.size(),
                                     outputs.size());
  return insert(function_spec{std::move(name), true, k, std::move(inputs),
                              std::move(outputs)},
                std::move(invoke));
}

namespace {

void check_knobs(const std::string& name, const knobs& k) {
  if (k.max_batch_size == 0)
    throw std::invalid_argument(name + ": max_batch_size must be at least 1");
  if (k.concurrency == 0)
    throw std::invalid_argument(name + ": concurrency must be at least 1");
  if (k.max_batch_delay_us < 0)
    throw std::invalid_argument(name + ": max_batch_delay must not be negative");
}

} // namespace

void function_registry::set_knobs(std::string_view name, knobs k) {
  auto i = fns_.find(name);
  if (i == fns_.end())
    throw std::invalid_argument("no function named '" + std::string{name} + "'");
  auto entry = *i->second;
  if (!entry.spec.batch)
    k.max_batch_size = 1;
  check_knobs(entry.spec.name, k);
  entry.spec.knob = k;
  i->second = std::make_shared<const registered_function>(std::move(entry));
}

const function_spec& function_registry::insert(function_spec spec,
                                               batch_invoker invoke) {
  if (spec.name.empty())
    throw std::invalid_argument("function name must not be empty");
  check_knobs(spec.name, spec.knob);
  if (fns_.count(spec.name) > 0)
    throw std::invalid_argument("function '" + spec.name + "' is already registered");
  auto name = spec.name;
  auto entry = std::make_shared<const registered_function>(
    registered_function{std::move(spec), std::move(invoke)});
  return fns_.emplace(std::move(name), std::move(entry)).first->second->spec;
}

const registered_function* function_registry::find(std::string_view name) const {
  auto i = fns_.find(name);
  return i == fns_.end() ? nullptr : i->second.get();
}

std::vector<std::shared_ptr<const registered_function>>
function_registry::all() const {
  std::vector<std::shared_ptr<const registered_function>> out;
  for (const auto& [name, fn] : fns_)
    out.push_back(fn);
  return out;
}

} // namespace ferry::workers
