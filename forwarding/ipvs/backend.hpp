// IpvsBackend: forwarding::Backend on the kernel's ip_vs, over the IPVS
// generic-netlink family (messages.hpp builds and parses, socket.hpp talks to
// the kernel, convert.hpp maps the model to the wire and back).
//
// Errors follow backend.hpp: the kernel's errno as std::error_code
// (generic_category), EPROTO for a malformed or unexpected reply, ETIMEDOUT /
// EIO for the transport. last_error() keeps the wire layer's full message
// (with the kernel's extended-ack text) of the most recent failure, for logs.
// Blocking calls: one request at a time, on the caller's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "forwarding/backend.hpp"
#include "forwarding/ipvs/messages.hpp"
#include "forwarding/ipvs/result.hpp"

namespace lvsd::forwarding::ipvs {

// What IpvsBackend sends requests through: the kernel (a GenlSocket) in
// production, a scripted fake in unit tests.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::uint16_t family() const = 0;
  // A header for the next request (family, fresh seq, port id, flags).
  virtual MsgHeader next_header(std::uint16_t flags) = 0;
  // One request -> the raw reply (see GenlSocket::transact).
  virtual Result<Bytes> transact(ByteView request) = 0;
};

class IpvsBackend : public Backend {
 public:
  // Connects to the kernel, resolves the "IPVS" family and sends GET_INFO.
  // Errors: kNoFamily with kNoIpvsMessage ("the kernel has no ip_vs: modprobe
  // ip_vs ...") when ip_vs is not loaded; kKernel EPERM without
  // CAP_NET_ADMIN; kIo / kTimeout otherwise.
  static Result<std::unique_ptr<IpvsBackend>> open(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Over any transport (tests). Sends nothing.
  explicit IpvsBackend(std::unique_ptr<Transport> transport);

  // Backend
  std::string_view name() const override { return "ipvs"; }
  forwarding::Result<BackendInfo> info() override;
  std::error_code apply(const PlanOp& op) override;
  // GET_SERVICE dump, then a GET_DEST dump per service. A service or dest the
  // model cannot represent (a dest the kernel made "Local" because its
  // address is local, an unknown protocol) is left out of the result and
  // named in skipped(); everything else is returned.
  forwarding::Result<ReadBack> read_back() override;
  std::error_code set_timeouts(const forwarding::Timeouts& t) override;
  forwarding::Result<forwarding::Timeouts> get_timeouts() override;
  std::error_code start_sync_daemon(const SyncDaemonConfig& c) override;
  std::error_code stop_sync_daemon(SyncState state) override;
  forwarding::Result<std::vector<SyncDaemonConfig>> sync_daemons() override;

  // ---- beyond Backend
  // FLUSH: removes every service (and dest) of the table, lvsd's or not.
  std::error_code flush();
  // DEL_SERVICE for each key, going on after a failure; the failures, empty
  // when all went (ESRCH for an absent one).
  std::vector<std::pair<ServiceKey, std::error_code>> delete_services(
      const std::vector<ServiceKey>& keys);
  // ZERO: counters of one service, or of the whole table.
  std::error_code zero(const ServiceKey* service = nullptr);

  // The wire layer's message of the last failed call ("" after a success).
  const std::string& last_error() const { return last_error_; }
  // What the last read_back() left out, one line each ("" entries never).
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  // Sends a request that only acks.
  std::error_code ack_request(const Result<Bytes>& request);
  std::error_code fail(const Error& e);
  std::error_code ok();
  std::error_code apply_one(const PlanOp& op);

  std::unique_ptr<Transport> transport_;
  std::string last_error_;
  std::vector<std::string> skipped_;
};

}  // namespace lvsd::forwarding::ipvs
