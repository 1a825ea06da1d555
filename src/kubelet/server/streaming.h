// The kubelet's streaming endpoints, protocol side: exec and attach
// (remotecommand) over WebSocket channels (v1-v5, base64 variants) or SPDY
// (v1-v4), and port-forward over SPDY (raw, or tunnelled in WebSocket as
// SPDY/3.1+portforward.k8s.io) or WebSocket channels (v4, the Python
// client's). What runs behind them (a process, a container's stdio, a pod's
// network namespace) comes in through the interfaces below.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apiserver/http/server.h"
#include "common/byte_stream.h"
#include "common/file.h"
#include "common/status.h"

namespace kubepp::kubelet::server {

// What an exec or attach relays. Thread-safe: stdin calls come from the
// connection's reader while another thread pumps output.
class StreamTarget {
 public:
  virtual ~StreamTarget() = default;
  virtual void WriteStdin(std::string_view data) = 0;
  virtual void CloseStdin() = 0;
  virtual void Resize(uint16_t width, uint16_t height) = 0;
  // Relays output until it ends, calling emit(1 for stdout, 2 for stderr,
  // bytes); emit returns false once nobody listens (output is then drained
  // and dropped). Blocks.
  virtual void PumpOutput(const std::function<bool(int, std::string_view)>& emit) = 0;
  // After the output ended: the exit code, or the error to report.
  virtual Result<int> Wait() = 0;
  // The client went away: PumpOutput should end soon (an attach stops
  // following; a command keeps running to its end).
  virtual void Cancel() {}
};

struct StreamOptions {
  bool stdin = false, stdout = false, stderr = false, tty = false;
  static StreamOptions FromQuery(std::string_view query);
};

// The protocol a streaming request negotiated.
struct Negotiated {
  enum Transport { kWebSocket, kSpdy } transport = kWebSocket;
  std::string protocol;   // e.g. "v5.channel.k8s.io", "SPDY/3.1+portforward.k8s.io"
  std::string response;   // the 101 head to write after hijacking
};
// For exec/attach (`portforward` false) or port-forward: BadRequest with
// upstream's wording when the request is no upgrade or no protocol matches.
Result<Negotiated> Negotiate(const apiserver::http::Request& req, bool portforward);

// Runs an exec or attach session on `conn` (the 101 already written):
// relays between the client and `target`, then reports the exit code on the
// error channel. Returns when the session is over; closes `conn`.
void ServeRemoteCommand(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const StreamOptions& opts,
                        std::unique_ptr<StreamTarget> target);

// Connects to a port of the pod (inside its network namespace).
using DialFn = std::function<Result<UniqueFd>(uint16_t port)>;
// Runs a port-forward session; `ports` are those of the request's query
// (the WebSocket channel protocol needs them up front).
void ServePortForward(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const std::vector<uint16_t>& ports,
                      DialFn dial);

// Connects to 127.0.0.1:port (then [::1]:port) inside the network namespace
// at `netns_path` ("" for this one).
Result<UniqueFd> DialInNetns(const std::string& netns_path, uint16_t port);

// The status written on the error channel: Success, NonZeroExitCode with
// the code as a cause, or InternalError.
std::string ExitStatusJson(const Result<int>& exit);

}  // namespace kubepp::kubelet::server
