// Small string helpers.
#pragma once

#include <string_view>
#include <vector>

namespace kubepp {

// The non-empty pieces of `s` between `sep`s ("a,,b," -> {"a", "b"}).
inline std::vector<std::string_view> SplitNonEmpty(std::string_view s, char sep = ',') {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// `s` without leading and trailing spaces, tabs and line ends.
inline std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

}  // namespace kubepp
