// The one table between an enum's values and the names a user types (flags, recipes, logs), read both ways,
// so that a name and its parser cannot drift apart. Private to the .cpp files that define such names.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace lenet {

template <class E>
using NameOf = std::pair<E, std::string_view>;

template <class E, std::size_t N>
constexpr std::string_view name_in(const NameOf<E> (&table)[N], E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
constexpr std::optional<E> parse_in(const NameOf<E> (&table)[N], std::string_view text) {
  for (const auto& [v, name] : table)
    if (name == text) return v;
  return std::nullopt;
}

}  // namespace lenet
