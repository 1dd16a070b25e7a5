// ferry::transport::value: every kind survives pack -> unpack_value unchanged,
// integers land in the right alternative, and to_string renders each kind.

#include "transport/codec.hpp"
#include "transport/value.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include <string>

namespace {

using ferry::transport::bytes;
using ferry::transport::pack;
using ferry::transport::to_string;
using ferry::transport::unpack_value;
using ferry::transport::value;

value round_trip(const value& v) {
  std::string err;
  auto packed = pack(v);
  auto back = unpack_value(packed, &err);
  EXPECT_TRUE(back.has_value()) << "unpack failed: " << err;
  return back ? *back : value{"<unpack failed>"};
}

TEST(Value, NilRoundTrips) {
  auto back = round_trip(value{});
  EXPECT_TRUE(back.is_nil());
  EXPECT_EQ(back, value{nullptr});
  EXPECT_EQ(pack(value{}), std::string(1, '\xc0'));
}

TEST(Value, BoolRoundTrips) {
  for (bool b : {true, false}) {
    auto back = round_trip(value{b});
    ASSERT_NE(back.get_if<bool>(), nullptr);
    EXPECT_EQ(*back.get_if<bool>(), b);
  }
}

TEST(Value, NegativeInt64RoundTrips) {
  for (std::int64_t x : {std::int64_t{-1}, std::int64_t{-200}, std::int64_t{-70000},
                         std::numeric_limits<std::int64_t>::min()}) {
    auto back = round_trip(value{x});
    ASSERT_NE(back.get_if<std::int64_t>(), nullptr) << x;
    EXPECT_EQ(*back.get_if<std::int64_t>(), x);
  }
}

TEST(Value, NonNegativeIntegersDecodeAsInt64WhenTheyFit) {
  // The wire does not say signed or unsigned; values up to INT64_MAX are int64.
  for (std::uint64_t x : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{1} << 40,
                          static_cast<std::uint64_t>(INT64_MAX)}) {
    auto back = round_trip(value{x});
    ASSERT_NE(back.get_if<std::int64_t>(), nullptr) << x;
    EXPECT_EQ(static_cast<std::uint64_t>(*back.get_if<std::int64_t>()), x);
    EXPECT_EQ(back.get_if<std::uint64_t>(), nullptr);
  }
}

TEST(Value, Uint64AboveInt64MaxStaysUnsigned) {
  for (std::uint64_t x : {static_cast<std::uint64_t>(INT64_MAX) + 1,
                          std::numeric_limits<std::uint64_t>::max()}) {
    value v{x};
    ASSERT_NE(v.get_if<std::uint64_t>(), nullptr);
    auto back = round_trip(v);
    ASSERT_NE(back.get_if<std::uint64_t>(), nullptr) << x;
    EXPECT_EQ(*back.get_if<std::uint64_t>(), x);
    EXPECT_EQ(back, v);
  }
}

TEST(Value, DoubleRoundTrips) {
  for (double x : {0.0, -0.5, 2.0, 3.141592653589793, 1e300}) {
    auto back = round_trip(value{x});
    ASSERT_NE(back.get_if<double>(), nullptr) << x;
    EXPECT_EQ(*back.get_if<double>(), x); // exact: float64 on the wire
  }
}

TEST(Value, WholeNumberDoublesStayFloatsOnTheWire) {
  // msgpack-cxx 4.1.3 on its own would pack 2.0 as the int 2.
  for (double x : {0.0, 2.0, -3.0, 1e15}) {
    auto packed = pack(value{x});
    ASSERT_EQ(packed.size(), 9u) << x;
    EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0xcb) << x; // float 64
    auto back = round_trip(value{x});
    ASSERT_NE(back.get_if<double>(), nullptr) << x;
    EXPECT_EQ(*back.get_if<double>(), x);
    EXPECT_NE(back, value{static_cast<std::int64_t>(x)});
  }
  // Typed doubles and floats too, also inside containers.
  EXPECT_EQ(static_cast<unsigned char>(pack(2.0)[0]), 0xcb);
  EXPECT_EQ(static_cast<unsigned char>(pack(2.0f)[0]), 0xca);
  EXPECT_EQ(pack(std::vector<double>{1.0}), std::string("\x91\xcb\x3f\xf0\0\0\0\0\0\0", 10));
  auto negative_zero = round_trip(value{-0.0});
  ASSERT_NE(negative_zero.get_if<double>(), nullptr);
  EXPECT_TRUE(std::signbit(*negative_zero.get_if<double>()));
}

TEST(Value, Float32OnTheWireBecomesDouble) {
  auto back = unpack_value(pack(1.5f));
  ASSERT_TRUE(back.has_value());
  ASSERT_NE(back->get_if<double>(), nullptr);
  EXPECT_EQ(*back->get_if<double>(), 1.5);
}

TEST(Value, StrRoundTrips) {
  for (std::string s : {std::string{}, std::string{"Adam"}, std::string(300, 'x'),
                        std::string{"nul\0inside", 10}, std::string{"\xc3\xa9t\xc3\xa9"}}) {
    auto back = round_trip(value{s});
    ASSERT_NE(back.get_if<std::string>(), nullptr);
    EXPECT_EQ(*back.get_if<std::string>(), s);
  }
}

TEST(Value, BinRoundTripsAsBytesNotAsList) {
  bytes b{0x00, 0xff, 0x10, 0x7f};
  auto packed = pack(value{b});
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0xc4); // bin 8, not an array
  auto back = round_trip(value{b});
  ASSERT_NE(back.get_if<bytes>(), nullptr);
  EXPECT_EQ(*back.get_if<bytes>(), b);
  EXPECT_EQ(back.get_if<value::array>(), nullptr);
}

TEST(Value, NestedArrayRoundTrips) {
  value v{value::array{
    value{1}, value{"two"},
    value{value::array{value{}, value{true}, value{value::array{value{-3}, value{4.5}}}}},
    value{value::array{}}}};
  auto back = round_trip(v);
  EXPECT_EQ(back, v);
  ASSERT_NE(back.get_if<value::array>(), nullptr);
  const auto& outer = *back.get_if<value::array>();
  ASSERT_EQ(outer.size(), 4u);
  ASSERT_NE(outer[2].get_if<value::array>(), nullptr);
  EXPECT_EQ(outer[2].get_if<value::array>()->size(), 3u);
}

TEST(Value, MapWithNonStringKeysRoundTripsInOrder) {
  value v{value::map{
    {value{2}, value{"two"}},
    {value{"k"}, value{nullptr}},
    {value{true}, value{1.25}},
    {value{value::array{value{1}, value{2}}}, value{bytes{0xab}}},
    {value{-1}, value{value::map{{value{0}, value{0}}}}},
  }};
  auto back = round_trip(v);
  EXPECT_EQ(back, v);
  ASSERT_NE(back.get_if<value::map>(), nullptr);
  const auto& m = *back.get_if<value::map>();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].first, value{2});
  EXPECT_EQ(m[3].first, (value{value::array{value{1}, value{2}}}));
}

TEST(Value, EqualityDistinguishesKinds) {
  EXPECT_NE(value{1}, value{1.0});
  EXPECT_NE(value{1}, value{true});
  EXPECT_NE(value{"1"}, value{1});
  EXPECT_NE(value{bytes{}}, value{value::array{}});
  EXPECT_EQ(value{std::int32_t{7}}, value{std::uint64_t{7}});
}

TEST(Value, ToStringRendersEveryKind) {
  EXPECT_EQ(to_string(value{}), "null");
  EXPECT_EQ(to_string(value{true}), "true");
  EXPECT_EQ(to_string(value{false}), "false");
  EXPECT_EQ(to_string(value{-42}), "-42");
  EXPECT_EQ(to_string(value{std::numeric_limits<std::uint64_t>::max()}),
            "18446744073709551615");
  EXPECT_EQ(to_string(value{1.5}), "1.5");
  EXPECT_EQ(to_string(value{"Ada"}), "\"Ada\"");
  EXPECT_EQ(to_string(value{bytes{0xde, 0xad, 0x01}}), "b\"dead01\"");
  EXPECT_EQ(to_string(value{value::array{}}), "[]");
  EXPECT_EQ(to_string(value{value::map{}}), "{}");
  EXPECT_EQ(to_string(value{value::array{value{1}, value{"a"}, value{value::array{value{}}}}}),
            "[1, \"a\", [null]]");
  EXPECT_EQ(to_string(value{value::map{{value{1}, value{"one"}}, {value{"k"}, value{false}}}}),
            "{1: \"one\", \"k\": false}");
}

TEST(Value, ToStringEscapesStrings) {
  EXPECT_EQ(to_string(value{"a\"b\\c\nd\te"}), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(to_string(value{std::string{"\x01"}}), "\"\\u0001\"");
}

} // namespace
