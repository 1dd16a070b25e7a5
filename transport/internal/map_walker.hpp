#pragma once

#include "transport/codec.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

namespace ferry::transport::internal {

enum class container { map, array };

/// Reads the header of a map or array at the start of `data`: its element
/// count and the header's length. False when `data` does not start with one.
inline bool read_header(std::string_view data, container kind, std::uint32_t& n,
                        std::size_t& len) {
  if (data.empty())
    return false;
  auto b = static_cast<std::uint8_t>(data[0]);
  auto be = [&](std::size_t bytes) {
    std::uint32_t x = 0;
    for (std::size_t i = 1; i <= bytes; ++i)
      x = (x << 8) | static_cast<std::uint8_t>(data[i]);
    return x;
  };
  std::uint8_t fix = kind == container::map ? 0x80 : 0x90;
  std::uint8_t x16 = kind == container::map ? 0xde : 0xdc;
  if ((b & 0xf0) == fix) {
    n = b & 0x0f;
    len = 1;
  } else if (b == x16 && data.size() >= 3) {
    n = be(2);
    len = 3;
  } else if (b == x16 + 1 && data.size() >= 5) {
    n = be(4);
    len = 5;
  } else {
    return false;
  }
  return true;
}

/// Walks the top-level map of a message pair by pair, keeping each value's
/// exact bytes. Keys that are not strings are skipped.
class map_walker {
public:
  explicit map_walker(std::string_view data) : data_(data) {
    if (data.empty())
      error_ = "empty message";
    else if (!read_header(data, container::map, remaining_, off_))
      error_ = "message must be a msgpack map";
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  /// Reads the next pair; false at the end of the map or on an error.
  bool next(std::string& key, msgpack::object_handle& val, std::string_view& raw) {
    while (error_.empty() && remaining_ > 0) {
      --remaining_;
      auto k = unpack_at(data_, off_, &error_);
      if (!k)
        return false;
      auto start = off_;
      auto v = unpack_at(data_, off_, &error_);
      if (!v)
        return false;
      if (k->get().type != msgpack::type::STR)
        continue;
      key.assign(k->get().via.str.ptr, k->get().via.str.size);
      val = std::move(*v);
      raw = data_.substr(start, off_ - start);
      return true;
    }
    if (error_.empty() && off_ != data_.size())
      error_ = "trailing bytes after the message map";
    return false;
  }

private:
  std::string_view data_;
  std::size_t off_ = 0;
  std::uint32_t remaining_ = 0;
  std::string error_;
};

/// Splits a packed array into the exact bytes of each element; nullopt with
/// `*err` when `data` is not one well-formed array.
inline std::optional<std::vector<std::string_view>>
split_array(std::string_view data, std::string* err) {
  std::uint32_t n = 0;
  std::size_t off = 0;
  if (!read_header(data, container::array, n, off)) {
    *err = "expected an array";
    return std::nullopt;
  }
  if (n > data.size()) {
    *err = "array claims more elements than it holds";
    return std::nullopt;
  }
  std::vector<std::string_view> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto start = off;
    if (!unpack_at(data, off, err))
      return std::nullopt;
    out.push_back(data.substr(start, off - start));
  }
  if (off != data.size()) {
    *err = "trailing bytes after the array";
    return std::nullopt;
  }
  return out;
}

} // namespace ferry::transport::internal
