#include "forwarding/userspace/nfqueue.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

namespace lvsd::forwarding::userspace {
namespace {

// Room for a GSO packet (64 KiB) plus the netlink/nfqueue headers.
constexpr std::size_t kRxBuffer = 65536 + 4096;
// Verdicts: small ones are ~40 bytes; one carrying a rewritten GSO packet up
// to 64 KiB. Flush before a verdict would not fit.
constexpr std::size_t kTxBuffer = 256 * 1024;

bool send_config(mnl_socket* nl, uint16_t queue, const NfQueueOptions& o, std::error_code& ec) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto check = [&](nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    int n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) {
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    if (mnl_cb_run(buf.data(), n, 0, mnl_socket_get_portid(nl), nullptr, nullptr) < 0) {
      ec = std::error_code(errno, std::generic_category());
      return false;
    }
    return true;
  };
  nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
  if (!check(nlh)) return false;

  nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
  nfq_nlmsg_cfg_put_qmaxlen(nlh, o.maxlen);
  uint32_t flags = (o.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) | (o.gso ? NFQA_CFG_F_GSO : 0);
  uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
  return check(nlh);
}

}  // namespace

NfQueue::NfQueue(const NfQueueOptions& options) : options_(options) {
  if (options_.batch == 0) options_.batch = 1;
  rx_.assign(options_.batch, std::vector<char>(kRxBuffer));
  rx_len_.assign(options_.batch, 0);
  tx_.resize(kTxBuffer);
}

std::unique_ptr<NfQueue> NfQueue::open(const NfQueueOptions& options, std::error_code& ec) {
  std::unique_ptr<NfQueue> q(new NfQueue(options));
  q->nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (q->nl_ == nullptr) {
    ec = std::error_code(errno, std::generic_category());
    return nullptr;
  }
  if (mnl_socket_bind(q->nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    ec = std::error_code(errno, std::generic_category());
    return nullptr;
  }
  q->portid_ = mnl_socket_get_portid(q->nl_);
  int fd = mnl_socket_get_fd(q->nl_);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  int size = static_cast<int>(options.socket_buffer);
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which binding a queue needs anyway.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  // A batch of verdicts is one sendmsg: it must fit the socket's send buffer
  // (default ~208 KiB), or the whole batch fails with EMSGSIZE and its
  // packets stay queued for good. Verdicts carrying GSO packets are up to
  // 64 KiB each.
  int sndbuf = static_cast<int>(2 * kTxBuffer);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (!send_config(q->nl_, options.queue, options, ec)) return nullptr;
  ec.clear();
  return q;
}

NfQueue::~NfQueue() {
  if (nl_ != nullptr) {
    flush();
    // Closing the socket unbinds the queue (the kernel's netlink release
    // notifier drops its instances).
    mnl_socket_close(nl_);
  }
}

int NfQueue::fd() const {
  return mnl_socket_get_fd(nl_);
}

unsigned NfQueue::receive() {
  mmsghdr msgs[64];
  iovec iovs[64];
  unsigned n = options_.batch > 64 ? 64 : options_.batch;
  for (unsigned i = 0; i < n; ++i) {
    iovs[i] = iovec{rx_[i].data(), rx_[i].size()};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int got = recvmmsg(fd(), msgs, n, MSG_DONTWAIT, nullptr);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters_.recv_errors;
    return 0;
  }
  for (int i = 0; i < got; ++i)
    rx_len_[i] = msgs[i].msg_len;
  counters_.received += static_cast<unsigned>(got);
  return static_cast<unsigned>(got);
}

bool NfQueue::parse(unsigned index, QueuedPacket& out) {
  auto* nlh = reinterpret_cast<nlmsghdr*>(rx_[index].data());
  unsigned len = rx_len_[index];
  if (!mnl_nlmsg_ok(nlh, static_cast<int>(len)) || nlh->nlmsg_type == NLMSG_ERROR) {
    ++counters_.parse_errors;
    return false;
  }
  nlattr* attr[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr ||
      attr[NFQA_PAYLOAD] == nullptr) {
    ++counters_.parse_errors;
    return false;
  }
  auto* ph = static_cast<nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
  out.id = ntohl(ph->packet_id);
  out.hw_protocol = ntohs(ph->hw_protocol);
  out.mark = attr[NFQA_MARK] ? ntohl(mnl_attr_get_u32(attr[NFQA_MARK])) : 0;
  out.indev = attr[NFQA_IFINDEX_INDEV] ? ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV])) : 0;
  uint32_t skbinfo = attr[NFQA_SKB_INFO] ? ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) : 0;
  out.csum_not_ready = (skbinfo & NFQA_SKB_CSUMNOTREADY) != 0;
  out.gso = (skbinfo & NFQA_SKB_GSO) != 0;
  out.payload = std::span<uint8_t>(static_cast<uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
                                   mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
  return true;
}

void NfQueue::verdict(uint32_t id, Verdict v, std::span<const uint8_t> payload, bool set_mark,
                      uint32_t mark) {
  std::size_t need = MNL_ALIGN(sizeof(nlmsghdr)) + 64 + MNL_ALIGN(payload.size() + 4);
  if (tx_used_ + need > tx_.size()) flush();
  if (need > tx_.size()) tx_.resize(need);  // cannot happen with IP packets (<= 64 KiB)
  nlmsghdr* nlh = nfq_nlmsg_put(tx_.data() + tx_used_, NFQNL_MSG_VERDICT, options_.queue);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), static_cast<int>(v));
  if (set_mark) nfq_nlmsg_verdict_put_mark(nlh, mark);
  if (!payload.empty())
    nfq_nlmsg_verdict_put_pkt(nlh, payload.data(), static_cast<uint32_t>(payload.size()));
  tx_used_ += MNL_ALIGN(nlh->nlmsg_len);
  ++counters_.verdicts;
}

void NfQueue::flush() {
  if (tx_used_ == 0) return;
  if (mnl_socket_sendto(nl_, tx_.data(), tx_used_) < 0) {
    ++counters_.send_errors;
    send_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  tx_used_ = 0;
}

}  // namespace lvsd::forwarding::userspace
