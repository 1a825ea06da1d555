#include "api/selector.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "api/names.h"

namespace kubepp::api {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on commas outside parentheses.
Result<std::vector<std::string_view>> SplitTop(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(') {
      if (++depth > 1) return Status::BadRequest("unable to parse requirement: found '(', expected: ',' or ')'");
    } else if (c == ')') {
      if (--depth < 0) return Status::BadRequest("unable to parse requirement: found ')', expected: identifier");
    } else if (c == ',' && depth == 0) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) return Status::BadRequest("unable to parse requirement: found '', expected: ')'");
  out.push_back(text.substr(start));
  return out;
}

Status CheckKey(std::string_view key) {
  auto errs = IsQualifiedName(key);
  if (!errs.empty()) {
    return Status::BadRequest("unable to parse requirement: key: Invalid value: \"" + std::string(key) +
                              "\": " + errs[0]);
  }
  return Status::OK();
}

Status CheckValue(std::string_view key, size_t i, std::string_view value) {
  auto errs = IsValidLabelValue(value);
  if (!errs.empty()) {
    return Status::BadRequest("unable to parse requirement: values[" + std::to_string(i) + "][" + std::string(key) +
                              "]: Invalid value: \"" + std::string(value) + "\": " + errs[0]);
  }
  return Status::OK();
}

bool IsWordBoundary(std::string_view s, size_t pos) { return pos >= s.size() || s[pos] == ' ' || s[pos] == '\t' || s[pos] == '('; }

// Finds " in " / " notin " as an operator word after the key.
bool FindSetOp(std::string_view s, std::string_view word, size_t* key_end, size_t* values_start) {
  size_t pos = 0;
  while ((pos = s.find(word, pos)) != std::string_view::npos) {
    bool left = pos > 0 && (s[pos - 1] == ' ' || s[pos - 1] == '\t');
    if (left && IsWordBoundary(s, pos + word.size())) {
      *key_end = pos;
      *values_start = pos + word.size();
      return true;
    }
    ++pos;
  }
  return false;
}

Result<LabelRequirement> ParseRequirement(std::string_view raw) {
  std::string_view s = Trim(raw);
  if (s.empty()) return Status::BadRequest("unable to parse requirement: found '', expected: identifier");
  LabelRequirement r;
  if (s.front() == '!') {
    r.op = LabelRequirement::Op::kDoesNotExist;
    r.key = std::string(Trim(s.substr(1)));
    RETURN_IF_ERROR(CheckKey(r.key));
    return r;
  }
  size_t key_end, values_start;
  bool notin = FindSetOp(s, "notin", &key_end, &values_start);
  bool in = !notin && FindSetOp(s, "in", &key_end, &values_start);
  if (in || notin) {
    r.op = notin ? LabelRequirement::Op::kNotIn : LabelRequirement::Op::kIn;
    r.key = std::string(Trim(s.substr(0, key_end)));
    RETURN_IF_ERROR(CheckKey(r.key));
    std::string_view rest = Trim(s.substr(values_start));
    if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
      return Status::BadRequest("unable to parse requirement: found '" + std::string(rest) + "', expected: '('");
    }
    std::string_view inner = rest.substr(1, rest.size() - 2);
    size_t start = 0;
    while (start <= inner.size()) {
      size_t comma = inner.find(',', start);
      if (comma == std::string_view::npos) comma = inner.size();
      r.values.emplace_back(Trim(inner.substr(start, comma - start)));
      start = comma + 1;
    }
    if (r.values.size() == 1 && r.values[0].empty() && Trim(inner).empty()) {
      return Status::BadRequest("unable to parse requirement: for 'in', 'notin' operators, values set can't be empty");
    }
    for (size_t i = 0; i < r.values.size(); ++i) RETURN_IF_ERROR(CheckValue(r.key, i, r.values[i]));
    return r;
  }
  size_t op_pos;
  size_t op_len;
  if ((op_pos = s.find("!=")) != std::string_view::npos) {
    r.op = LabelRequirement::Op::kNotEquals;
    op_len = 2;
  } else if ((op_pos = s.find("==")) != std::string_view::npos) {
    r.op = LabelRequirement::Op::kEquals;
    op_len = 2;
  } else if ((op_pos = s.find('=')) != std::string_view::npos) {
    r.op = LabelRequirement::Op::kEquals;
    op_len = 1;
  } else if ((op_pos = s.find('>')) != std::string_view::npos) {
    r.op = LabelRequirement::Op::kGreaterThan;
    op_len = 1;
  } else if ((op_pos = s.find('<')) != std::string_view::npos) {
    r.op = LabelRequirement::Op::kLessThan;
    op_len = 1;
  } else {
    r.op = LabelRequirement::Op::kExists;
    r.key = std::string(s);
    if (r.key.find_first_of(" \t()") != std::string::npos) {
      return Status::BadRequest("unable to parse requirement: found '" + r.key + "', expected: in, notin, =, ==, !=, gt, lt");
    }
    RETURN_IF_ERROR(CheckKey(r.key));
    return r;
  }
  r.key = std::string(Trim(s.substr(0, op_pos)));
  std::string value(Trim(s.substr(op_pos + op_len)));
  RETURN_IF_ERROR(CheckKey(r.key));
  if (r.op == LabelRequirement::Op::kGreaterThan || r.op == LabelRequirement::Op::kLessThan) {
    int64_t n;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size()) {
      return Status::BadRequest("unable to parse requirement: values[0]: Invalid value: \"" + value +
                                "\": for 'Gt', 'Lt' operators, the value must be an integer");
    }
  } else {
    RETURN_IF_ERROR(CheckValue(r.key, 0, value));
  }
  r.values = {value};
  return r;
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool LabelRequirement::Matches(const std::map<std::string, std::string, std::less<>>& labels) const {
  auto it = labels.find(key);
  if (it == labels.end()) return MatchesValue(nullptr);
  std::string_view v = it->second;
  return MatchesValue(&v);
}

bool LabelRequirement::MatchesValue(const std::string_view* value) const {
  switch (op) {
    case Op::kEquals:
    case Op::kIn:
      return value != nullptr && std::find(values.begin(), values.end(), *value) != values.end();
    case Op::kNotEquals:
    case Op::kNotIn:
      return value == nullptr || std::find(values.begin(), values.end(), *value) == values.end();
    case Op::kExists:
      return value != nullptr;
    case Op::kDoesNotExist:
      return value == nullptr;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      int64_t have, want;
      if (value == nullptr || values.empty() || !ParseInt(*value, &have) || !ParseInt(values[0], &want)) {
        return false;
      }
      return op == Op::kGreaterThan ? have > want : have < want;
    }
  }
  return false;
}

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  if (Trim(text).empty()) return sel;
  ASSIGN_OR_RETURN(auto parts, SplitTop(text));
  for (auto part : parts) {
    ASSIGN_OR_RETURN(LabelRequirement r, ParseRequirement(part));
    sel.requirements_.push_back(std::move(r));
  }
  std::stable_sort(sel.requirements_.begin(), sel.requirements_.end(),
                   [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
  return sel;
}

LabelSelector LabelSelector::Nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

Result<LabelSelector> LabelSelector::FromObject(const boost::json::value* selector) {
  if (selector == nullptr || selector->is_null()) return Nothing();
  LabelSelector sel;
  const auto* obj = selector->if_object();
  if (obj == nullptr) return Status::BadRequest("label selector must be an object");
  if (const auto* ml = obj->if_contains("matchLabels"); ml != nullptr && ml->is_object()) {
    for (const auto& [k, v] : ml->get_object()) {
      if (!v.is_string()) return Status::BadRequest("matchLabels values must be strings");
      LabelRequirement r;
      r.key = std::string(k);
      r.op = LabelRequirement::Op::kEquals;
      r.values = {std::string(v.get_string())};
      sel.requirements_.push_back(std::move(r));
    }
  }
  if (const auto* me = obj->if_contains("matchExpressions"); me != nullptr && me->is_array()) {
    for (const auto& e : me->get_array()) {
      if (!e.is_object()) return Status::BadRequest("matchExpressions entries must be objects");
      LabelRequirement r;
      const auto& eo = e.get_object();
      if (const auto* k = eo.if_contains("key"); k != nullptr && k->is_string()) r.key = std::string(k->get_string());
      std::string op;
      if (const auto* o = eo.if_contains("operator"); o != nullptr && o->is_string()) op = std::string(o->get_string());
      if (op == "In") {
        r.op = LabelRequirement::Op::kIn;
      } else if (op == "NotIn") {
        r.op = LabelRequirement::Op::kNotIn;
      } else if (op == "Exists") {
        r.op = LabelRequirement::Op::kExists;
      } else if (op == "DoesNotExist") {
        r.op = LabelRequirement::Op::kDoesNotExist;
      } else {
        return Status::BadRequest("\"" + op + "\" is not a valid label selector operator");
      }
      if (const auto* vs = eo.if_contains("values"); vs != nullptr && vs->is_array()) {
        for (const auto& v : vs->get_array()) {
          if (v.is_string()) r.values.emplace_back(v.get_string());
        }
      }
      sel.requirements_.push_back(std::move(r));
    }
  }
  std::stable_sort(sel.requirements_.begin(), sel.requirements_.end(),
                   [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
  return sel;
}

bool LabelSelector::Matches(const std::map<std::string, std::string, std::less<>>& labels) const {
  if (nothing_) return false;
  for (const auto& r : requirements_) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

std::map<std::string, std::string, std::less<>> ObjectLabels(const boost::json::value& obj) {
  std::map<std::string, std::string, std::less<>> out;
  const auto* o = obj.if_object();
  if (o == nullptr) return out;
  const auto* md = o->if_contains("metadata");
  if (md == nullptr || !md->is_object()) return out;
  const auto* labels = md->get_object().if_contains("labels");
  if (labels == nullptr || !labels->is_object()) return out;
  for (const auto& [k, v] : labels->get_object()) {
    if (v.is_string()) out.emplace(std::string(k), std::string(v.get_string()));
  }
  return out;
}

bool LabelSelector::MatchesObject(const boost::json::value& obj) const {
  if (const auto* o = obj.if_object()) return MatchesObject(*o);
  return Matches({});
}

bool LabelSelector::MatchesObject(const boost::json::object& obj) const {
  if (nothing_) return false;
  if (requirements_.empty()) return true;
  const boost::json::object* labels = nullptr;
  if (const auto* md = obj.if_contains("metadata"); md != nullptr && md->is_object()) {
    if (const auto* l = md->get_object().if_contains("labels"); l != nullptr && l->is_object()) labels = &l->get_object();
  }
  for (const auto& r : requirements_) {
    const boost::json::value* v = labels != nullptr ? labels->if_contains(r.key) : nullptr;
    if (v != nullptr && v->is_string()) {
      std::string_view sv = v->get_string();
      if (!r.MatchesValue(&sv)) return false;
    } else if (!r.MatchesValue(nullptr)) {
      return false;
    }
  }
  return true;
}

std::string LabelSelector::String() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    switch (r.op) {
      case LabelRequirement::Op::kEquals:
        out += r.key + "=" + (r.values.empty() ? "" : r.values[0]);
        break;
      case LabelRequirement::Op::kNotEquals:
        out += r.key + "!=" + (r.values.empty() ? "" : r.values[0]);
        break;
      case LabelRequirement::Op::kIn:
      case LabelRequirement::Op::kNotIn: {
        std::vector<std::string> vs = r.values;
        std::sort(vs.begin(), vs.end());
        out += r.key + (r.op == LabelRequirement::Op::kIn ? " in (" : " notin (");
        for (size_t i = 0; i < vs.size(); ++i) out += (i ? "," : "") + vs[i];
        out += ")";
        break;
      }
      case LabelRequirement::Op::kExists:
        out += r.key;
        break;
      case LabelRequirement::Op::kDoesNotExist:
        out += "!" + r.key;
        break;
      case LabelRequirement::Op::kGreaterThan:
        out += r.key + ">" + (r.values.empty() ? "" : r.values[0]);
        break;
      case LabelRequirement::Op::kLessThan:
        out += r.key + "<" + (r.values.empty() ? "" : r.values[0]);
        break;
    }
  }
  return out;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  if (Trim(text).empty()) return sel;
  // Split on unescaped commas, then each term on its first unescaped operator.
  std::vector<std::string> terms;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      cur.push_back(c);
      cur.push_back(text[++i]);
    } else if (c == ',') {
      terms.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  terms.push_back(std::move(cur));
  for (const auto& term : terms) {
    FieldRequirement r;
    size_t op = std::string::npos, op_len = 0;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term.compare(i, 2, "!=") == 0) {
        op = i;
        op_len = 2;
        r.equals = false;
        break;
      }
      if (term.compare(i, 2, "==") == 0) {
        op = i;
        op_len = 2;
        break;
      }
      if (term[i] == '=') {
        op = i;
        op_len = 1;
        break;
      }
    }
    if (op == std::string::npos) {
      return Status::BadRequest("invalid selector: '" + std::string(text) + "'; can't understand '" + term + "'");
    }
    r.field = std::string(Trim(term.substr(0, op)));
    std::string raw = term.substr(op + op_len);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        r.value.push_back(raw[++i]);
      } else {
        r.value.push_back(raw[i]);
      }
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::Matches(const FieldGetter& get) const {
  for (const auto& r : requirements_) {
    auto v = get(r.field);
    std::string have = v.value_or("");
    if (r.equals ? have != r.value : have == r.value) return false;
  }
  return true;
}

Status FieldSelector::Check(const std::function<bool(std::string_view)>& supported) const {
  for (const auto& r : requirements_) {
    if (!supported(r.field)) return Status::BadRequest("field label not supported: " + r.field);
  }
  return Status::OK();
}

std::optional<std::string> FieldSelector::RequiredValue(std::string_view field) const {
  for (const auto& r : requirements_) {
    if (r.equals && r.field == field) return r.value;
  }
  return std::nullopt;
}

}  // namespace kubepp::api
