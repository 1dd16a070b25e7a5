#pragma once

#include "transport/value.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ferry::transport {

/// The type name a registered input or output reports in `info`:
/// int64, int32, uint64, double, float, bool, str, bytes, any,
/// list[T] and map[K,V].
template <class T>
struct type_name_of;

template <class T>
std::string type_name() {
  return type_name_of<T>::get();
}

#define FERRY_TYPE_NAME(type, text)                                            \
  template <>                                                                  \
  struct type_name_of<type> {                                                  \
    static std::string get() { return text; }                                  \
  };

FERRY_TYPE_NAME(bool, "bool")
FERRY_TYPE_NAME(std::int8_t, "int8")
FERRY_TYPE_NAME(std::int16_t, "int16")
FERRY_TYPE_NAME(std::int32_t, "int32")
FERRY_TYPE_NAME(std::int64_t, "int64")
FERRY_TYPE_NAME(long long, "int64")
FERRY_TYPE_NAME(std::uint16_t, "uint16")
FERRY_TYPE_NAME(std::uint32_t, "uint32")
FERRY_TYPE_NAME(std::uint64_t, "uint64")
FERRY_TYPE_NAME(unsigned long long, "uint64")
FERRY_TYPE_NAME(float, "float")
FERRY_TYPE_NAME(double, "double")
FERRY_TYPE_NAME(std::string, "str")
FERRY_TYPE_NAME(bytes, "bytes")
FERRY_TYPE_NAME(value, "any")

#undef FERRY_TYPE_NAME

template <class T>
struct type_name_of<std::vector<T>> {
  static std::string get() { return "list[" + type_name<T>() + "]"; }
};

template <class K, class V>
struct type_name_of<std::map<K, V>> {
  static std::string get() {
    return "map[" + type_name<K>() + "," + type_name<V>() + "]";
  }
};

} // namespace ferry::transport
