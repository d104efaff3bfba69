/*
 * mmap-lab benchmark helper: functions that do nothing, with the C signatures
 * lib/ffi/libc.ts declares. bench/wrapper.ts calls them through Deno FFI to
 * measure the cost of the call itself (no kernel work), per signature and per
 * argument representation (number or bigint). Built at run time by
 * bench/native.ts with `cc -O2 -shared -fPIC` into .mmap-lab/bench/.
 */
#include <stddef.h>
#include <stdint.h>

static uint8_t page[4096] __attribute__((aligned(4096)));

/* void *mmap(void *, size_t, int, int, int, off_t) */
void *noop_mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset) {
  (void)addr, (void)length, (void)prot, (void)flags, (void)fd, (void)offset;
  return page;
}

/* int munmap(void *, size_t) */
int noop_munmap(void *addr, size_t length) {
  (void)addr, (void)length;
  return 0;
}

/* int msync(void *, size_t, int) */
int noop_msync(void *addr, size_t length, int flags) {
  (void)addr, (void)length, (void)flags;
  return 0;
}

/* off_t lseek(int, off_t, int) */
int64_t noop_lseek(int fd, int64_t offset, int whence) {
  (void)fd, (void)whence;
  return offset;
}

/* int close(int) */
int noop_close(int fd) {
  (void)fd;
  return 0;
}

/* int open(const char *, int, mode_t) */
int noop_open(const char *path, int flags, unsigned mode) {
  (void)path, (void)flags, (void)mode;
  return 3;
}
