// ferry::transport codec: unpack rejects broken or hostile documents with a
// reason (never throws, never allocates for a claimed-but-absent payload), and
// packed_array / unpack_tuple convert arguments strictly.

#include "transport/codec.hpp"
#include "transport/error_code.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace ferry::transport;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string nested_arrays(int depth) {
  std::string s(static_cast<std::size_t>(depth), '\x91'); // fixarray of 1
  s += '\xc0';                                             // nil at the bottom
  return s;
}

// -- unpack errors --------------------------------------------------------------

TEST(Unpack, EmptyInputFails) {
  std::string err;
  EXPECT_FALSE(unpack("", &err).has_value());
  EXPECT_EQ(err, "empty message");
  EXPECT_FALSE(unpack_value("", &err).has_value());
}

TEST(Unpack, TruncatedDocumentFails) {
  auto full = pack(value{value::array{value{"Adam"}, value{"Mary"}}});
  for (std::size_t cut = 1; cut < full.size(); ++cut) {
    std::string err;
    EXPECT_FALSE(unpack_value(full.substr(0, cut), &err).has_value()) << cut;
    // A header cut off from its elements may also be caught by the length
    // bound (an array of 2 in a 1-byte message).
    EXPECT_TRUE(err == "truncated msgpack document"
                || err == "msgpack document claims more elements than it holds")
      << cut << ": " << err;
  }
  std::string err;
  EXPECT_TRUE(unpack_value(full, &err).has_value()) << err;
}

TEST(Unpack, TruncatedScalarsFail) {
  std::string err;
  auto d = pack(1.5);
  EXPECT_FALSE(unpack(d.substr(0, d.size() - 1), &err).has_value());
  EXPECT_EQ(err, "truncated msgpack document");
  auto s = pack(std::string(40, 'x'));
  EXPECT_FALSE(unpack(s.substr(0, 10), &err).has_value());
  EXPECT_EQ(err, "truncated msgpack document");
}

TEST(Unpack, UnpackAtReadsConsecutiveDocuments) {
  auto data = pack(1) + pack(std::string{"two"}) + pack_array(3);
  std::size_t off = 0;
  std::string err;
  auto a = unpack_at(data, off, &err);
  ASSERT_TRUE(a.has_value()) << err;
  EXPECT_EQ(a->get().as<int>(), 1);
  auto b = unpack_at(data, off, &err);
  ASSERT_TRUE(b.has_value()) << err;
  EXPECT_EQ(b->get().as<std::string>(), "two");
  auto c = unpack_at(data, off, &err);
  ASSERT_TRUE(c.has_value()) << err;
  EXPECT_EQ(off, data.size());
  EXPECT_FALSE(unpack_at(data, off, &err).has_value());
  EXPECT_EQ(err, "truncated msgpack document");
}

TEST(Unpack, TrailingBytesFail) {
  std::string err;
  EXPECT_FALSE(unpack_value(pack(1) + pack(2), &err).has_value());
  EXPECT_EQ(err, "trailing bytes after the msgpack document");
  EXPECT_FALSE(packed_array::open(pack_array(1) + '\xc0', &err).has_value());
  EXPECT_EQ(err, "trailing bytes after the msgpack document");
}

TEST(Unpack, ArrayLengthBombFailsFastWithoutAllocating) {
  // array 32 claiming 2^32-1 elements, followed by three one-byte elements.
  // Allocating first would ask for ~100 GB; the limit must refuse up front.
  std::string bomb{"\xdd\xff\xff\xff\xff\x01\x02\x03", 8};
  auto start = std::chrono::steady_clock::now();
  std::string err;
  EXPECT_FALSE(unpack(bomb, &err).has_value());
  EXPECT_EQ(err, "msgpack document claims more elements than it holds");
  EXPECT_FALSE(unpack_value(bomb, &err).has_value());
  EXPECT_FALSE(packed_array::open(bomb, &err).has_value());
  std::tuple<int> t;
  EXPECT_TRUE(unpack_tuple(bomb, t).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{1});
}

TEST(Unpack, MapStrAndBinLengthBombsFail) {
  std::string err;
  // map 32 with 2^32-1 pairs
  EXPECT_FALSE(unpack(std::string{"\xdf\xff\xff\xff\xff\x01\x02\x03", 8}, &err).has_value());
  // str 32 and bin 32 claiming 4 GiB
  EXPECT_FALSE(unpack(std::string{"\xdb\xff\xff\xff\xff" "abc", 8}, &err).has_value());
  EXPECT_FALSE(unpack(std::string{"\xc6\xff\xff\xff\xff" "abc", 8}, &err).has_value());
  // an array nested in an array, each claiming more than the input holds
  EXPECT_FALSE(unpack(std::string{"\x91\xdc\xff\xff\x01", 5}, &err).has_value());
}

TEST(Unpack, NestingUpToTheLimitIsAccepted) {
  std::string err;
  auto v = unpack_value(nested_arrays(64), &err);
  ASSERT_TRUE(v.has_value()) << err;
  const value* cur = &*v;
  int depth = 0;
  while (auto arr = cur->get_if<value::array>()) {
    ASSERT_EQ(arr->size(), 1u);
    cur = &arr->front();
    ++depth;
  }
  EXPECT_EQ(depth, 64);
  EXPECT_TRUE(cur->is_nil());
}

TEST(Unpack, NestingBeyond64LevelsFails) {
  for (int depth : {65, 100, 100000}) {
    std::string err;
    EXPECT_FALSE(unpack_value(nested_arrays(depth), &err).has_value()) << depth;
    EXPECT_EQ(err, "msgpack document nests too deeply") << depth;
  }
  // Maps nest the same way: {0: {0: ... }}
  std::string maps;
  for (int i = 0; i < 80; ++i) {
    maps += '\x81'; // fixmap of 1
    maps += '\x00'; // key 0
  }
  maps += '\xc0';
  std::string err;
  EXPECT_FALSE(unpack_value(maps, &err).has_value());
  EXPECT_EQ(err, "msgpack document nests too deeply");
}

TEST(Unpack, LimitsAreConfigurable) {
  std::string err;
  EXPECT_TRUE(unpack(nested_arrays(3), &err, unpack_limits{3}).has_value()) << err;
  EXPECT_FALSE(unpack(nested_arrays(4), &err, unpack_limits{3}).has_value());
}

TEST(Unpack, InvalidByteFails) {
  std::string err;
  EXPECT_FALSE(unpack(std::string(1, '\xc1'), &err).has_value()); // never used
  EXPECT_FALSE(err.empty());
}

TEST(Unpack, ExtTypeIsNotAValue) {
  std::string fixext1{"\xd4\x01\x2a", 3};
  std::string err;
  EXPECT_TRUE(unpack(fixext1, &err).has_value()) << err;
  EXPECT_FALSE(unpack_value(fixext1, &err).has_value());
  EXPECT_EQ(err, "unsupported msgpack type (ext)");
}

TEST(Unpack, ErrPointerIsOptional) {
  EXPECT_FALSE(unpack("").has_value());
  EXPECT_FALSE(unpack_value(std::string(1, '\x92')).has_value());
}

TEST(Codec, KindNames) {
  auto kind = [](const std::string& packed) {
    auto oh = unpack(packed);
    return oh ? std::string{kind_name(oh->get())} : std::string{"<unpack failed>"};
  };
  EXPECT_EQ(kind(pack(value{})), "nil");
  EXPECT_EQ(kind(pack(true)), "bool");
  EXPECT_EQ(kind(pack(5)), "int");
  EXPECT_EQ(kind(pack(-5)), "int");
  EXPECT_EQ(kind(pack(1.5)), "float");
  EXPECT_EQ(kind(pack(1.5f)), "float");
  EXPECT_EQ(kind(pack(std::string{"s"})), "str");
  EXPECT_EQ(kind(pack(bytes{1})), "bin");
  EXPECT_EQ(kind(pack_array(1)), "array");
  EXPECT_EQ(kind(pack(std::map<std::string, int>{{"a", 1}})), "map");
  EXPECT_EQ(kind(std::string{"\xd4\x01\x2a", 3}), "ext");
}

// -- packed_array ---------------------------------------------------------------

TEST(PackedArray, ReadsElementsByIndex) {
  std::string err;
  auto arr = packed_array::open(pack_array(std::string{"Adam"}, std::int64_t{3}, true), &err);
  ASSERT_TRUE(arr.has_value()) << err;
  ASSERT_EQ(arr->size(), 3u);
  std::string s;
  std::int64_t n = 0;
  bool b = false;
  EXPECT_TRUE(arr->get(0, s));
  EXPECT_TRUE(arr->get(1, n));
  EXPECT_TRUE(arr->get(2, b));
  EXPECT_EQ(s, "Adam");
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(b);
  EXPECT_FALSE(arr->get(0, n)); // str is not an int
}

TEST(PackedArray, RejectsNonArrays) {
  std::string err;
  EXPECT_FALSE(packed_array::open(pack(std::string{"x"}), &err).has_value());
  EXPECT_EQ(err, "expected an array, got str");
  EXPECT_FALSE(packed_array::open("", &err).has_value());
  EXPECT_EQ(err, "empty message");
}

TEST(PackedArray, StrictIntegerTyping) {
  auto arr = packed_array::open(pack_array(1.0, 1, std::int64_t{1} << 40, -1), nullptr);
  ASSERT_TRUE(arr.has_value());
  int i = 0;
  bool b = false;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  double d = 0;
  EXPECT_FALSE(arr->get(0, i));   // float -> int
  EXPECT_FALSE(arr->get(1, b));   // int -> bool
  EXPECT_FALSE(arr->get(2, i32)); // out of int32 range
  EXPECT_FALSE(arr->get(3, u32)); // negative -> unsigned
  EXPECT_TRUE(arr->get(1, d));    // int -> double
  EXPECT_EQ(d, 1.0);
}

// -- unpack_tuple -----------------------------------------------------------------

TEST(UnpackTuple, ConvertsEveryElement) {
  std::tuple<std::string, std::int64_t, double, bool, std::vector<std::int64_t>,
             std::map<std::string, double>, bytes, value>
    out;
  auto packed = pack_array(std::string{"Mary"}, std::int64_t{-5}, 0.25, false,
                           std::vector<std::int64_t>{1, 2, 3},
                           std::map<std::string, double>{{"x", 1.5}}, bytes{9, 8},
                           value{value::array{value{}, value{"y"}}});
  auto err = unpack_tuple(packed, out);
  ASSERT_FALSE(err.has_value()) << *err;
  EXPECT_EQ(std::get<0>(out), "Mary");
  EXPECT_EQ(std::get<1>(out), -5);
  EXPECT_EQ(std::get<2>(out), 0.25);
  EXPECT_FALSE(std::get<3>(out));
  EXPECT_EQ(std::get<4>(out), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(std::get<5>(out), (std::map<std::string, double>{{"x", 1.5}}));
  EXPECT_EQ(std::get<6>(out), (bytes{9, 8}));
  EXPECT_EQ(std::get<7>(out), (value{value::array{value{}, value{"y"}}}));
}

TEST(UnpackTuple, FloatToIntIsRejected) {
  std::tuple<std::int64_t> out;
  auto err = unpack_tuple(pack_array(2.5), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "argument 0 must be int64, got float");
  // even a float with an integral value
  EXPECT_TRUE(unpack_tuple(pack_array(2.0), out).has_value());
}

TEST(UnpackTuple, IntToBoolIsRejected) {
  std::tuple<std::string, bool> out;
  auto err = unpack_tuple(pack_array(std::string{"a"}, 1), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "argument 1 must be bool, got int");
}

TEST(UnpackTuple, IntOutOfInt32RangeIsRejected) {
  std::tuple<std::int32_t> out;
  EXPECT_FALSE(unpack_tuple(pack_array(std::int64_t{INT32_MAX}), out).has_value());
  EXPECT_EQ(std::get<0>(out), INT32_MAX);
  auto err = unpack_tuple(pack_array(std::int64_t{INT32_MAX} + 1), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "argument 0 must be int32, got int");
  EXPECT_TRUE(unpack_tuple(pack_array(std::int64_t{INT32_MIN} - 1), out).has_value());
}

TEST(UnpackTuple, IntToDoubleIsAccepted) {
  std::tuple<double, double> out;
  auto err = unpack_tuple(pack_array(3, -4), out);
  ASSERT_FALSE(err.has_value()) << *err;
  EXPECT_EQ(std::get<0>(out), 3.0);
  EXPECT_EQ(std::get<1>(out), -4.0);
}

TEST(UnpackTuple, WrongArityNamesBothCounts) {
  std::tuple<std::string, std::int64_t> out;
  auto err = unpack_tuple(pack_array(std::string{"a"}, 1, 2), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "takes 2 argument(s), got 3");
  err = unpack_tuple(pack_array(std::string{"a"}), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "takes 2 argument(s), got 1");
  std::tuple<> none;
  EXPECT_FALSE(unpack_tuple(pack_array(), none).has_value());
}

TEST(UnpackTuple, NonArrayArgumentsAreRejected) {
  std::tuple<std::int64_t> out;
  auto err = unpack_tuple(pack(7), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(*err, "must be a msgpack array")) << *err;
  err = unpack_tuple(std::string{"\x92\x01", 2}, out);
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(*err, "truncated")) << *err;
}

TEST(UnpackTuple, ReportsTheFirstBadArgument) {
  std::tuple<std::int64_t, std::string, bool> out;
  auto err = unpack_tuple(pack_array(1, 2, 3), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "argument 1 must be str, got int");
}

TEST(UnpackTuple, ListElementsAreTypedToo) {
  std::tuple<std::vector<std::int64_t>> out;
  auto err = unpack_tuple(pack_array(std::vector<double>{1.5}), out);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, "argument 0 must be list[int64], got array");
}

// -- error codes ----------------------------------------------------------------

TEST(ErrorCode, WireNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(errc::too_large); ++i) {
    auto code = static_cast<errc>(i);
    auto back = errc_from_string(to_string(code));
    ASSERT_TRUE(back.has_value()) << to_string(code);
    EXPECT_EQ(*back, code);
  }
  EXPECT_EQ(to_string(errc::queue_full), "queue_full");
  EXPECT_EQ(to_string(errc::deadline_exceeded), "deadline_exceeded");
  EXPECT_FALSE(errc_from_string("no_such_code").has_value());
}

} // namespace
