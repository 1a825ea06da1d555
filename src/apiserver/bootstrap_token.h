// Bootstrap tokens (upstream's TLS bootstrapping): "abcdef.0123456789abcdef"
// tokens kept as kube-system Secrets of type bootstrap.kubernetes.io/token,
// named bootstrap-token-<id>. A token authenticates a joining node as
// system:bootstrap:<id> (group system:bootstrappers) just long enough to ask
// for a certificate, and signs the kube-public/cluster-info ConfigMap
// (a detached JWS per token) so the node can trust the cluster's CA before
// it sends the token anywhere.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace kubepp::apiserver::bootstrap {

inline constexpr std::string_view kSecretType = "bootstrap.kubernetes.io/token";
inline constexpr std::string_view kSecretPrefix = "bootstrap-token-";
inline constexpr std::string_view kGroup = "system:bootstrappers";
inline constexpr std::string_view kUserPrefix = "system:bootstrap:";
inline constexpr std::string_view kJwsPrefix = "jws-kubeconfig-";
inline constexpr std::string_view kClusterInfo = "cluster-info";
inline constexpr std::string_view kPublicNamespace = "kube-public";

struct Token {
  std::string id;      // [a-z0-9]{6}, public
  std::string secret;  // [a-z0-9]{16}
  std::string String() const { return id + "." + secret; }
};

// "id.secret" in upstream's format, or nullopt.
std::optional<Token> ParseToken(std::string_view text);
Token NewToken();

// The detached JWS (HS256 keyed by the token secret, kid = the token id,
// "header..signature") of `content`, as upstream's bootstrapsigner writes
// into cluster-info.
std::string DetachedSignature(std::string_view content, const Token& token);
bool SignatureValid(std::string_view jws, std::string_view content, const Token& token);

// What a token Secret says, from its decoded data.
struct TokenSecret {
  std::string id;
  std::string secret;
  std::optional<long long> expires;  // Unix seconds
  bool authentication = false;       // usage-bootstrap-authentication
  bool signing = false;              // usage-bootstrap-signing
  std::vector<std::string> extra_groups;
  // Why the Secret is not a usable token ("" when it is).
  std::string invalid;
};
TokenSecret ReadTokenSecret(std::string_view name, std::string_view type, const std::map<std::string, std::string>& data);
// The same from a Secret object as stored (data base64); one being deleted
// is not a usable token.
TokenSecret ReadTokenSecret(const boost::json::object& secret);

// Constant-time comparison of secrets.
bool SecretsEqual(std::string_view a, std::string_view b);

}  // namespace kubepp::apiserver::bootstrap
