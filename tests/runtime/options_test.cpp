// Command-line and config-file options of ferry's servers.

#include "runtime/options.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using ferry::runtime::extra_option;
using ferry::runtime::parse_options;
using ferry::runtime::parse_result;

namespace {

parse_result parse(std::vector<std::string> args, const std::vector<extra_option>& extra = {}) {
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data(), "prog", extra);
}

} // namespace

TEST(Options, DefaultsServeTheEmbeddedCase) {
  auto r = parse({});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->listen, (std::vector<std::string>{"tcp://127.0.0.1:5555"}));
  EXPECT_EQ(r.options->max_message_size, 4u * 1024 * 1024);
  EXPECT_TRUE(r.options->cluster.empty());
  EXPECT_TRUE(r.options->join.empty());
  EXPECT_FALSE(r.options->unavailable_without_workers);
}

TEST(Options, ListenRepeatsAndKnobsParse) {
  auto r = parse({"--listen", "tcp://127.0.0.1:1", "--listen=ipc:///tmp/x",
                  "--knob", "f.max_batch_size=8", "--heartbeat-ms", "100"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->listen, (std::vector<std::string>{"tcp://127.0.0.1:1", "ipc:///tmp/x"}));
  ASSERT_EQ(r.options->knobs.size(), 1u);
  EXPECT_EQ(r.options->knobs[0].fn, "f");
  EXPECT_EQ(r.options->knobs[0].knob, "max_batch_size");
  EXPECT_EQ(r.options->knobs[0].value, "8");
  EXPECT_EQ(r.options->heartbeat.count(), 100);
}

TEST(Options, MistakesAreUsageErrorsNamingTheProblem) {
  struct bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const auto& b : std::vector<bad>{
         {{"--bogus"}, "unknown option --bogus"},
         {{"--listen"}, "needs a value"},
         {{"--knob", "nodot"}, "FN.KNOB=VALUE"},
         {{"--max-message-size", "-3"}, "positive number of bytes"},
         {{"--heartbeat-ms", "0"}, "milliseconds"},
         {{"--unavailable-without-workers", "yes"}, "true or false"},
         {{"--join", "tcp://h:1", "--listen", "tcp://h:2"}, "takes no --listen"},
         {{"stray"}, "unexpected argument"},
         {{"--config", "/nonexistent/ferry.conf"}, "cannot read config file"},
       }) {
    auto r = parse(b.args);
    EXPECT_FALSE(r.options) << b.args[0];
    EXPECT_EQ(r.exit_code, 2) << b.args[0];
    EXPECT_NE(r.message.find(b.says), std::string::npos) << r.message;
  }
}

TEST(Options, HelpExitsZeroAndListsExtraOptions) {
  auto extra = std::vector<extra_option>{
    ferry::runtime::count_option("sleep-ms", "how long a call sleeps", [](long) {})};
  auto r = parse({"--help"}, extra);
  EXPECT_FALSE(r.options);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.message.find("--listen ENDPOINT"), std::string::npos);
  EXPECT_NE(r.message.find("--sleep-ms N"), std::string::npos);
}

TEST(Options, CountOptionAcceptsOnlyNonNegativeNumbers) {
  long seen = -1;
  auto extra = std::vector<extra_option>{
    ferry::runtime::count_option("sleep-ms", "", [&seen](long n) { seen = n; })};
  EXPECT_TRUE(parse({"--sleep-ms", "250"}, extra).options);
  EXPECT_EQ(seen, 250);
  auto r = parse({"--sleep-ms", "-1"}, extra);
  EXPECT_FALSE(r.options);
  EXPECT_NE(r.message.find("--sleep-ms expects a non-negative number"), std::string::npos);
}

TEST(Options, ConfigFileLinesAreOptions) {
  auto path = testing::TempDir() + "ferry_options_test.conf";
  {
    std::ofstream out{path};
    out << "# a comment\n"
        << "listen = tcp://127.0.0.1:7000\n"
        << "knob g.queue_limit=5   # trailing comment\n"
        << "\n"
        << "cluster=tcp://127.0.0.1:7001\n";
  }
  auto r = parse({"--config", path});
  std::remove(path.c_str());
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->listen, (std::vector<std::string>{"tcp://127.0.0.1:7000"}));
  EXPECT_EQ(r.options->cluster, (std::vector<std::string>{"tcp://127.0.0.1:7001"}));
  ASSERT_EQ(r.options->knobs.size(), 1u);
  EXPECT_EQ(r.options->knobs[0].value, "5");
}

TEST(Options, ConfigFileErrorsNameFileAndLine) {
  auto path = testing::TempDir() + "ferry_options_bad.conf";
  {
    std::ofstream out{path};
    out << "listen = tcp://127.0.0.1:7000\n"
        << "threads = many\n";
  }
  auto r = parse({"--config", path});
  std::remove(path.c_str());
  EXPECT_FALSE(r.options);
  EXPECT_NE(r.message.find(path + ":2: --threads expects a number"), std::string::npos)
    << r.message;
}
