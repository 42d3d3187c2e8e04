// syn_flood: sends COUNT TCP SYNs to DST:PORT from SRC with random source
// ports and sequence numbers over a raw socket (for the userspace engine's
// table-limit test; run inside the lab's client namespace only).
//   syn_flood SRC DST PORT COUNT
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace {

uint16_t checksum(const void* data, size_t len, uint32_t sum = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: syn_flood SRC DST PORT COUNT\n");
    return 2;
  }
  in_addr src{}, dst{};
  if (inet_pton(AF_INET, argv[1], &src) != 1 || inet_pton(AF_INET, argv[2], &dst) != 1) {
    std::fprintf(stderr, "syn_flood: bad address\n");
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::atoi(argv[3]));
  const long count = std::atol(argv[4]);
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  std::mt19937 rng(12345);
  uint8_t pkt[40];
  long sent = 0;
  for (long i = 0; i < count; ++i) {
    std::memset(pkt, 0, sizeof pkt);
    auto* ip = reinterpret_cast<iphdr*>(pkt);
    auto* tcp = reinterpret_cast<tcphdr*>(pkt + 20);
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons(40);
    ip->id = htons(static_cast<uint16_t>(i));
    ip->ttl = 64;
    ip->protocol = IPPROTO_TCP;
    ip->saddr = src.s_addr;
    ip->daddr = dst.s_addr;
    ip->check = htons(checksum(pkt, 20));
    tcp->source = htons(static_cast<uint16_t>(1024 + rng() % 60000));
    tcp->dest = htons(port);
    tcp->seq = htonl(static_cast<uint32_t>(rng()));
    tcp->doff = 5;
    tcp->syn = 1;
    tcp->window = htons(64240);
    uint8_t pseudo[12 + 20];
    std::memcpy(pseudo, &ip->saddr, 4);
    std::memcpy(pseudo + 4, &ip->daddr, 4);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    pseudo[10] = 0;
    pseudo[11] = 20;
    std::memcpy(pseudo + 12, tcp, 20);
    tcp->check = htons(checksum(pseudo, sizeof pseudo));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr = dst;
    if (sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 40) ++sent;
  }
  std::printf("%ld\n", sent);
  close(fd);
  return sent == count ? 0 : 1;
}
