// Message headers as they travel on the broker (NATS headers, Kafka record headers).
//
// One value per name; names are case-sensitive as on the wire. Kept as a flat vector of
// (name, value) pairs sorted by name: a message has about eight headers, and one vector is one
// allocation where a node-based map costs one per header (on every follow-up event). Reads as a
// sorted map does: iteration in name order, find / lower_bound / at / contains, operator[] and
// insert_or_assign to set a value. Names cannot be changed in place (the order depends on them).
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleet {

class Headers {
 public:
  using key_type = std::string;
  using mapped_type = std::string;
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;
  using iterator = const_iterator;  // names are the sort key: no mutable iteration
  using size_type = std::size_t;

  Headers() = default;
  // As a map built from the list: the first value of a repeated name wins.
  Headers(std::initializer_list<value_type> list) {
    entries_.reserve(list.size());
    for (const auto& [name, value] : list) emplace(name, value);
  }

  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  size_type size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void reserve(size_type n) { entries_.reserve(n); }
  void clear() { entries_.clear(); }

  // The first entry whose name is not less than `name`.
  const_iterator lower_bound(std::string_view name) const {
    return std::lower_bound(entries_.begin(), entries_.end(), name,
                            [](const value_type& entry, std::string_view n) {
                              return std::string_view(entry.first) < n;
                            });
  }
  const_iterator find(std::string_view name) const {
    auto it = lower_bound(name);
    return it != end() && it->first == name ? it : end();
  }
  bool contains(std::string_view name) const { return find(name) != end(); }
  size_type count(std::string_view name) const { return contains(name) ? 1 : 0; }
  // std::out_of_range when absent, as std::map::at.
  const std::string& at(std::string_view name) const {
    auto it = find(name);
    if (it == end()) throw std::out_of_range("no header " + std::string(name));
    return it->second;
  }

  // Adds `name` unless present; returns where it is and whether it was added.
  template <class Name, class Value>
  std::pair<const_iterator, bool> emplace(Name&& name, Value&& value) {
    const std::string_view n(name);
    auto it = lower_bound(n);
    if (it != end() && it->first == n) return {it, false};
    const auto at = it - begin();
    entries_.emplace(entries_.begin() + at, std::string(std::forward<Name>(name)),
                     std::string(std::forward<Value>(value)));
    return {begin() + at, true};
  }
  template <class Value>
  std::pair<const_iterator, bool> insert_or_assign(std::string_view name, Value&& value) {
    auto [it, added] = emplace(name, std::string_view());
    mutable_at(it) = std::string(std::forward<Value>(value));
    return {it, added};
  }
  // The value of `name`, added empty if absent.
  std::string& operator[](std::string_view name) { return mutable_at(emplace(name, "").first); }

  const_iterator erase(const_iterator first, const_iterator last) {
    return entries_.erase(first, last);
  }
  const_iterator erase(const_iterator it) { return entries_.erase(it); }
  size_type erase(std::string_view name) {
    auto it = find(name);
    if (it == end()) return 0;
    entries_.erase(it);
    return 1;
  }

  friend bool operator==(const Headers&, const Headers&) = default;

 private:
  std::string& mutable_at(const_iterator it) { return entries_[it - begin()].second; }

  std::vector<value_type> entries_;  // sorted by name, names unique
};

inline std::optional<std::string_view> header(const Headers& headers, std::string_view name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace fleet
