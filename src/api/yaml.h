// YAML to and from JSON values (yaml-cpp), with YAML 1.2 core-schema scalar
// resolution: plain true/false, null/~, integers and floats become JSON
// booleans, null and numbers; quoted scalars are always strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"

namespace kubepp::api {

// One YAML document (JSON is YAML too). BadRequest on syntax errors.
Result<boost::json::value> YamlToJson(std::string_view text);
// Every document of a multi-document stream; empty documents are skipped.
Result<std::vector<boost::json::value>> YamlDocumentsToJson(std::string_view text);
// Block-style YAML as kubectl -o yaml prints it.
std::string JsonToYaml(const boost::json::value& v);

}  // namespace kubepp::api
