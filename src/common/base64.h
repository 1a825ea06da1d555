// Base64 (RFC 4648, standard alphabet, padded): etcd's JSON gateway carries
// keys and values this way, and so do Secret data fields.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace kubepp {

std::string Base64Encode(std::string_view in);
// Strict decode: BadRequest on characters outside the alphabet or bad padding.
Result<std::string> Base64Decode(std::string_view in);

// The URL-safe alphabet without padding (RFC 4648 section 5), as JWTs use.
std::string Base64UrlEncode(std::string_view in);
Result<std::string> Base64UrlDecode(std::string_view in);

}  // namespace kubepp
