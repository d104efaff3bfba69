/*
 * mmap-lab benchmark baseline: the same work as the Deno side of bench/, in C.
 * Built at run time by bench/native.ts with `cc -O2` into .mmap-lab/bench/.
 *
 *   mmapbench anon   N               map 4 KiB anonymous, write one byte, unmap; N cycles
 *   mmapbench file   N PATH          open, size (lseek x2), mmap shared read-only, close,
 *                                    read one byte, munmap; N cycles (the syscalls mapFile makes)
 *   mmapbench msync  N PATH          dirty one byte of a 1-page shared mapping, msync(MS_SYNC); N times
 *   mmapbench scan   PATH            map the whole file, sum every byte, unmap
 *   mmapbench read   PATH            read() the file in 1 MiB chunks into one buffer, sum every byte
 *   mmapbench rmap   N SEED PATH     map the file, N random 4 KiB pages, sum 8 bytes of each, unmap
 *   mmapbench pread  N SEED PATH     N random 4 KiB pread()s, sum the same 8 bytes of each
 *
 * Prints one JSON line: {"ns": total nanoseconds of the timed part, "ops": count, "sum": checksum}.
 * The cycle modes run N/10 untimed warm-up cycles first.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static uint32_t anon_cycles(long n) {
  uint32_t sum = 0;
  for (long i = 0; i < n; i++) {
    volatile uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    p[0] = 1;
    sum += p[0];
    if (munmap((void *)p, 4096) != 0) die("munmap");
  }
  return sum;
}

static uint32_t file_cycles(long n, const char *path) {
  uint32_t sum = 0;
  for (long i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open");
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || lseek(fd, 0, SEEK_SET) != 0) die("lseek");
    volatile uint8_t *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    if (close(fd) != 0) die("close");
    sum += p[0];
    if (munmap((void *)p, (size_t)size) != 0) die("munmap");
  }
  return sum;
}

static uint32_t msync_cycles(long n, volatile uint8_t *p) {
  for (long i = 0; i < n; i++) {
    p[i & 4095] = (uint8_t)(p[i & 4095] + 1);
    if (msync((void *)p, 4096, MS_SYNC) != 0) die("msync");
  }
  return p[0];
}

static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t s) {
  for (size_t i = 0; i < n; i++) s += p[i];
  return s;
}

/* xorshift32: bench/read.ts draws the same page sequence. */
static uint32_t next_rand(uint32_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

static uint32_t sum8(const uint8_t *p) {
  uint32_t s = 0;
  for (int k = 0; k < 4096; k += 512) s += p[k];
  return s;
}

static off_t file_size(const char *path, int *fd_out, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) die("open");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0) die("lseek");
  *fd_out = fd;
  return size;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mmapbench MODE ARGS...\n");
    return 2;
  }
  const char *mode = argv[1];
  double t0, t1;
  uint32_t sum = 0;
  long ops = 0;
  if (strcmp(mode, "anon") == 0) {
    ops = atol(argv[2]);
    anon_cycles(ops / 10 + 1);
    t0 = now_ns();
    sum = anon_cycles(ops);
    t1 = now_ns();
  } else if (strcmp(mode, "file") == 0 && argc >= 4) {
    ops = atol(argv[2]);
    file_cycles(ops / 10 + 1, argv[3]);
    t0 = now_ns();
    sum = file_cycles(ops, argv[3]);
    t1 = now_ns();
  } else if (strcmp(mode, "msync") == 0 && argc >= 4) {
    ops = atol(argv[2]);
    int fd;
    off_t size = file_size(argv[3], &fd, O_RDWR);
    volatile uint8_t *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    close(fd);
    msync_cycles(ops / 10 + 1, p);
    t0 = now_ns();
    sum = msync_cycles(ops, p);
    t1 = now_ns();
    munmap((void *)p, (size_t)size);
  } else if (strcmp(mode, "scan") == 0) {
    t0 = now_ns();
    int fd;
    off_t size = file_size(argv[2], &fd, O_RDONLY);
    const uint8_t *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    close(fd);
    sum = sum_bytes(p, (size_t)size, 0);
    munmap((void *)p, (size_t)size);
    t1 = now_ns();
    ops = (long)size;
  } else if (strcmp(mode, "read") == 0) {
    static uint8_t buf[1 << 20];
    t0 = now_ns();
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open");
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      sum = sum_bytes(buf, (size_t)n, sum);
      ops += n;
    }
    if (n < 0) die("read");
    close(fd);
    t1 = now_ns();
  } else if ((strcmp(mode, "rmap") == 0 || strcmp(mode, "pread") == 0) && argc >= 5) {
    ops = atol(argv[2]);
    uint32_t x = (uint32_t)strtoul(argv[3], NULL, 10);
    static uint8_t buf[4096];
    t0 = now_ns();
    int fd;
    off_t size = file_size(argv[4], &fd, O_RDONLY);
    uint32_t pages = (uint32_t)(size / 4096);
    if (mode[0] == 'r') {
      const uint8_t *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) die("mmap");
      close(fd);
      for (long i = 0; i < ops; i++) sum += sum8(p + (size_t)(next_rand(&x) % pages) * 4096);
      munmap((void *)p, (size_t)size);
    } else {
      for (long i = 0; i < ops; i++) {
        off_t off = (off_t)(next_rand(&x) % pages) * 4096;
        if (pread(fd, buf, 4096, off) != 4096) die("pread");
        sum += sum8(buf);
      }
      close(fd);
    }
    t1 = now_ns();
  } else {
    fprintf(stderr, "mmapbench: unknown mode or missing arguments: %s\n", mode);
    return 2;
  }
  printf("{\"ns\":%.0f,\"ops\":%ld,\"sum\":%u}\n", t1 - t0, ops, sum);
  return 0;
}
