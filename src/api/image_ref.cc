#include "api/image_ref.h"

#include <cctype>

namespace kubepp::api {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host[:port]: labels of [a-zA-Z0-9-] separated by dots.
bool ValidDomain(std::string_view d) {
  size_t colon = d.rfind(':');
  std::string_view host = d.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return host.front() != '.' && host.back() != '.' && host.front() != '-';
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(t[0])) && t[0] != '_') return false;
  for (char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool ValidDigest(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view algo = d.substr(0, colon), hex = d.substr(colon + 1);
  if (hex.size() < 32) return false;
  for (char c : algo) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  }
  if (algo == "sha256" && hex.size() != 64) return false;
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string ImageRef::String() const {
  std::string s = Repository();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<ImageRef> ParseImageRef(std::string_view ref) {
  auto bad = [&] {
    return Status::BadRequest("couldn't parse image name \"" + std::string(ref) + "\": invalid reference format");
  };
  if (ref.empty() || ref.size() > 4096) return bad();
  ImageRef r;
  std::string_view rest = ref;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    if (!ValidDigest(r.digest)) return bad();
    rest = rest.substr(0, at);
  }
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    if (!ValidTag(r.tag)) return bad();
    rest = rest.substr(0, colon);
  }
  size_t first = rest.find('/');
  std::string_view head = first == std::string_view::npos ? std::string_view() : rest.substr(0, first);
  bool has_domain = first != std::string_view::npos &&
                    (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
                     head == "localhost" || head.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos);
  std::string_view path = rest;
  if (has_domain) {
    if (!ValidDomain(head)) return bad();
    r.domain = std::string(head);
    path = rest.substr(first + 1);
  } else {
    r.domain = "docker.io";
  }
  if (path.empty() || path.size() > 255) return bad();
  for (size_t i = 0;;) {
    size_t j = path.find('/', i);
    if (!ValidComponent(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i))) return bad();
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  r.path = std::string(path);
  if (r.domain == "docker.io" && r.path.find('/') == std::string::npos) r.path = "library/" + r.path;
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string NormalizedImageName(std::string_view image) {
  auto r = ParseImageRef(image);
  return r.ok() ? r->String() : std::string(image);
}

}  // namespace kubepp::api
