#include "kubelet/pod_config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "api/object.h"
#include "api/quantity.h"
#include "common/base64.h"
#include "common/file.h"

namespace kubepp::kubelet {
namespace {

std::string Quoted(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) {
    std::string esc;
    for (char c : v) {
      if (c == '"' || c == '\\') esc += '\\';
      if (c == '\n') {
        esc += "\\n";
        continue;
      }
      esc += c;
    }
    s += k + "=\"" + esc + "\"\n";
  }
  if (!s.empty()) s.pop_back();
  return s;
}

std::map<std::string, std::string> StringMap(const bj::object* o) {
  std::map<std::string, std::string> m;
  if (o == nullptr) return m;
  for (const auto& [k, v] : *o) {
    if (v.is_string()) m[std::string(k)] = std::string(v.get_string());
  }
  return m;
}

// The data of a configMap or secret, decoded.
Result<std::map<std::string, std::string>> DataOf(const bj::object& obj, bool secret) {
  std::map<std::string, std::string> data;
  if (const auto* d = api::ObjAt(obj, {"data"})) {
    for (const auto& [k, v] : *d) {
      if (!v.is_string()) continue;
      if (secret) {
        auto dec = Base64Decode(v.get_string());
        if (!dec.ok()) return dec.status();
        data[std::string(k)] = std::move(*dec);
      } else {
        data[std::string(k)] = std::string(v.get_string());
      }
    }
  }
  if (const auto* d = api::ObjAt(obj, {"binaryData"})) {
    for (const auto& [k, v] : *d) {
      if (!v.is_string()) continue;
      auto dec = Base64Decode(v.get_string());
      if (!dec.ok()) return dec.status();
      data[std::string(k)] = std::move(*dec);
    }
  }
  return data;
}

const bj::object* FindContainer(const bj::object& pod, const std::string& name) {
  for (const char* list : {"containers", "initContainers"}) {
    if (const auto* cs = api::ArrAt(pod, {"spec", list})) {
      for (const auto& c : *cs) {
        if (c.is_object() && api::StrAt(c.get_object(), {"name"}) == name) return &c.get_object();
      }
    }
  }
  return nullptr;
}

std::atomic<uint64_t> g_seq{0};

}  // namespace

std::string ExpandVars(std::string_view s, const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (s[i + 1] == '(') {
      size_t close = s.find(')', i + 2);
      if (close != std::string_view::npos) {
        std::string name(s.substr(i + 2, close - i - 2));
        auto it = env.find(name);
        if (it != env.end()) {
          out += it->second;
        } else {
          out += s.substr(i, close - i + 1);
        }
        i = close;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

Result<std::string> FieldValue(const bj::object& pod, std::string_view path, const PodFacts& facts) {
  auto keyed = [&](std::string_view prefix, const char* field) -> std::optional<std::string> {
    if (path.rfind(prefix, 0) != 0) return std::nullopt;
    std::string_view k = path.substr(prefix.size());
    if (k.size() < 2 || k.back() != ']') return std::nullopt;
    k = k.substr(0, k.size() - 1);
    if (k.size() >= 2 && (k.front() == '\'' || k.front() == '"')) k = k.substr(1, k.size() - 2);
    return std::string(api::StrAt(pod, {"metadata", field, k}));
  };
  if (auto v = keyed("metadata.labels[", "labels")) return *v;
  if (auto v = keyed("metadata.annotations[", "annotations")) return *v;
  if (path == "metadata.name") return std::string(api::Name(pod));
  if (path == "metadata.namespace") return std::string(api::Namespace(pod));
  if (path == "metadata.uid") return std::string(api::Uid(pod));
  if (path == "metadata.labels") return Quoted(StringMap(api::ObjAt(pod, {"metadata", "labels"})));
  if (path == "metadata.annotations") return Quoted(StringMap(api::ObjAt(pod, {"metadata", "annotations"})));
  if (path == "spec.nodeName") return facts.node_name.empty() ? std::string(api::StrAt(pod, {"spec", "nodeName"})) : facts.node_name;
  if (path == "spec.serviceAccountName") return std::string(api::StrAt(pod, {"spec", "serviceAccountName"}));
  if (path == "status.hostIP" || path == "status.hostIPs") return facts.host_ip;
  if (path == "status.podIP" || path == "status.podIPs") return facts.pod_ip;
  return Status::BadRequest("unsupported fieldPath: " + std::string(path));
}

Result<std::string> ResourceValue(const bj::object& pod, const bj::object& ref, const std::string& container_name) {
  std::string cname(api::StrAt(ref, {"containerName"}));
  if (cname.empty()) cname = container_name;
  const bj::object* c = FindContainer(pod, cname);
  if (c == nullptr) return Status::BadRequest("container " + cname + " not found");
  std::string resource(api::StrAt(ref, {"resource"}));
  size_t dot = resource.find('.');
  if (dot == std::string::npos) return Status::BadRequest("unsupported resource: " + resource);
  std::string kind = resource.substr(0, dot), name = resource.substr(dot + 1);
  std::string_view text = api::StrAt(*c, {"resources", kind, name});
  if (text.empty() && kind == "limits") text = api::StrAt(*c, {"resources", "requests", name});
  auto q = api::Quantity::Parse(text.empty() ? "0" : text);
  if (!q.ok()) return q.status();
  std::string_view div_text = api::StrAt(ref, {"divisor"});
  auto div = api::Quantity::Parse(div_text.empty() ? "1" : div_text);
  if (!div.ok() || div->IsZero()) return Status::BadRequest("invalid divisor");
  if (name == "cpu") {
    int64_t m = q->MilliValue(), d = div->MilliValue();
    return std::to_string((m + d - 1) / d);
  }
  int64_t v = q->Value(), d = div->Value();
  return std::to_string((v + d - 1) / d);
}

Result<std::vector<std::pair<std::string, std::string>>> ContainerEnv(const bj::object& pod, const bj::object& container,
                                                                       const PodFacts& facts, const ObjectGetter& get) {
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, std::string> vals;
  auto set = [&](const std::string& k, std::string v) {
    if (vals.count(k)) {
      for (auto& [ok, ov] : out) {
        if (ok == k) ov = v;
      }
    } else {
      out.emplace_back(k, v);
    }
    vals[k] = std::move(v);
  };
  std::string ns(api::Namespace(pod));
  // {"configmaps","ConfigMap"} lookups with upstream's texts.
  auto fetch = [&](bool secret, const std::string& name, bool optional) -> Result<std::optional<std::map<std::string, std::string>>> {
    auto obj = get(secret ? "secrets" : "configmaps", name);
    if (!obj.ok()) {
      if (obj.status().IsNotFound()) {
        if (optional) return std::optional<std::map<std::string, std::string>>();
        return Status::NotFound(std::string(secret ? "secret" : "configmap") + " \"" + name + "\" not found");
      }
      return obj.status();
    }
    auto data = DataOf(*obj, secret);
    if (!data.ok()) return data.status();
    return std::optional<std::map<std::string, std::string>>(std::move(*data));
  };
  if (const auto* from = api::ArrAt(container, {"envFrom"})) {
    for (const auto& f : *from) {
      if (!f.is_object()) continue;
      const auto& o = f.get_object();
      std::string prefix(api::StrAt(o, {"prefix"}));
      for (bool secret : {false, true}) {
        const bj::object* ref = api::ObjAt(o, {secret ? "secretRef" : "configMapRef"});
        if (ref == nullptr) continue;
        auto data = fetch(secret, std::string(api::StrAt(*ref, {"name"})), api::BoolAt(*ref, {"optional"}));
        if (!data.ok()) return data.status();
        if (!*data) continue;
        for (const auto& [k, v] : **data) set(prefix + k, v);
      }
    }
  }
  if (const auto* env = api::ArrAt(container, {"env"})) {
    for (const auto& e : *env) {
      if (!e.is_object()) continue;
      const auto& o = e.get_object();
      std::string name(api::StrAt(o, {"name"}));
      const bj::object* from = api::ObjAt(o, {"valueFrom"});
      if (from == nullptr) {
        set(name, ExpandVars(api::StrAt(o, {"value"}), vals));
        continue;
      }
      if (const auto* f = api::ObjAt(*from, {"fieldRef"})) {
        auto v = FieldValue(pod, api::StrAt(*f, {"fieldPath"}), facts);
        if (!v.ok()) return v.status();
        set(name, *v);
      } else if (const auto* r = api::ObjAt(*from, {"resourceFieldRef"})) {
        auto v = ResourceValue(pod, *r, std::string(api::StrAt(container, {"name"})));
        if (!v.ok()) return v.status();
        set(name, *v);
      } else {
        for (bool secret : {false, true}) {
          const bj::object* ref = api::ObjAt(*from, {secret ? "secretKeyRef" : "configMapKeyRef"});
          if (ref == nullptr) continue;
          std::string obj_name(api::StrAt(*ref, {"name"})), key(api::StrAt(*ref, {"key"}));
          bool optional = api::BoolAt(*ref, {"optional"});
          auto data = fetch(secret, obj_name, optional);
          if (!data.ok()) return data.status();
          if (!*data) continue;
          auto it = (*data)->find(key);
          if (it == (*data)->end()) {
            if (optional) continue;
            return Status::NotFound("couldn't find key " + key + " in " + (secret ? "Secret " : "ConfigMap ") + ns + "/" +
                                    obj_name);
          }
          set(name, it->second);
        }
      }
    }
  }
  return out;
}

Status AtomicWriteDir(const std::string& dir, const std::map<std::string, std::pair<std::string, int>>& files) {
  RETURN_IF_ERROR(MakeDirs(dir, 0755));
  // Unchanged: nothing to do (a sync runs every few seconds).
  std::string data_link = dir + "/..data";
  char cur[256] = {};
  ssize_t n = ::readlink(data_link.c_str(), cur, sizeof cur - 1);
  if (n > 0) {
    bool same = true;
    std::set<std::string> have;
    for (const auto& [path, cm] : files) {
      auto text = ReadFile(dir + "/" + std::string(cur) + "/" + path);
      struct stat st {};
      if (!text.ok() || *text != cm.first || ::stat((dir + "/" + std::string(cur) + "/" + path).c_str(), &st) != 0 ||
          static_cast<int>(st.st_mode & 07777) != cm.second) {
        same = false;
        break;
      }
    }
    if (same) {
      // Also no file removed.
      std::set<std::string> want;
      for (const auto& [path, cm] : files) want.insert(path.substr(0, path.find('/')));
      if (auto names = ListDir(dir); names.ok()) {
        for (const auto& nm : *names) {
          if (nm.rfind("..", 0) != 0 && !want.count(nm)) same = false;
        }
      }
      if (same) return Status::OK();
    }
  }
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string ts = ".." + std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + "_" +
                   std::to_string(g_seq++);
  std::string tsdir = dir + "/" + ts;
  RETURN_IF_ERROR(MakeDirs(tsdir, 0755));
  for (const auto& [path, cm] : files) {
    std::string full = tsdir + "/" + path;
    if (size_t slash = full.rfind('/'); slash != std::string::npos) RETURN_IF_ERROR(MakeDirs(full.substr(0, slash), 0755));
    RETURN_IF_ERROR(WriteFile(full, cm.first, cm.second));
    ::chmod(full.c_str(), static_cast<mode_t>(cm.second));
  }
  std::string tmp_link = dir + "/..data_tmp";
  ::unlink(tmp_link.c_str());
  if (::symlink(ts.c_str(), tmp_link.c_str()) != 0) return Status::IOError("symlink " + tmp_link + ": " + std::strerror(errno));
  if (::rename(tmp_link.c_str(), data_link.c_str()) != 0) return Status::IOError("rename ..data: " + std::string(std::strerror(errno)));
  std::set<std::string> want;
  for (const auto& [path, cm] : files) want.insert(path.substr(0, path.find('/')));
  for (const auto& top : want) {
    std::string link = dir + "/" + top;
    struct stat st {};
    if (::lstat(link.c_str(), &st) != 0) {
      if (::symlink(("..data/" + top).c_str(), link.c_str()) != 0) return Status::IOError("symlink " + link);
    }
  }
  if (auto names = ListDir(dir); names.ok()) {
    for (const auto& nm : *names) {
      if (nm == ts || nm == "..data") continue;
      if (nm.rfind("..", 0) == 0) (void)RemoveAll(dir + "/" + nm);  // older versions
      else if (!want.count(nm)) ::unlink((dir + "/" + nm).c_str());
    }
  }
  return Status::OK();
}

namespace {

using Files = std::map<std::string, std::pair<std::string, int>>;

// The files of a configMap/secret source (items select and rename keys).
Status SourceFiles(const bj::object& src, bool secret, const ObjectGetter& get, int default_mode, Files* files) {
  std::string name(api::StrAt(src, {secret ? "secretName" : "name"}));
  if (secret && name.empty()) name = std::string(api::StrAt(src, {"name"}));  // projected secrets use "name"
  bool optional = api::BoolAt(src, {"optional"});
  auto obj = get(secret ? "secrets" : "configmaps", name);
  if (!obj.ok()) {
    if (obj.status().IsNotFound()) {
      if (optional) return Status::OK();
      return Status::NotFound(std::string(secret ? "secret" : "configmap") + " \"" + name + "\" not found");
    }
    return obj.status();
  }
  auto data = DataOf(*obj, secret);
  if (!data.ok()) return data.status();
  int mode = static_cast<int>(api::IntAt(src, {"defaultMode"}).value_or(default_mode));
  if (const auto* items = api::ArrAt(src, {"items"}); items && !items->empty()) {
    for (const auto& it : *items) {
      if (!it.is_object()) continue;
      std::string key(api::StrAt(it.get_object(), {"key"}));
      auto d = data->find(key);
      if (d == data->end()) {
        if (optional) continue;
        return Status::NotFound(std::string(secret ? "secret" : "configmap") + " references non-existent config key: " + key);
      }
      (*files)[std::string(api::StrAt(it.get_object(), {"path"}))] = {
          d->second, static_cast<int>(api::IntAt(it.get_object(), {"mode"}).value_or(mode))};
    }
  } else {
    for (const auto& [k, v] : *data) (*files)[k] = {v, mode};
  }
  return Status::OK();
}

Status DownwardFiles(const bj::object& src, const bj::object& pod, const PodFacts& facts, int default_mode, Files* files) {
  int mode = static_cast<int>(api::IntAt(src, {"defaultMode"}).value_or(default_mode));
  if (const auto* items = api::ArrAt(src, {"items"})) {
    for (const auto& it : *items) {
      if (!it.is_object()) continue;
      const auto& o = it.get_object();
      Result<std::string> v = std::string();
      if (const auto* f = api::ObjAt(o, {"fieldRef"})) v = FieldValue(pod, api::StrAt(*f, {"fieldPath"}), facts);
      else if (const auto* r = api::ObjAt(o, {"resourceFieldRef"})) v = ResourceValue(pod, *r, "");
      if (!v.ok()) return v.status();
      (*files)[std::string(api::StrAt(o, {"path"}))] = {*v, static_cast<int>(api::IntAt(o, {"mode"}).value_or(mode))};
    }
  }
  return Status::OK();
}

Status HostPathCheck(const std::string& path, std::string_view type) {
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (type == "DirectoryOrCreate") {
    if (!exists) return MakeDirs(path, 0755);
    if (!S_ISDIR(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a directory");
  } else if (type == "FileOrCreate") {
    if (!exists) {
      if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0755));
      return WriteFile(path, "", 0644);
    }
    if (!S_ISREG(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a file");
  } else if (type == "Directory") {
    if (!exists || !S_ISDIR(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a directory");
  } else if (type == "File") {
    if (!exists || !S_ISREG(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a file");
  } else if (type == "Socket") {
    if (!exists || !S_ISSOCK(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a socket file");
  } else if (type == "CharDevice") {
    if (!exists || !S_ISCHR(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a character device");
  } else if (type == "BlockDevice") {
    if (!exists || !S_ISBLK(st.st_mode)) return Status::BadRequest("hostPath type check failed: " + path + " is not a block device");
  }
  return Status::OK();
}

bool IsMountPoint(const std::string& path) {
  struct stat a {}, b {};
  if (::stat(path.c_str(), &a) != 0 || ::stat((path + "/..").c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev;
}

}  // namespace

Result<std::map<std::string, std::string>> SetUpVolumes(const bj::object& pod, const std::string& pod_dir,
                                                        const PodFacts& facts, const ObjectGetter& get,
                                                        const TokenIssuer& token) {
  std::map<std::string, std::string> out;
  const auto* vols = api::ArrAt(pod, {"spec", "volumes"});
  if (vols == nullptr) return out;
  for (const auto& v : *vols) {
    if (!v.is_object()) continue;
    const auto& o = v.get_object();
    std::string name(api::StrAt(o, {"name"}));
    auto fail = [&](const Status& st) {
      return Status(st.code(), "MountVolume.SetUp failed for volume \"" + name + "\" : " + st.message());
    };
    auto dir = [&](const char* plugin) { return pod_dir + "/volumes/" + plugin + "/" + name; };
    if (const auto* ed = api::ObjAt(o, {"emptyDir"})) {
      std::string d = dir("kubernetes.io~empty-dir");
      if (Status st = MakeDirs(d, 0777); !st.ok()) return fail(st);
      ::chmod(d.c_str(), 0777);
      if (api::StrAt(*ed, {"medium"}) == "Memory" && !IsMountPoint(d)) {
        std::string opts = "mode=0777";
        if (auto size = api::StrAt(*ed, {"sizeLimit"}); !size.empty()) {
          if (auto q = api::Quantity::Parse(size); q.ok()) opts += ",size=" + std::to_string(q->Value());
        }
        if (::mount("tmpfs", d.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
          return fail(Status::IOError(std::string("mount tmpfs: ") + std::strerror(errno)));
        }
      }
      out[name] = d;
    } else if (const auto* hp = api::ObjAt(o, {"hostPath"})) {
      std::string path(api::StrAt(*hp, {"path"}));
      if (Status st = HostPathCheck(path, api::StrAt(*hp, {"type"})); !st.ok()) return fail(st);
      out[name] = path;
    } else if (const auto* cm = api::ObjAt(o, {"configMap"})) {
      Files files;
      if (Status st = SourceFiles(*cm, false, get, 0644, &files); !st.ok()) return fail(st);
      std::string d = dir("kubernetes.io~configmap");
      if (Status st = AtomicWriteDir(d, files); !st.ok()) return fail(st);
      out[name] = d;
    } else if (const auto* sec = api::ObjAt(o, {"secret"})) {
      Files files;
      if (Status st = SourceFiles(*sec, true, get, 0644, &files); !st.ok()) return fail(st);
      std::string d = dir("kubernetes.io~secret");
      if (Status st = AtomicWriteDir(d, files); !st.ok()) return fail(st);
      out[name] = d;
    } else if (const auto* da = api::ObjAt(o, {"downwardAPI"})) {
      Files files;
      if (Status st = DownwardFiles(*da, pod, facts, 0644, &files); !st.ok()) return fail(st);
      std::string d = dir("kubernetes.io~downward-api");
      if (Status st = AtomicWriteDir(d, files); !st.ok()) return fail(st);
      out[name] = d;
    } else if (const auto* pr = api::ObjAt(o, {"projected"})) {
      Files files;
      int mode = static_cast<int>(api::IntAt(*pr, {"defaultMode"}).value_or(0644));
      if (const auto* sources = api::ArrAt(*pr, {"sources"})) {
        for (const auto& s : *sources) {
          if (!s.is_object()) continue;
          const auto& so = s.get_object();
          Status st;
          if (const auto* c = api::ObjAt(so, {"configMap"})) {
            bj::object src = *c;
            if (!src.contains("defaultMode")) src["defaultMode"] = mode;
            st = SourceFiles(src, false, get, mode, &files);
          } else if (const auto* sc = api::ObjAt(so, {"secret"})) {
            bj::object src = *sc;
            if (!src.contains("defaultMode")) src["defaultMode"] = mode;
            st = SourceFiles(src, true, get, mode, &files);
          } else if (const auto* d = api::ObjAt(so, {"downwardAPI"})) {
            st = DownwardFiles(*d, pod, facts, mode, &files);
          } else if (const auto* t = api::ObjAt(so, {"serviceAccountToken"})) {
            std::string sa(api::StrAt(pod, {"spec", "serviceAccountName"}, "default"));
            auto tok = token ? token(sa, std::string(api::StrAt(*t, {"audience"})),
                                     api::IntAt(*t, {"expirationSeconds"}).value_or(3600))
                             : Result<std::string>(Status::Unavailable("no token issuer"));
            if (!tok.ok()) st = tok.status();
            else files[std::string(api::StrAt(*t, {"path"}, "token"))] = {*tok, mode};
          }
          if (!st.ok()) return fail(st);
        }
      }
      std::string d = dir("kubernetes.io~projected");
      if (Status st = AtomicWriteDir(d, files); !st.ok()) return fail(st);
      out[name] = d;
    } else {
      return Status::BadRequest("MountVolume.SetUp failed for volume \"" + name + "\" : volume type not supported by this kubelet");
    }
  }
  return out;
}

Status TearDownVolumes(const std::string& pod_dir) {
  std::string ed = pod_dir + "/volumes/kubernetes.io~empty-dir";
  if (auto names = ListDir(ed); names.ok()) {
    for (const auto& n : *names) ::umount2((ed + "/" + n).c_str(), MNT_DETACH);
  }
  return RemoveAll(pod_dir);
}

}  // namespace kubepp::kubelet
