// Decoding Kubernetes protobuf request bodies into JSON objects.
//
// kubectl 1.32 sends typed-client writes as application/vnd.kubernetes.protobuf:
// the magic "k8s\0", then a runtime.Unknown {1: TypeMeta{1 apiVersion, 2 kind},
// 2: raw (the object's message), 3: contentEncoding, 4: contentType}. The
// object's message is decoded with the schema's field numbers; upstream's
// well-known messages (Time, Quantity, IntOrString, ...) become their JSON
// forms, and zero values of fields not marked `zero` are dropped, as Go's
// omitempty would.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "api/schema/schema.h"
#include "common/status.h"

namespace kubepp::api {

struct UnknownEnvelope {
  std::string api_version;
  std::string kind;
  std::string raw;
  std::string content_encoding;
  std::string content_type;
};

// Parses the envelope. BadRequest if the magic or framing is wrong.
Result<UnknownEnvelope> DecodeUnknown(std::string_view body);

// Decodes one message of `type` into a JSON object.
Result<boost::json::value> DecodeMessage(std::string_view bytes, const schema::Type* type);

// The whole body: envelope, lookup of the kind in `registry`, and decoding.
// The result carries apiVersion and kind.
Result<boost::json::value> DecodeProtobufObject(std::string_view body, const schema::Registry& registry);

}  // namespace kubepp::api
