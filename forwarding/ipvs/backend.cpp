#include "forwarding/ipvs/backend.hpp"

#include <cerrno>
#include <type_traits>
#include <utility>
#include <variant>

#include "forwarding/ipvs/convert.hpp"
#include "forwarding/ipvs/socket.hpp"

namespace lvsd::forwarding::ipvs {
namespace {

class GenlTransport : public Transport {
 public:
  explicit GenlTransport(GenlSocket sock) : sock_(std::move(sock)) {}
  std::uint16_t family() const override { return sock_.family(); }
  MsgHeader next_header(std::uint16_t flags) override { return sock_.next_header(flags); }
  Result<Bytes> transact(ByteView request) override { return sock_.transact(request); }

 private:
  GenlSocket sock_;
};

constexpr std::uint16_t kAckFlags = NLM_F_REQUEST | NLM_F_ACK;
// Dumps: the builders OR in NLM_F_DUMP; an ack is not asked for (the dump
// ends with NLMSG_DONE).
constexpr std::uint16_t kDumpFlags = NLM_F_REQUEST;
// Single-answer GETs: no ack, the data message ends the reply.
constexpr std::uint16_t kGetFlags = NLM_F_REQUEST;

}  // namespace

Result<std::unique_ptr<IpvsBackend>> IpvsBackend::open(std::chrono::milliseconds timeout) {
  auto sock = GenlSocket::open(timeout);
  if (!sock) return sock.error();
  auto backend = std::make_unique<IpvsBackend>(std::make_unique<GenlTransport>(std::move(*sock)));
  auto& t = *backend->transport_;
  auto req = build_get_info(t.next_header(kGetFlags));
  if (!req) return req.error();
  auto reply = t.transact(*req);
  if (!reply) return reply.error();
  auto info = parse_info(*reply, t.family());
  if (!info) {
    Error e = info.error();
    e.message = "IPVS GET_INFO failed: " + e.message;
    return e;
  }
  return backend;
}

IpvsBackend::IpvsBackend(std::unique_ptr<Transport> transport) : transport_(std::move(transport)) {}

std::error_code IpvsBackend::fail(const Error& e) {
  last_error_ = e.message.empty() ? to_string(e.kind) : e.message;
  return to_error_code(e);
}

std::error_code IpvsBackend::ok() {
  last_error_.clear();
  return {};
}

std::error_code IpvsBackend::ack_request(const Result<Bytes>& request) {
  if (!request) return fail(request.error());
  auto reply = transport_->transact(*request);
  if (!reply) return fail(reply.error());
  auto ack = parse_ack(*reply, transport_->family());
  if (!ack) return fail(ack.error());
  return ok();
}

forwarding::Result<BackendInfo> IpvsBackend::info() {
  auto req = build_get_info(transport_->next_header(kGetFlags));
  if (!req) return fail(req.error());
  auto reply = transport_->transact(*req);
  if (!reply) return fail(reply.error());
  auto i = parse_info(*reply, transport_->family());
  if (!i) return fail(i.error());
  ok();
  return from_wire(*i);
}

std::error_code IpvsBackend::apply(const PlanOp& op) {
  return apply_one(op);
}

std::error_code IpvsBackend::apply_one(const PlanOp& op) {
  const MsgHeader h = transport_->next_header(kAckFlags);
  return std::visit(
      [&](const auto& o) -> std::error_code {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, AddService>) {
          return ack_request(build_new_service(h, to_wire(o.service)));
        } else if constexpr (std::is_same_v<T, EditService>) {
          return ack_request(build_set_service(h, to_wire(o.service)));
        } else if constexpr (std::is_same_v<T, DelService>) {
          return ack_request(build_del_service(h, to_wire_key(o.service)));
        } else if constexpr (std::is_same_v<T, AddDest>) {
          return ack_request(
              build_new_dest(h, to_wire_key(o.service), to_wire(o.dest, o.service.family)));
        } else if constexpr (std::is_same_v<T, EditDest>) {
          return ack_request(
              build_set_dest(h, to_wire_key(o.service), to_wire(o.dest, o.service.family)));
        } else {
          static_assert(std::is_same_v<T, DelDest>);
          return ack_request(
              build_del_dest(h, to_wire_key(o.service), to_wire_key(o.dest, o.service.family)));
        }
      },
      op);
}

forwarding::Result<ReadBack> IpvsBackend::read_back() {
  skipped_.clear();
  const std::uint16_t fam = transport_->family();
  auto req = build_get_services(transport_->next_header(kDumpFlags));
  if (!req) return fail(req.error());
  auto reply = transport_->transact(*req);
  if (!reply) return fail(reply.error());
  auto services = parse_services(*reply, fam);
  if (!services) return fail(services.error());

  ReadBack rb;
  for (const SvcAttrs& sa : *services) {
    auto vs = from_wire(sa);
    if (!vs) {
      skipped_.push_back(vs.error().message);
      continue;
    }
    const ServiceKey key = vs->key;
    if (rb.plan.services.contains(key)) {
      return fail(
          Error{Error::Kind::kUnexpected, 0, "service dump lists " + key.to_string() + " twice"});
    }
    auto dreq = build_get_dests(transport_->next_header(kDumpFlags), sa);
    if (!dreq) return fail(dreq.error());
    auto dreply = transport_->transact(*dreq);
    if (!dreply) return fail(dreply.error());
    auto dests = parse_dests(*dreply, fam);
    if (!dests) return fail(dests.error());

    ServiceEntry& entry = rb.plan.put(*vs);
    ServiceStatus& status = rb.status[key];
    if (sa.stats) status.stats = from_wire(*sa.stats);
    for (const DestAttrs& da : *dests) {
      auto rs = from_wire(da, key.family);
      if (!rs) {
        skipped_.push_back(key.to_string() + ": " + rs.error().message);
        continue;
      }
      const DestKey dk = rs->key();
      if (entry.dests.contains(dk)) {
        return fail(Error{
            Error::Kind::kUnexpected, 0,
            "destination dump of " + key.to_string() + " lists " + dk.to_string() + " twice"});
      }
      entry.dests.emplace(dk, *rs);
      status.dests.emplace(dk, status_from_wire(da));
    }
  }
  ok();
  return rb;
}

std::error_code IpvsBackend::set_timeouts(const forwarding::Timeouts& t) {
  return ack_request(build_set_config(transport_->next_header(kAckFlags), to_wire(t)));
}

forwarding::Result<forwarding::Timeouts> IpvsBackend::get_timeouts() {
  auto req = build_get_config(transport_->next_header(kGetFlags));
  if (!req) return fail(req.error());
  auto reply = transport_->transact(*req);
  if (!reply) return fail(reply.error());
  auto t = parse_config(*reply, transport_->family());
  if (!t) return fail(t.error());
  ok();
  return from_wire(*t);
}

std::error_code IpvsBackend::start_sync_daemon(const SyncDaemonConfig& c) {
  return ack_request(build_new_daemon(transport_->next_header(kAckFlags), to_wire(c)));
}

std::error_code IpvsBackend::stop_sync_daemon(SyncState state) {
  return ack_request(
      build_del_daemon(transport_->next_header(kAckFlags), static_cast<std::uint32_t>(state)));
}

forwarding::Result<std::vector<SyncDaemonConfig>> IpvsBackend::sync_daemons() {
  auto req = build_get_daemons(transport_->next_header(kDumpFlags));
  if (!req) return fail(req.error());
  auto reply = transport_->transact(*req);
  if (!reply) return fail(reply.error());
  auto daemons = parse_daemons(*reply, transport_->family());
  if (!daemons) return fail(daemons.error());
  std::vector<SyncDaemonConfig> out;
  for (const DaemonAttrs& d : *daemons) {
    auto c = from_wire(d);
    if (!c) return fail(c.error());
    out.push_back(std::move(*c));
  }
  ok();
  return out;
}

std::error_code IpvsBackend::flush() {
  return ack_request(build_flush(transport_->next_header(kAckFlags)));
}

std::vector<std::pair<ServiceKey, std::error_code>> IpvsBackend::delete_services(
    const std::vector<ServiceKey>& keys) {
  std::vector<std::pair<ServiceKey, std::error_code>> failures;
  for (const ServiceKey& k : keys) {
    if (auto ec = apply_one(DelService{k})) failures.emplace_back(k, ec);
  }
  return failures;
}

std::error_code IpvsBackend::zero(const ServiceKey* service) {
  std::optional<SvcAttrs> svc;
  if (service != nullptr) svc = to_wire_key(*service);
  return ack_request(build_zero(transport_->next_header(kAckFlags), svc));
}

}  // namespace lvsd::forwarding::ipvs
