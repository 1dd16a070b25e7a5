// ferry::workers::function_registry: the invokers built from C++ signatures,
// called directly (no actors). One request's bad arguments fail it alone; a
// throwing function fails its whole batch; outputs of the wrong shape fail the
// whole batch with a message naming the function and the sizes.

#include "transport/codec.hpp"
#include "workers/function_registry.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

using ferry::transport::bytes;
using ferry::transport::errc;
using ferry::transport::outcome;
using ferry::transport::pack_array;
using ferry::transport::unpack_tuple;
using ferry::transport::value;
using ferry::workers::function_registry;
using ferry::workers::knobs;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Decodes a successful outcome's row; fails the test when it does not decode.
template <class... Ts>
std::tuple<Ts...> row_of(const outcome& o) {
  std::tuple<Ts...> out;
  EXPECT_TRUE(o.ok()) << to_string(o.code) << ": " << o.body;
  if (o.ok()) {
    auto err = unpack_tuple(o.body, out);
    EXPECT_FALSE(err.has_value()) << *err;
  }
  return out;
}

/// Cuts each word to its length; says whether it cut anything. Records the
/// columns it was called with.
struct trim_words {
  std::vector<std::vector<std::string>>* seen_words;
  std::vector<std::vector<std::int64_t>>* seen_lens;

  std::tuple<std::vector<std::string>, std::vector<bool>>
  operator()(const std::vector<std::string>& words,
             const std::vector<std::int64_t>& lens) const {
    seen_words->push_back(words);
    seen_lens->push_back(lens);
    std::vector<std::string> out;
    std::vector<bool> cut;
    for (std::size_t i = 0; i < words.size(); ++i) {
      auto n = static_cast<std::size_t>(lens[i] < 0 ? 0 : lens[i]);
      out.push_back(words[i].substr(0, n));
      cut.push_back(n < words[i].size());
    }
    return {out, cut};
  }
};

class FunctionRegistry : public ::testing::Test {
protected:
  void add_trim() { registry.add_batch("trim", trim_words{&seen_words, &seen_lens}); }

  std::vector<outcome> invoke(const std::string& fn, const std::vector<std::string>& args) {
    auto f = registry.find(fn);
    EXPECT_NE(f, nullptr) << fn;
    return f ? f->invoke(args) : std::vector<outcome>{};
  }

  function_registry registry;
  std::vector<std::vector<std::string>> seen_words;
  std::vector<std::vector<std::int64_t>> seen_lens;
};

// -- typed batch functions -------------------------------------------------------

TEST_F(FunctionRegistry, BatchFunctionWithTwoInputsAndTwoOutputs) {
  add_trim();
  auto results = invoke("trim", {pack_array(std::string{"Adam"}, std::int64_t{3}),
                                 pack_array(std::string{"Mary"}, std::int64_t{5})});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ((row_of<std::string, bool>(results[0])), std::make_tuple(std::string{"Ada"}, true));
  EXPECT_EQ((row_of<std::string, bool>(results[1])), std::make_tuple(std::string{"Mary"}, false));
  // One call for the whole batch, one list per input, item i from request i.
  ASSERT_EQ(seen_words.size(), 1u);
  EXPECT_EQ(seen_words[0], (std::vector<std::string>{"Adam", "Mary"}));
  EXPECT_EQ(seen_lens[0], (std::vector<std::int64_t>{3, 5}));
}

TEST_F(FunctionRegistry, BatchSpecDescribesTheSignature) {
  auto& spec = registry.add_batch("trim", trim_words{&seen_words, &seen_lens},
                                  knobs{8, 1000, 2, 10});
  EXPECT_EQ(spec.name, "trim");
  EXPECT_TRUE(spec.batch);
  EXPECT_EQ(spec.inputs, (std::vector<std::string>{"str", "int64"}));
  EXPECT_EQ(spec.outputs, (std::vector<std::string>{"str", "bool"}));
  EXPECT_EQ(spec.knob.max_batch_size, 8u);
  EXPECT_EQ(spec.knob.max_batch_delay_us, 1000);
  EXPECT_EQ(spec.knob.concurrency, 2u);
  EXPECT_EQ(spec.knob.queue_limit, 10u);
}

TEST_F(FunctionRegistry, SingleOutputBatchFunction) {
  registry.add_batch("square", [](const std::vector<double>& xs) {
    std::vector<double> out;
    for (auto x : xs)
      out.push_back(x * x);
    return out;
  });
  // int arguments are accepted for a double input
  auto results = invoke("square", {pack_array(1.5), pack_array(3), pack_array(-2.0)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(std::get<0>(row_of<double>(results[0])), 2.25);
  EXPECT_EQ(std::get<0>(row_of<double>(results[1])), 9.0);
  EXPECT_EQ(std::get<0>(row_of<double>(results[2])), 4.0);
  EXPECT_EQ(registry.find("square")->spec.outputs, (std::vector<std::string>{"double"}));
}

TEST_F(FunctionRegistry, BadArgsFailOnlyTheirRequest) {
  add_trim();
  auto results = invoke("trim", {
    pack_array(std::string{"Adam"}, std::int64_t{3}),
    pack_array(std::string{"Bob"}, std::string{"two"}),        // wrong type
    pack_array(std::string{"Mary"}, std::int64_t{5}),
    pack_array(std::string{"Eve"}),                            // wrong arity
    std::string{"\xa3" "Eve", 4},                              // not an array
    pack_array(std::string{"Zoe"}, 1.5),                       // float for int64
  });
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ((row_of<std::string, bool>(results[0])), std::make_tuple(std::string{"Ada"}, true));
  EXPECT_EQ((row_of<std::string, bool>(results[2])), std::make_tuple(std::string{"Mary"}, false));
  EXPECT_EQ(results[1].code, errc::bad_args);
  EXPECT_EQ(results[1].body, "trim: argument 1 must be int64, got str");
  EXPECT_EQ(results[3].code, errc::bad_args);
  EXPECT_EQ(results[3].body, "trim: takes 2 argument(s), got 1");
  EXPECT_EQ(results[4].code, errc::bad_args);
  EXPECT_TRUE(contains(results[4].body, "must be a msgpack array")) << results[4].body;
  EXPECT_EQ(results[5].code, errc::bad_args);
  EXPECT_EQ(results[5].body, "trim: argument 1 must be int64, got float");
  // The function saw only the two good requests, in order.
  ASSERT_EQ(seen_words.size(), 1u);
  EXPECT_EQ(seen_words[0], (std::vector<std::string>{"Adam", "Mary"}));
  EXPECT_EQ(seen_lens[0], (std::vector<std::int64_t>{3, 5}));
}

TEST_F(FunctionRegistry, AllBadArgsNeverCallTheFunction) {
  add_trim();
  auto results = invoke("trim", {pack_array(1, 2), pack_array()});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].code, errc::bad_args);
  EXPECT_EQ(results[1].code, errc::bad_args);
  EXPECT_TRUE(seen_words.empty());
}

TEST_F(FunctionRegistry, ThrowingBatchFunctionFailsEveryRequestWithItsMessage) {
  int calls = 0;
  registry.add_batch("explode", [&calls](const std::vector<std::string>& xs) {
    ++calls;
    throw std::runtime_error("cannot handle " + std::to_string(xs.size()) + " words");
    return xs;
  });
  auto results = invoke("explode", {pack_array(std::string{"a"}), pack_array(7),
                                    pack_array(std::string{"b"}), pack_array(std::string{"c"})});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(calls, 1);
  for (std::size_t i : {0u, 2u, 3u}) {
    EXPECT_EQ(results[i].code, errc::fn_error) << i;
    EXPECT_EQ(results[i].body, "cannot handle 3 words") << i;
  }
  EXPECT_EQ(results[1].code, errc::bad_args); // decoded before the call, keeps its own error
}

TEST_F(FunctionRegistry, NonStdExceptionBecomesFnError) {
  registry.add_batch("raw_throw", [](const std::vector<std::int64_t>& xs) {
    if (!xs.empty())
      throw 42;
    return xs;
  });
  auto results = invoke("raw_throw", {pack_array(1), pack_array(2)});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, errc::fn_error);
    EXPECT_EQ(r.body, "unknown exception");
  }
}

TEST_F(FunctionRegistry, WrongOutputLengthIsBadOutputForTheWholeBatch) {
  registry.add_batch("short", [](const std::vector<std::string>& words,
                                 const std::vector<std::int64_t>&) {
    std::vector<std::string> first{words.front()};
    std::vector<bool> all(words.size(), true);
    return std::make_tuple(first, all);
  });
  auto results = invoke("short", {pack_array(std::string{"a"}, 1),
                                  pack_array(std::string{"b"}, 2),
                                  pack_array(std::string{"c"}, 3)});
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, errc::bad_output);
    EXPECT_EQ(r.body, "short returned 2 output list(s) of lengths [1, 3] for a batch "
                      "of 3 (expected 2 list(s) of length 3)");
  }
  // A batch of one is the right length for `first`: it succeeds.
  auto one = invoke("short", {pack_array(std::string{"a"}, 1)});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ((row_of<std::string, bool>(one[0])), std::make_tuple(std::string{"a"}, true));
}

TEST_F(FunctionRegistry, BadOutputCountsOnlyTheRequestsThatDecoded) {
  registry.add_batch("echo_plus_one", [](const std::vector<std::int64_t>& xs) {
    auto out = xs;
    out.push_back(0);
    return out;
  });
  auto results = invoke("echo_plus_one", {pack_array(1), pack_array(std::string{"x"}),
                                          pack_array(2)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].code, errc::bad_args);
  for (std::size_t i : {0u, 2u}) {
    EXPECT_EQ(results[i].code, errc::bad_output);
    EXPECT_EQ(results[i].body, "echo_plus_one returned 1 output list(s) of lengths [3] "
                               "for a batch of 2 (expected 1 list(s) of length 2)");
  }
}

// -- plain functions -------------------------------------------------------------

TEST_F(FunctionRegistry, PlainFunctionRunsOncePerRequest) {
  std::vector<std::string> seen;
  auto& spec = registry.add(
    "greet",
    [&seen](const std::string& name, std::int64_t times) {
      seen.push_back(name);
      std::string out;
      for (std::int64_t i = 0; i < times; ++i)
        out += "hi " + name + ";";
      return out;
    },
    knobs{8, 0, 1, 100});
  EXPECT_FALSE(spec.batch);
  EXPECT_EQ(spec.knob.max_batch_size, 1u); // a plain function is never batched
  EXPECT_EQ(spec.inputs, (std::vector<std::string>{"str", "int64"}));
  EXPECT_EQ(spec.outputs, (std::vector<std::string>{"str"}));

  auto results = invoke("greet", {pack_array(std::string{"Ada"}, 2),
                                  pack_array(std::string{"Bob"}, std::string{"x"}),
                                  pack_array(std::string{"Cy"}, 1)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(std::get<0>(row_of<std::string>(results[0])), "hi Ada;hi Ada;");
  EXPECT_EQ(results[1].code, errc::bad_args);
  EXPECT_EQ(results[1].body, "greet: argument 1 must be int64, got str");
  EXPECT_EQ(std::get<0>(row_of<std::string>(results[2])), "hi Cy;");
  EXPECT_EQ(seen, (std::vector<std::string>{"Ada", "Cy"}));
}

TEST_F(FunctionRegistry, PlainFunctionThrowingFailsOnlyItsRequest) {
  registry.add("checked_div", [](std::int64_t a, std::int64_t b) {
    if (b == 0)
      throw std::domain_error("division by zero");
    return std::make_tuple(a / b, a % b);
  });
  EXPECT_EQ(registry.find("checked_div")->spec.outputs,
            (std::vector<std::string>{"int64", "int64"}));
  auto results = invoke("checked_div", {pack_array(7, 2), pack_array(1, 0), pack_array(9, 3)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ((row_of<std::int64_t, std::int64_t>(results[0])), std::make_tuple(3, 1));
  EXPECT_EQ(results[1].code, errc::fn_error);
  EXPECT_EQ(results[1].body, "division by zero");
  EXPECT_EQ((row_of<std::int64_t, std::int64_t>(results[2])), std::make_tuple(3, 0));
}

TEST_F(FunctionRegistry, PlainVoidFunctionReturnsAnEmptyRow) {
  int calls = 0;
  registry.add("touch", [&calls](bool) { ++calls; });
  EXPECT_TRUE(registry.find("touch")->spec.outputs.empty());
  auto results = invoke("touch", {pack_array(true)});
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok()) << results[0].body;
  EXPECT_EQ(results[0].body, pack_array());
  EXPECT_EQ(calls, 1);
}

// -- dynamic form --------------------------------------------------------------------

TEST_F(FunctionRegistry, DynamicFunctionGetsColumnsOfValues) {
  std::vector<std::vector<value>> seen;
  auto& spec = registry.add_dynamic(
    "dyn_trim",
    [&seen](const std::vector<std::vector<value>>& cols) {
      seen = cols;
      std::vector<value> words, cut;
      for (std::size_t i = 0; i < cols[0].size(); ++i) {
        auto w = *cols[0][i].get_if<std::string>();
        auto n = static_cast<std::size_t>(*cols[1][i].get_if<std::int64_t>());
        words.emplace_back(w.substr(0, n));
        cut.emplace_back(n < w.size());
      }
      return std::vector<std::vector<value>>{words, cut};
    },
    {"str", "int64"}, {"str", "bool"});
  EXPECT_TRUE(spec.batch);
  EXPECT_EQ(spec.inputs, (std::vector<std::string>{"str", "int64"}));
  EXPECT_EQ(spec.outputs, (std::vector<std::string>{"str", "bool"}));

  auto results = invoke("dyn_trim", {pack_array(std::string{"Adam"}, 3),
                                     pack_array(std::string{"x"}),  // wrong arity
                                     pack_array(std::string{"Mary"}, 5)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ((row_of<std::string, bool>(results[0])), std::make_tuple(std::string{"Ada"}, true));
  EXPECT_EQ(results[1].code, errc::bad_args);
  EXPECT_EQ(results[1].body, "dyn_trim takes 2 argument(s), got 1");
  EXPECT_EQ((row_of<std::string, bool>(results[2])), std::make_tuple(std::string{"Mary"}, false));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::vector<value>{value{"Adam"}, value{"Mary"}}));
  EXPECT_EQ(seen[1], (std::vector<value>{value{3}, value{5}}));
}

TEST_F(FunctionRegistry, DynamicFunctionWithWrongOutputCountIsBadOutput) {
  registry.add_dynamic(
    "dyn_one_output",
    [](const std::vector<std::vector<value>>& cols) {
      return std::vector<std::vector<value>>{cols[0]}; // one list, two promised
    },
    {"any"}, {"any", "any"});
  auto results = invoke("dyn_one_output", {pack_array(1), pack_array(2)});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, errc::bad_output);
    EXPECT_EQ(r.body, "dyn_one_output returned 1 output list(s) of lengths [2] for a "
                      "batch of 2 (expected 2 list(s) of length 2)");
  }
}

TEST_F(FunctionRegistry, DynamicFunctionWithWrongOutputLengthIsBadOutput) {
  registry.add_dynamic(
    "dyn_short",
    [](const std::vector<std::vector<value>>&) {
      return std::vector<std::vector<value>>{{value{1}}};
    },
    {"any"}, {"any"});
  auto results = invoke("dyn_short", {pack_array(1), pack_array(2), pack_array(3)});
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, errc::bad_output);
    EXPECT_TRUE(contains(r.body, "dyn_short returned 1 output list(s) of lengths [1] "
                                 "for a batch of 3"))
      << r.body;
  }
}

TEST_F(FunctionRegistry, DynamicFunctionThrowingIsFnError) {
  registry.add_dynamic(
    "dyn_throw",
    [](const std::vector<std::vector<value>>&) -> std::vector<std::vector<value>> {
      throw std::runtime_error("model not loaded");
    },
    {"any"}, {"any"});
  auto results = invoke("dyn_throw", {pack_array(1), pack_array(2)});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.code, errc::fn_error);
    EXPECT_EQ(r.body, "model not loaded");
  }
}

// -- spec type names ------------------------------------------------------------------

TEST_F(FunctionRegistry, SpecTypeNames) {
  registry.add_batch(
    "kinds",
    [](const std::vector<std::string>& s, const std::vector<std::int64_t>&,
       const std::vector<std::vector<std::int64_t>>&,
       const std::vector<std::map<std::string, double>>&, const std::vector<bytes>&,
       const std::vector<value>&, const std::vector<bool>&, const std::vector<double>&) {
      return std::make_tuple(s, std::vector<bool>(s.size()),
                             std::vector<std::vector<std::string>>(s.size()));
    });
  const auto& spec = registry.find("kinds")->spec;
  EXPECT_EQ(spec.inputs, (std::vector<std::string>{"str", "int64", "list[int64]",
                                                   "map[str,double]", "bytes", "any",
                                                   "bool", "double"}));
  EXPECT_EQ(spec.outputs, (std::vector<std::string>{"str", "bool", "list[str]"}));

  registry.add("plain_kinds", [](std::int32_t, std::uint64_t, float, value) {
    return std::map<std::string, std::vector<double>>{};
  });
  const auto& plain = registry.find("plain_kinds")->spec;
  EXPECT_EQ(plain.inputs, (std::vector<std::string>{"int32", "uint64", "float", "any"}));
  EXPECT_EQ(plain.outputs, (std::vector<std::string>{"map[str,list[double]]"}));
}

TEST_F(FunctionRegistry, EveryTypeDecodesThroughTheInvoker) {
  registry.add_batch(
    "describe",
    [](const std::vector<std::vector<std::int64_t>>& lists,
       const std::vector<std::map<std::string, double>>& maps, const std::vector<bytes>& bins,
       const std::vector<value>& anys) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < lists.size(); ++i)
        out.push_back(std::to_string(lists[i].size()) + "/" + std::to_string(maps[i].at("w"))
                      + "/" + std::to_string(bins[i].size()) + "/"
                      + ferry::transport::to_string(anys[i]));
      return out;
    });
  auto results = invoke("describe", {
    pack_array(std::vector<std::int64_t>{1, 2}, std::map<std::string, double>{{"w", 0.5}},
               bytes{1, 2, 3}, value{value::array{value{1}, value{"a"}}}),
    // a list of strings is not a list[int64]
    pack_array(std::vector<std::string>{"x"}, std::map<std::string, double>{{"w", 0.5}},
               bytes{}, value{}),
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(std::get<0>(row_of<std::string>(results[0])), "2/0.500000/3/[1, \"a\"]");
  EXPECT_EQ(results[1].code, errc::bad_args);
  EXPECT_EQ(results[1].body, "describe: argument 0 must be list[int64], got array");
}

// -- registration errors -----------------------------------------------------------------

TEST_F(FunctionRegistry, DuplicateRegistrationThrows) {
  add_trim();
  EXPECT_THROW(add_trim(), std::invalid_argument);
  EXPECT_THROW(registry.add("trim", [](std::int64_t x) { return x; }), std::invalid_argument);
  EXPECT_THROW(registry.add_dynamic("trim", {}, {"any"}, {"any"}), std::invalid_argument);
  // The first registration is intact.
  ASSERT_NE(registry.find("trim"), nullptr);
  EXPECT_TRUE(registry.find("trim")->spec.batch);
  EXPECT_EQ(registry.all().size(), 1u);
}

TEST_F(FunctionRegistry, InvalidKnobsThrow) {
  auto id = [](const std::vector<std::int64_t>& xs) { return xs; };
  knobs zero_size;
  zero_size.max_batch_size = 0;
  EXPECT_THROW(registry.add_batch("a", id, zero_size), std::invalid_argument);
  knobs zero_concurrency;
  zero_concurrency.concurrency = 0;
  EXPECT_THROW(registry.add_batch("b", id, zero_concurrency), std::invalid_argument);
  EXPECT_THROW(registry.add("b2", [](std::int64_t x) { return x; }, zero_concurrency),
               std::invalid_argument);
  knobs negative_delay;
  negative_delay.max_batch_delay_us = -1;
  EXPECT_THROW(registry.add_batch("c", id, negative_delay), std::invalid_argument);
  EXPECT_THROW(registry.add_batch("", id), std::invalid_argument);
  EXPECT_TRUE(registry.empty());
  EXPECT_EQ(registry.find("a"), nullptr);
}

TEST_F(FunctionRegistry, SetKnobsReplacesKnobsAndChecksThem) {
  auto id = [](const std::vector<std::int64_t>& xs) { return xs; };
  registry.add_batch("batched", id);
  registry.add("plain", [](std::int64_t x) { return x; });
  registry.set_knobs("batched", knobs{16, 5000, 3, 50});
  const auto& k = registry.find("batched")->spec.knob;
  EXPECT_EQ(k.max_batch_size, 16u);
  EXPECT_EQ(k.max_batch_delay_us, 5000);
  EXPECT_EQ(k.concurrency, 3u);
  EXPECT_EQ(k.queue_limit, 50u);
  // The invoker is kept.
  auto results = invoke("batched", {pack_array(4)});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(std::get<0>(row_of<std::int64_t>(results[0])), 4);
  // A plain function is never batched.
  registry.set_knobs("plain", knobs{16, 0, 2, 8});
  EXPECT_EQ(registry.find("plain")->spec.knob.max_batch_size, 1u);
  EXPECT_EQ(registry.find("plain")->spec.knob.concurrency, 2u);
  EXPECT_THROW(registry.set_knobs("nope", knobs{}), std::invalid_argument);
  EXPECT_THROW(registry.set_knobs("batched", knobs{0, 0, 1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.set_knobs("batched", knobs{1, -5, 1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.set_knobs("batched", knobs{1, 0, 0, 1}), std::invalid_argument);
  EXPECT_EQ(registry.find("batched")->spec.knob.max_batch_size, 16u); // unchanged
}

TEST_F(FunctionRegistry, FindAndAllListFunctionsByName) {
  auto id = [](const std::vector<std::int64_t>& xs) { return xs; };
  registry.add_batch("zeta", id);
  registry.add_batch("alpha", id);
  registry.add("mid", [](std::int64_t x) { return x; });
  EXPECT_EQ(registry.find("nope"), nullptr);
  auto all = registry.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->spec.name, "alpha");
  EXPECT_EQ(all[1]->spec.name, "mid");
  EXPECT_EQ(all[2]->spec.name, "zeta");
  // Defaults from the design: batches of 4, no delay, one at a time.
  EXPECT_EQ(all[0]->spec.knob.max_batch_size, 4u);
  EXPECT_EQ(all[0]->spec.knob.max_batch_delay_us, 0);
  EXPECT_EQ(all[0]->spec.knob.concurrency, 1u);
}

} // namespace
