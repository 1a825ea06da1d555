#include "bench/etcd/grpc_store.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "bench/throughput.h"
#include "rpc.grpc.pb.h"

namespace kubepp::bench {
namespace {

namespace pb = etcdserverpb;
using storage::Event;
using storage::EventType;
using storage::KeyValue;

Status FromGrpc(const grpc::Status& s) {
  std::string msg = "etcd: " + s.error_message();
  if (msg.find("compacted") != std::string::npos) return Status::Gone(msg);
  return Status::Unavailable(msg);
}

KeyValue FromPb(const pb::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version()};
}

class GrpcWatcher : public storage::Watcher {
 public:
  GrpcWatcher(std::shared_ptr<grpc::Channel> ch, const storage::WatchOptions& opts) : stub_(pb::Watch::NewStub(ch)) {
    stream_ = stub_->Watch(&ctx_);
    pb::WatchRequest req;
    auto* c = req.mutable_create_request();
    c->set_key(opts.prefix);
    c->set_range_end(storage::PrefixEnd(opts.prefix));
    c->set_start_revision(opts.start_revision);
    c->set_prev_kv(true);
    stream_->Write(req);
    pb::WatchResponse resp;
    stream_->Read(&resp);  // "created"
    reader_ = std::thread([this] { Loop(); });
  }
  ~GrpcWatcher() override {
    Stop();
    reader_.join();
  }
  Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, timeout, [&] { return !q_.empty() || ended_; });
    if (!q_.empty()) {
      std::vector<Event> out(q_.begin(), q_.end());
      q_.clear();
      return out;
    }
    if (ended_) return Status::Cancelled("watch ended");
    return std::vector<Event>();
  }
  void Stop() override {
    if (!stopped_.exchange(true)) ctx_.TryCancel();
  }

 private:
  void Loop() {
    pb::WatchResponse resp;
    while (stream_->Read(&resp)) {
      std::vector<Event> evs;
      for (const auto& e : resp.events()) {
        Event ev;
        ev.type = e.type() == pb::Event::DELETE ? EventType::kDelete : EventType::kPut;
        ev.kv = std::make_shared<KeyValue>(FromPb(e.kv()));
        if (e.has_prev_kv()) ev.prev_kv = std::make_shared<KeyValue>(FromPb(e.prev_kv()));
        evs.push_back(std::move(ev));
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        for (auto& e : evs) q_.push_back(std::move(e));
      }
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> l(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  std::unique_ptr<pb::Watch::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  std::thread reader_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> q_;
  bool ended_ = false;
};

class GrpcStore : public storage::Store {
 public:
  GrpcStore(const std::string& target, int channels) {
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("kubepp.bench.channel", i);  // distinct args: distinct connections
      args.SetMaxReceiveMessageSize(64 << 20);
      channels_.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
      kv_.push_back(pb::KV::NewStub(channels_.back()));
    }
  }

  pb::KV::Stub* Kv() { return kv_[next_.fetch_add(1) % kv_.size()].get(); }

  Result<KeyValue> Get(std::string_view key, int64_t revision) override {
    pb::RangeRequest req;
    req.set_key(std::string(key));
    req.set_revision(revision);
    pb::RangeResponse resp;
    grpc::ClientContext ctx;
    auto s = Kv()->Range(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s);
    if (resp.kvs_size() == 0) return Status::NotFound("key not found");
    return FromPb(resp.kvs(0));
  }

  Result<storage::ListResult> List(const storage::ListOptions&) override {
    return Status::Internal("not used by the benchmark");
  }

  Result<KeyValue> Txn(std::string_view key, std::string_view value, pb::Compare cmp) {
    pb::TxnRequest req;
    *req.add_compare() = std::move(cmp);
    auto* put = req.add_success()->mutable_request_put();
    put->set_key(std::string(key));
    put->set_value(std::string(value));
    req.add_failure()->mutable_request_range()->set_key(std::string(key));
    pb::TxnResponse resp;
    grpc::ClientContext ctx;
    auto s = Kv()->Txn(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s);
    if (!resp.succeeded()) return Status::Conflict("precondition failed");
    int64_t rev = resp.header().revision();
    return KeyValue{std::string(key), std::string(value), rev, rev, 1};
  }

  Result<KeyValue> Create(std::string_view key, std::string_view value, KeyValue*) override {
    pb::Compare cmp;
    cmp.set_key(std::string(key));
    cmp.set_target(pb::Compare::CREATE);
    cmp.set_result(pb::Compare::EQUAL);
    cmp.set_create_revision(0);
    return Txn(key, value, std::move(cmp));
  }

  Result<KeyValue> Update(std::string_view key, std::string_view value, int64_t expected, KeyValue*) override {
    pb::Compare cmp;
    cmp.set_key(std::string(key));
    if (expected != 0) {
      cmp.set_target(pb::Compare::MOD);
      cmp.set_result(pb::Compare::EQUAL);
      cmp.set_mod_revision(expected);
    } else {
      cmp.set_target(pb::Compare::CREATE);
      cmp.set_result(pb::Compare::GREATER);
      cmp.set_create_revision(0);
    }
    return Txn(key, value, std::move(cmp));
  }

  Result<storage::DeleteResult> Delete(std::string_view, int64_t, KeyValue*) override {
    return Status::Internal("not used by the benchmark");
  }

  Result<std::unique_ptr<storage::Watcher>> Watch(const storage::WatchOptions& opts) override {
    auto& ch = channels_[next_.fetch_add(1) % channels_.size()];
    return std::unique_ptr<storage::Watcher>(new GrpcWatcher(ch, opts));
  }

  Status Compact(int64_t) override { return Status::Internal("not used by the benchmark"); }

  Result<int64_t> CurrentRevision() override {
    pb::RangeRequest req;
    req.set_key(std::string(1, '\0'));
    req.set_count_only(true);
    pb::RangeResponse resp;
    grpc::ClientContext ctx;
    auto s = Kv()->Range(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s);
    return resp.header().revision();
  }
  Result<int64_t> CompactRevision() override { return Status::Internal("not used by the benchmark"); }
  void Close() override {}

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<pb::KV::Stub>> kv_;
  std::atomic<size_t> next_{0};
};

}  // namespace

Result<double> EtcdPutsPerSecond(const std::string& client_url, int clients, double seconds, const std::string& value) {
  std::string target = client_url.rfind("http://", 0) == 0 ? client_url.substr(7) : client_url;
  std::vector<std::unique_ptr<pb::KV::Stub>> stubs;
  for (int i = 0; i < 4; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("kubepp.bench.channel", i);
    stubs.push_back(pb::KV::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  auto r = OpsPerSecond(clients, seconds, [&](int t, uint64_t i) {
    pb::PutRequest req;
    req.set_key("/bench/put/" + std::to_string(t) + "/" + std::to_string(i));
    req.set_value(value);
    pb::PutResponse resp;
    grpc::ClientContext ctx;
    return stubs[static_cast<size_t>(t) % stubs.size()]->Put(&ctx, req, &resp).ok();
  });
  if (!r) return Status::Unavailable("etcd put failed");
  return *r;
}

Result<std::unique_ptr<storage::Store>> OpenEtcdGrpcStore(const std::string& client_url, int channels) {
  std::string target = client_url;
  if (target.rfind("http://", 0) == 0) target = target.substr(7);
  auto s = std::make_unique<GrpcStore>(target, channels);
  RETURN_IF_ERROR(s->CurrentRevision().status());
  return std::unique_ptr<storage::Store>(std::move(s));
}

}  // namespace kubepp::bench
