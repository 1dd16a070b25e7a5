// Node protocol v1: byte-exact encodings (the examples in docs/protocol.md)
// and decoding, including what a head must survive from the network.

#include "transport/codec.hpp"
#include "transport/node_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace ferry::transport;

namespace {

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

function_spec trim_words_spec() {
  function_spec f;
  f.name = "trim_words";
  f.knob.max_batch_size = 16;
  f.knob.max_batch_delay_us = 50'000;
  f.knob.concurrency = 2;
  f.inputs = {"str", "int64"};
  f.outputs = {"str"};
  return f;
}

} // namespace

TEST(NodeProtocol, JoinMatchesTheDocumentedBytes) {
  EXPECT_EQ(hex(encode_join("w1", {trim_words_spec()})),
            "84a474797065a46a6f696ea776657273696f6e01a46e6f6465a27731a966756e6374696f6e73"
            "9188a46e616d65aa7472696d5f776f726473a56261746368c3ae6d61785f62617463685f7369"
            "7a6510b26d61785f62617463685f64656c61795f6d73cb4049000000000000ab636f6e637572"
            "72656e637902ab71756575655f6c696d6974cd0400a6696e7075747392a3737472a5696e7436"
            "34a76f75747075747391a3737472");
}

TEST(NodeProtocol, JoinRoundTripsTheSpecs) {
  std::string err;
  auto m = decode_node_message(encode_join("w1", {trim_words_spec()}), &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->type, "join");
  EXPECT_EQ(m->version, node_protocol_version);
  EXPECT_EQ(m->node, "w1");
  ASSERT_EQ(m->functions.size(), 1u);
  const auto& f = m->functions[0];
  EXPECT_EQ(f.name, "trim_words");
  EXPECT_TRUE(f.batch);
  EXPECT_EQ(f.knob.max_batch_size, 16u);
  EXPECT_EQ(f.knob.max_batch_delay_us, 50'000);
  EXPECT_EQ(f.knob.concurrency, 2u);
  EXPECT_EQ(f.inputs, (std::vector<std::string>{"str", "int64"}));
  EXPECT_EQ(f.outputs, (std::vector<std::string>{"str"}));
}

TEST(NodeProtocol, WelcomeAndSignalsMatchTheDocumentedBytes) {
  EXPECT_EQ(hex(encode_welcome(250, 1500, {})),
            "85a474797065a777656c636f6d65a776657273696f6e01ac6865617274626561745f6d73ccfa"
            "aa74696d656f75745f6d73cd05dca77265667573656490");
  EXPECT_EQ(hex(encode_node_signal("heartbeat")), "81a474797065a9686561727462656174");
  EXPECT_EQ(hex(encode_refuse("r")), "82a474797065a6726566757365a6726561736f6ea172");
}

TEST(NodeProtocol, WelcomeCarriesRefusals) {
  std::string err;
  auto m = decode_node_message(encode_welcome(100, 900, {{"f", "conflict"}}), &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->heartbeat_ms, 100);
  EXPECT_EQ(m->timeout_ms, 900);
  ASSERT_EQ(m->refused.size(), 1u);
  EXPECT_EQ(m->refused[0].first, "f");
  EXPECT_EQ(m->refused[0].second, "conflict");
}

TEST(NodeProtocol, RunSplicesEachRequestsArgumentsUnchanged) {
  std::vector<std::string> args{pack_array(std::string{"Adam"}, 3),
                                pack_array(std::string{"Mary"}, 5)};
  auto body = encode_run(7, "trim_words", args);
  EXPECT_EQ(hex(body), "84a474797065a372756ea5626174636807a2666eaa7472696d5f776f726473a461726773"
                       "9292a44164616d0392a44d61727905");
  std::string err;
  auto m = decode_node_message(body, &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->type, "run");
  EXPECT_EQ(m->batch, 7u);
  EXPECT_EQ(m->fn, "trim_words");
  EXPECT_EQ(m->args, args);
}

TEST(NodeProtocol, ResultCarriesOneOutcomePerRequest) {
  std::vector<outcome> outs{outcome::success(pack_array(std::string{"Ada"})),
                            outcome::failure(errc::bad_args, "x")};
  auto body = encode_node_result(7, outs);
  EXPECT_EQ(hex(body), "83a474797065a6726573756c74a5626174636807a86f7574636f6d65739281a4646174"
                       "6191a341646182a4636f6465a86261645f61726773a76d657373616765a178");
  std::string err;
  auto m = decode_node_message(body, &err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->batch, 7u);
  ASSERT_EQ(m->outcomes.size(), 2u);
  EXPECT_TRUE(m->outcomes[0].ok());
  EXPECT_EQ(m->outcomes[0].body, pack_array(std::string{"Ada"}));
  EXPECT_EQ(m->outcomes[1].code, errc::bad_args);
  EXPECT_EQ(m->outcomes[1].body, "x");
}

TEST(NodeProtocol, MalformedInputIsAnErrorNotACrash) {
  std::string err;
  for (std::string bad : {std::string{}, std::string{"\xff\x00", 2}, std::string{"\x90", 1},
                          std::string{"\x81\xa4type\x01", 7},            // type not a string
                          std::string{"\x82\xa4type\xa3run\xa4" "args\x05", 16}, // args not an array
                          std::string{"\x82\xa4type\xa6result\xa8outcomes\x91\x80", 24}}) {
    EXPECT_FALSE(decode_node_message(bad, &err)) << hex(bad);
    EXPECT_FALSE(err.empty());
  }
  // An outcome with neither data nor a known code.
  EXPECT_FALSE(decode_node_message(
    std::string{"\x82\xa4type\xa6result\xa8outcomes\x91\x81\xa4" "code\xa3zzz", 31}, &err));
}
