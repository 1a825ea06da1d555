#include "storage/etcd/etcd_store.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/base64.h"
#include "common/json.h"
#include "common/log.h"

namespace kubepp::storage::etcd {
namespace {

namespace bj = boost::json;

// gRPC status codes etcd answers with.
constexpr int64_t kGrpcOutOfRange = 11;
constexpr int64_t kGrpcInvalidArgument = 3;

std::string B64(std::string_view s) { return Base64Encode(s); }

Result<std::string> FromB64(const bj::value& v, std::string_view field) {
  return Base64Decode(json::GetString(v, field));
}

Result<KeyValue> DecodeKv(const bj::value& v) {
  KeyValue kv;
  ASSIGN_OR_RETURN(kv.key, FromB64(v, "key"));
  ASSIGN_OR_RETURN(kv.value, FromB64(v, "value"));
  kv.create_revision = json::GetInt(v, "create_revision").value_or(0);
  kv.mod_revision = json::GetInt(v, "mod_revision").value_or(0);
  kv.version = json::GetInt(v, "version").value_or(0);
  return kv;
}

int64_t HeaderRevision(const bj::value& v) {
  const bj::value* h = json::Find(v, "header");
  return h ? json::GetInt(*h, "revision").value_or(0) : 0;
}

// Maps an etcd error body ({"error","message","code"}) to a Status.
Status ErrorFromBody(int http_status, const bj::value& body) {
  std::string msg(json::GetString(body, "message", json::GetString(body, "error")));
  int64_t code = json::GetInt(body, "code").value_or(0);
  if (msg.find("compacted") != std::string::npos) return Status::Gone("storage: " + msg);
  if (msg.find("future revision") != std::string::npos) return Status::BadRequest("storage: " + msg);
  if (msg.find("request is too large") != std::string::npos) return Status::TooLarge("storage: " + msg);
  if (code == kGrpcOutOfRange || code == kGrpcInvalidArgument) return Status::BadRequest("storage: " + msg);
  return Status::Unavailable("storage: etcd answered " + std::to_string(http_status) + ": " + msg);
}

class EtcdStore;

class EtcdWatcher : public Watcher {
 public:
  EtcdWatcher(std::unique_ptr<http::Connection> conn, int64_t max_backlog)
      : conn_(std::move(conn)), max_backlog_(max_backlog) {}

  ~EtcdWatcher() override {
    Stop();
    if (reader_.joinable()) reader_.join();
  }

  // Sends the create request and waits for etcd's "created" answer.
  Status Start(const WatchOptions& options) {
    bj::object create;
    std::string key = options.prefix.empty() ? std::string(1, '\0') : options.prefix;
    create["key"] = B64(key);
    std::string end = PrefixEnd(options.prefix);
    create["range_end"] = B64(end.empty() ? std::string(1, '\0') : end);
    if (options.start_revision > 0) create["start_revision"] = std::to_string(options.start_revision);
    create["prev_kv"] = true;
    bj::object req;
    req["create_request"] = std::move(create);
    http::Request r;
    r.method = "POST";
    r.target = "/v3/watch";
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = json::Serialize(req);
    ASSIGN_OR_RETURN(int status, conn_->StartStream(r));
    if (status != 200) return Status::Unavailable("storage: etcd watch answered HTTP " + std::to_string(status));
    // The first message confirms the watch (or reports compaction).
    for (;;) {
      ASSIGN_OR_RETURN(std::optional<bj::value> msg, ReadMessage());
      if (!msg) return Status::Unavailable("storage: etcd closed the watch stream");
      const bj::value* result = json::Find(*msg, "result");
      if (result == nullptr) return ErrorFromBody(200, *msg);
      if (json::GetBool(*result, "canceled")) return CancelStatus(*result);
      if (json::GetBool(*result, "created")) break;
    }
    reader_ = std::thread([this] { ReadLoop(); });
    return Status::OK();
  }

  Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, timeout, [&] { return !queue_.empty() || !end_.ok() || stopped_; });
    if (stopped_) return Status::Cancelled("watch stopped");
    if (!queue_.empty()) {
      std::vector<Event> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      return out;
    }
    if (!end_.ok()) return end_;
    return std::vector<Event>();
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    conn_->Shutdown();
  }

 private:
  static Status CancelStatus(const bj::value& result) {
    int64_t compact = json::GetInt(result, "compact_revision").value_or(0);
    if (compact > 0) {
      return Status::Gone("storage: required revision has been compacted (compacted to " +
                          std::to_string(compact) + ")");
    }
    return Status::Unavailable("storage: etcd canceled the watch: " +
                               std::string(json::GetString(result, "cancel_reason")));
  }

  // The next newline-delimited JSON message of the stream; nullopt at its end.
  Result<std::optional<bj::value>> ReadMessage() {
    for (;;) {
      size_t nl = buf_.find('\n', scanned_);
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        scanned_ = 0;
        if (line.empty()) continue;
        ASSIGN_OR_RETURN(bj::value v, json::Parse(line));
        return std::optional<bj::value>(std::move(v));
      }
      scanned_ = buf_.size();
      ASSIGN_OR_RETURN(bool more, conn_->ReadStream(&buf_));
      if (!more) return std::optional<bj::value>();
    }
  }

  void ReadLoop() {
    Status end;
    for (;;) {
      auto msg = ReadMessage();
      if (!msg.ok()) {
        end = Status::Unavailable("storage: etcd watch stream failed: " + msg.status().message());
        break;
      }
      if (!*msg) {
        end = Status::Unavailable("storage: etcd closed the watch stream");
        break;
      }
      const bj::value* result = json::Find(**msg, "result");
      if (result == nullptr) {
        end = ErrorFromBody(200, **msg);
        break;
      }
      if (json::GetBool(*result, "canceled")) {
        end = CancelStatus(*result);
        break;
      }
      const bj::value* events = json::Find(*result, "events");
      if (events == nullptr || !events->is_array()) continue;
      std::vector<Event> batch;
      for (const bj::value& e : events->get_array()) {
        const bj::value* kv = json::Find(e, "kv");
        if (kv == nullptr) continue;
        auto decoded = DecodeKv(*kv);
        if (!decoded.ok()) {
          end = decoded.status();
          break;
        }
        Event ev;
        ev.type = json::GetString(e, "type") == "DELETE" ? EventType::kDelete : EventType::kPut;
        ev.kv = std::make_shared<const KeyValue>(std::move(*decoded));
        if (const bj::value* prev = json::Find(e, "prev_kv")) {
          auto p = DecodeKv(*prev);
          if (p.ok()) ev.prev_kv = std::make_shared<const KeyValue>(std::move(*p));
        }
        batch.push_back(std::move(ev));
      }
      if (!end.ok()) break;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stopped_) return;
        for (auto& ev : batch) queue_.push_back(std::move(ev));
        if (static_cast<int64_t>(queue_.size()) > max_backlog_) {
          queue_.clear();
          end_ = Status::Gone("storage: watch fell too far behind; relist and watch again");
          conn_->Shutdown();
        }
      }
      cv_.notify_all();
      std::lock_guard<std::mutex> l(mu_);
      if (!end_.ok()) return;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (end_.ok()) end_ = end;
    }
    cv_.notify_all();
  }

  std::unique_ptr<http::Connection> conn_;
  int64_t max_backlog_;
  std::string buf_;      // reader thread (and Start, before it)
  size_t scanned_ = 0;   // bytes of buf_ known to hold no newline
  std::thread reader_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;  // GUARDED_BY(mu_)
  Status end_;               // GUARDED_BY(mu_): why the stream ended
  bool stopped_ = false;     // GUARDED_BY(mu_)
};

class EtcdStore : public Store {
 public:
  EtcdStore(const EtcdOptions& options, std::vector<http::Endpoint> endpoints)
      : options_(options), endpoints_(std::move(endpoints)) {
    for (const auto& ep : endpoints_) clients_.push_back(std::make_unique<http::Client>(ep, options.request_timeout));
  }

  // POSTs `body` to `path`; returns the parsed answer or the error etcd gave.
  Result<bj::value> Call(std::string_view path, const bj::object& body) {
    if (closed_.load()) return Status::Cancelled("storage: store is closed");
    http::Request req;
    req.method = "POST";
    req.target = std::string(path);
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = json::Serialize(body);
    Status last;
    size_t n = clients_.size();
    size_t start = preferred_.load();
    for (size_t i = 0; i < n; ++i) {
      size_t idx = (start + i) % n;
      Result<http::Response> resp = clients_[idx]->Do(req);
      if (!resp.ok()) {
        last = resp.status();
        continue;
      }
      preferred_.store(idx);
      ASSIGN_OR_RETURN(bj::value v, json::Parse(resp->body));
      if (resp->status != 200) return ErrorFromBody(resp->status, v);
      return v;
    }
    return Status::Unavailable("storage: no etcd endpoint answered: " + last.message());
  }

  Result<KeyValue> Get(std::string_view key, int64_t revision) override {
    bj::object req;
    req["key"] = B64(key);
    if (revision > 0) req["revision"] = std::to_string(revision);
    ASSIGN_OR_RETURN(bj::value resp, Call("/v3/kv/range", req));
    const bj::value* kvs = json::Find(resp, "kvs");
    if (kvs == nullptr || !kvs->is_array() || kvs->get_array().empty()) {
      return Status::NotFound("key not found");
    }
    return DecodeKv(kvs->get_array()[0]);
  }

  Result<ListResult> List(const ListOptions& options) override {
    std::string from = std::max(options.prefix, options.start_key);
    std::string end = PrefixEnd(options.prefix);
    bj::object req;
    req["key"] = B64(from.empty() ? std::string(1, '\0') : from);
    req["range_end"] = B64(end.empty() ? std::string(1, '\0') : end);
    if (options.revision > 0) req["revision"] = std::to_string(options.revision);
    if (options.limit > 0) req["limit"] = std::to_string(options.limit);
    ASSIGN_OR_RETURN(bj::value resp, Call("/v3/kv/range", req));
    ListResult out;
    out.revision = options.revision > 0 ? options.revision : HeaderRevision(resp);
    out.more = json::GetBool(resp, "more");
    if (const bj::value* kvs = json::Find(resp, "kvs"); kvs != nullptr && kvs->is_array()) {
      for (const bj::value& kv : kvs->get_array()) {
        ASSIGN_OR_RETURN(KeyValue decoded, DecodeKv(kv));
        out.kvs.push_back(std::move(decoded));
      }
    }
    return out;
  }

  // A transaction: compare; on success `success_op`, on failure a range of the key.
  Result<bj::value> Txn(std::string_view key, bj::object compare, bj::object success_op) {
    bj::object range;
    range["key"] = B64(key);
    bj::object failure_op;
    failure_op["request_range"] = std::move(range);
    bj::object req;
    req["compare"] = bj::array{std::move(compare)};
    req["success"] = bj::array{std::move(success_op)};
    req["failure"] = bj::array{std::move(failure_op)};
    return Call("/v3/kv/txn", req);
  }

  static bj::object Compare(std::string_view key, std::string_view target, std::string_view result,
                            int64_t value) {
    bj::object c;
    c["key"] = B64(key);
    c["target"] = target;
    if (result != "EQUAL") c["result"] = result;
    c[target == "CREATE" ? "create_revision" : "mod_revision"] = std::to_string(value);
    return c;
  }

  // The key's current state from a failed transaction's range answer.
  static std::optional<KeyValue> FailedRange(const bj::value& resp) {
    const bj::value* responses = json::Find(resp, "responses");
    if (responses == nullptr || !responses->is_array() || responses->get_array().empty()) return std::nullopt;
    const bj::value* range = json::Find(responses->get_array()[0], "response_range");
    if (range == nullptr) return std::nullopt;
    const bj::value* kvs = json::Find(*range, "kvs");
    if (kvs == nullptr || !kvs->is_array() || kvs->get_array().empty()) return std::nullopt;
    auto kv = DecodeKv(kvs->get_array()[0]);
    if (!kv.ok()) return std::nullopt;
    return std::move(*kv);
  }

  Result<KeyValue> Create(std::string_view key, std::string_view value, KeyValue* current) override {
    RETURN_IF_ERROR(ValidateWrite(key, value));
    bj::object put;
    put["key"] = B64(key);
    put["value"] = B64(value);
    bj::object op;
    op["request_put"] = std::move(put);
    ASSIGN_OR_RETURN(bj::value resp, Txn(key, Compare(key, "CREATE", "EQUAL", 0), std::move(op)));
    if (!json::GetBool(resp, "succeeded")) {
      auto cur = FailedRange(resp);
      if (current != nullptr && cur) *current = *cur;
      return Status::AlreadyExists("storage: key already exists");
    }
    int64_t rev = HeaderRevision(resp);
    return KeyValue{std::string(key), std::string(value), rev, rev, 1};
  }

  Result<KeyValue> Update(std::string_view key, std::string_view value, int64_t expected,
                          KeyValue* current) override {
    RETURN_IF_ERROR(ValidateWrite(key, value));
    bj::object put;
    put["key"] = B64(key);
    put["value"] = B64(value);
    put["prev_kv"] = true;
    bj::object op;
    op["request_put"] = std::move(put);
    bj::object cmp = expected != 0 ? Compare(key, "MOD", "EQUAL", expected) : Compare(key, "CREATE", "GREATER", 0);
    ASSIGN_OR_RETURN(bj::value resp, Txn(key, std::move(cmp), std::move(op)));
    if (!json::GetBool(resp, "succeeded")) return PreconditionFailed(resp, expected, current);
    int64_t rev = HeaderRevision(resp);
    KeyValue kv{std::string(key), std::string(value), rev, rev, 1};
    const bj::value* responses = json::Find(resp, "responses");
    if (responses != nullptr && responses->is_array() && !responses->get_array().empty()) {
      const bj::value* prev = json::FindPath(responses->get_array()[0], {"response_put", "prev_kv"});
      if (prev != nullptr) {
        kv.create_revision = json::GetInt(*prev, "create_revision").value_or(rev);
        kv.version = json::GetInt(*prev, "version").value_or(0) + 1;
      }
    }
    return kv;
  }

  Result<DeleteResult> Delete(std::string_view key, int64_t expected, KeyValue* current) override {
    RETURN_IF_ERROR(ValidateWrite(key, ""));
    bj::object del;
    del["key"] = B64(key);
    del["prev_kv"] = true;
    bj::object op;
    op["request_delete_range"] = std::move(del);
    bj::object cmp = expected != 0 ? Compare(key, "MOD", "EQUAL", expected) : Compare(key, "CREATE", "GREATER", 0);
    ASSIGN_OR_RETURN(bj::value resp, Txn(key, std::move(cmp), std::move(op)));
    if (!json::GetBool(resp, "succeeded")) return PreconditionFailed(resp, expected, current);
    DeleteResult out;
    out.revision = HeaderRevision(resp);
    const bj::value* responses = json::Find(resp, "responses");
    if (responses != nullptr && responses->is_array() && !responses->get_array().empty()) {
      const bj::value* prevs = json::FindPath(responses->get_array()[0], {"response_delete_range", "prev_kvs"});
      if (prevs != nullptr && prevs->is_array() && !prevs->get_array().empty()) {
        ASSIGN_OR_RETURN(out.prev, DecodeKv(prevs->get_array()[0]));
      }
    }
    return out;
  }

  Status PreconditionFailed(const bj::value& resp, int64_t expected, KeyValue* current) {
    auto cur = FailedRange(resp);
    if (!cur) return Status::NotFound("storage: key not found");
    std::string msg = "storage: the key was modified at revision " + std::to_string(cur->mod_revision) +
                      ", expected revision " + std::to_string(expected);
    if (current != nullptr) *current = std::move(*cur);
    return Status::Conflict(std::move(msg));
  }

  Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options) override {
    if (closed_.load()) return Status::Cancelled("storage: store is closed");
    Status last;
    for (const auto& ep : endpoints_) {
      auto conn = http::Connection::Open(ep, options_.request_timeout);
      if (!conn.ok()) {
        last = conn.status();
        continue;
      }
      auto w = std::make_unique<EtcdWatcher>(std::move(*conn), options_.max_watch_backlog);
      RETURN_IF_ERROR(w->Start(options));
      return std::unique_ptr<Watcher>(std::move(w));
    }
    return Status::Unavailable("storage: no etcd endpoint answered: " + last.message());
  }

  Status Compact(int64_t revision) override {
    bj::object req;
    req["revision"] = std::to_string(revision);
    auto resp = Call("/v3/kv/compaction", req);
    if (!resp.ok() && resp.status().IsGone()) return Status::OK();  // already compacted there
    return std::move(resp).TakeStatus();
  }

  Result<int64_t> CurrentRevision() override {
    bj::object req;
    req["key"] = B64(std::string(1, '\0'));
    req["count_only"] = true;
    ASSIGN_OR_RETURN(bj::value resp, Call("/v3/kv/range", req));
    return HeaderRevision(resp);
  }

  Result<int64_t> CompactRevision() override {
    // etcd does not report its compaction point directly: a read at revision 1
    // fails while anything is compacted, and the error does not name the
    // point, so probe by bisection over [1, current].
    ASSIGN_OR_RETURN(int64_t current, CurrentRevision());
    int64_t lo = 0, hi = current;  // lo: known readable-or-0; find the smallest readable revision
    auto readable = [&](int64_t rev) -> Result<bool> {
      auto r = Get(std::string(1, '\0'), rev);
      if (r.ok() || r.status().IsNotFound()) return true;
      if (r.status().IsGone()) return false;
      return r.status();
    };
    if (current == 0) return 0;
    ASSIGN_OR_RETURN(bool first, readable(1));
    if (first) return 0;
    lo = 1;
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      ASSIGN_OR_RETURN(bool ok, readable(mid));
      if (ok) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  void Close() override { closed_.store(true); }

 private:
  EtcdOptions options_;
  std::vector<http::Endpoint> endpoints_;
  std::vector<std::unique_ptr<http::Client>> clients_;
  std::atomic<size_t> preferred_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace

Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& options) {
  if (options.endpoints.empty()) return Status::BadRequest("storage: no etcd endpoints given");
  std::vector<http::Endpoint> eps;
  for (const auto& url : options.endpoints) {
    ASSIGN_OR_RETURN(http::Endpoint ep, http::Endpoint::Parse(url));
    eps.push_back(std::move(ep));
  }
  auto store = std::make_unique<EtcdStore>(options, std::move(eps));
  RETURN_IF_ERROR(store->CurrentRevision().status().WithContext("storage: etcd is not reachable"));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace kubepp::storage::etcd
