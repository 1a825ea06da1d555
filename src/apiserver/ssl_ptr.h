// Owning pointers for OpenSSL objects, shared by the PKI and the token signer.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>

namespace kubepp::apiserver {

template <typename T, void (*F)(T*)>
struct SslDeleter {
  void operator()(T* p) const { F(p); }
};
template <typename T, void (*F)(T*)>
using SslPtr = std::unique_ptr<T, SslDeleter<T, F>>;

using PKey = SslPtr<EVP_PKEY, EVP_PKEY_free>;
using Bio = SslPtr<BIO, BIO_free_all>;
using MdCtx = SslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

}  // namespace kubepp::apiserver
