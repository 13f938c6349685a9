/*
 * wan-wire: a userspace netem for scripts/wan-netns.sh, for kernels built
 * without sch_netem (tc qdisc ... netem fails with "Specified qdisc kind is
 * unknown"). Root only; not run in CI.
 *
 *   wan-wire DELAY_MS RATE_MBIT LIMIT_PKTS NS ADDR NS ADDR ...
 *
 * For each namespace NS it opens a TUN device "tun0" inside it (setns) and
 * then moves IPv4 packets between them: a packet that party k writes to its
 * tun0 leaves k's "interface" at RATE_MBIT (serialised after the packets
 * before it, as netem's rate) and reaches the destination's tun0 DELAY_MS
 * after its last bit left. So every packet sees DELAY_MS one way (RTT
 * 2 DELAY_MS) and each party sends at most RATE_MBIT in all (0: no limit).
 * More than LIMIT_PKTS packets waiting for the sender's link are dropped
 * (netem's limit; TCP backs off). The script adds the addresses and /32
 * routes via tun0 once "ready" is printed; SIGTERM or SIGINT ends it, and
 * the TUN devices (and their routes) go with it.
 *
 * Per packet: one read, one write, no allocation (a ring per sender).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARTIES 8
#define MTU 1500
#define RING 8192 /* packets per sender: queued + in flight; power of two */

struct pkt {
  uint64_t due_ns; /* delivery time */
  uint16_t len;
  uint8_t dst;
  uint8_t data[MTU];
};

struct party {
  int fd;
  uint32_t addr; /* network order */
  uint64_t busy_until_ns; /* when the sender's link is free again */
  struct pkt *ring;
  uint32_t head, tail; /* deliver at head, enqueue at tail */
  uint64_t sent, delivered, dropped_queue, dropped_addr, dropped_write;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "wan-wire: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* A TUN device named tun0 inside network namespace `ns` (/run/netns/NS). */
static int open_tun_in(const char *ns, int home) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die(path);
  if (setns(nsfd, CLONE_NEWNET) < 0) die("setns");
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, "tun0", IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF tun0");
  if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) die("O_NONBLOCK");
  if (setns(home, CLONE_NEWNET) < 0) die("setns back");
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 4 + 2 * 2 || (argc - 4) % 2 != 0 || (argc - 4) / 2 > MAX_PARTIES) {
    fprintf(stderr, "usage: wan-wire DELAY_MS RATE_MBIT LIMIT_PKTS NS ADDR NS ADDR [...]\n");
    return 2;
  }
  const double delay_ms = atof(argv[1]);
  const double rate_mbit = atof(argv[2]);
  const long limit = atol(argv[3]);
  if (delay_ms < 0 || rate_mbit < 0 || limit < 1 || limit >= RING) {
    fprintf(stderr, "wan-wire: need DELAY_MS >= 0, RATE_MBIT >= 0, 1 <= LIMIT_PKTS < %d\n", RING);
    return 2;
  }
  const uint64_t delay_ns = (uint64_t)(delay_ms * 1e6);
  /* Nanoseconds per byte on the sender's link; 0: no limit. */
  const double ns_per_byte = rate_mbit > 0 ? 8e3 / rate_mbit : 0;
  const int n = (argc - 4) / 2;
  struct party parties[MAX_PARTIES];
  memset(parties, 0, sizeof parties);
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("/proc/self/ns/net");
  for (int k = 0; k < n; k++) {
    struct party *p = &parties[k];
    if (inet_pton(AF_INET, argv[5 + 2 * k], &p->addr) != 1) {
      fprintf(stderr, "wan-wire: bad IPv4 address '%s'\n", argv[5 + 2 * k]);
      return 2;
    }
    p->fd = open_tun_in(argv[4 + 2 * k], home);
    p->ring = calloc(RING, sizeof(struct pkt));
    if (!p->ring) die("calloc");
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  printf("ready: %d parties, delay %.3f ms one way, rate %s%.3f Mbit/s, limit %ld packets\n", n, delay_ms,
         rate_mbit > 0 ? "" : "unlimited ", rate_mbit, limit);
  fflush(stdout);

  struct pollfd pfd[MAX_PARTIES];
  for (int k = 0; k < n; k++) pfd[k] = (struct pollfd){ .fd = parties[k].fd, .events = POLLIN };
  while (!stop) {
    /* Deliver everything that is due; find the next due time. */
    uint64_t now = now_ns(), next = UINT64_MAX;
    for (int k = 0; k < n; k++) {
      struct party *p = &parties[k];
      while (p->head != p->tail) {
        struct pkt *q = &p->ring[p->head & (RING - 1)];
        if (q->due_ns > now) {
          if (q->due_ns < next) next = q->due_ns;
          break;
        }
        if (write(parties[q->dst].fd, q->data, q->len) < 0) p->dropped_write++;
        else p->delivered++;
        p->head++;
      }
    }
    struct timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next - now;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int r = ppoll(pfd, (nfds_t)n, tsp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if (r == 0) continue;
    for (int k = 0; k < n; k++) {
      if (!(pfd[k].revents & POLLIN)) continue;
      struct party *p = &parties[k];
      /* Drain a bounded batch so that deliveries stay on time. */
      for (int b = 0; b < 64; b++) {
        struct pkt *q = &p->ring[p->tail & (RING - 1)];
        ssize_t len = read(p->fd, q->data, MTU);
        if (len < 0) {
          if (errno != EAGAIN && errno != EINTR) die("read");
          break;
        }
        if (len < 20 || (q->data[0] >> 4) != 4) { p->dropped_addr++; continue; } /* IPv4 only */
        uint32_t dst;
        memcpy(&dst, q->data + 16, 4);
        int d = -1;
        for (int j = 0; j < n; j++) if (parties[j].addr == dst) d = j;
        if (d < 0 || d == k) { p->dropped_addr++; continue; }
        uint64_t t = now_ns();
        uint64_t start = p->busy_until_ns > t ? p->busy_until_ns : t;
        /* Packets still waiting for the link, beyond the one on it: netem's limit. */
        uint64_t backlog = ns_per_byte > 0 && start > t ? (uint64_t)((double)(start - t) / (ns_per_byte * MTU)) : 0;
        if (backlog >= (uint64_t)limit || p->tail - p->head >= RING - 1) { p->dropped_queue++; continue; }
        uint64_t done = start + (uint64_t)(ns_per_byte * (double)len);
        p->busy_until_ns = done;
        q->due_ns = done + delay_ns;
        q->len = (uint16_t)len;
        q->dst = (uint8_t)d;
        p->tail++;
        p->sent++;
      }
    }
  }
  for (int k = 0; k < n; k++) {
    struct party *p = &parties[k];
    fprintf(stderr, "wan-wire: %s sent %llu, delivered %llu, dropped %llu (queue full) %llu (address) %llu (write)\n",
            argv[4 + 2 * k], (unsigned long long)p->sent, (unsigned long long)p->delivered,
            (unsigned long long)p->dropped_queue, (unsigned long long)p->dropped_addr, (unsigned long long)p->dropped_write);
  }
  return 0;
}
