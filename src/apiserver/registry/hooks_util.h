// Helpers for the per-kind hook files (defaults.cc, validation.cc, tables.cc):
// reading and formatting fields of JSON objects the way upstream's printers
// and strategies do.
#pragma once

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/errors.h"
#include "api/object.h"
#include "api/selector.h"
#include "api/time.h"
#include "apiserver/registry/resource.h"

namespace kubepp::apiserver::hooks {

namespace bj = boost::json;
using api::ArrAt;
using api::BoolAt;
using api::IntAt;
using api::ObjAt;
using api::StrAt;

// translateTimestampSince: "<unknown>" when the timestamp is missing.
std::string Age(std::string_view rfc3339, const TableContext& ctx);
// metadata.creationTimestamp's age.
std::string ObjectAge(const bj::object& obj, const TableContext& ctx);
// "k=v,k2=v2" sorted by key, or "<none>".
std::string FormatLabels(const bj::object* labels);
// A metav1.LabelSelector as "a=b,c in (d)" or "<none>".
std::string FormatLabelSelector(const bj::value* selector);
// The string at a path, or `def` when missing or empty.
std::string StrOr(const bj::object& o, std::initializer_list<std::string_view> path, std::string_view def);

}  // namespace kubepp::apiserver::hooks
