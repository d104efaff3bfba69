/*
 * mmap-lab benchmark helper library, loaded into the Deno process with
 * Deno.dlopen. Built at run time by bench/native.ts with
 * `cc -O2 -shared -fPIC` into .mmap-lab/bench/.
 *
 * - noop_*: functions that do nothing, with the C signatures lib/ffi/libc.ts
 *   declares. Section 1b calls them to time the FFI call itself (no kernel
 *   work), per signature and per argument representation (number or BigInt).
 * - touch_byte, peek_byte: write or read one byte at a pointer, so a variant
 *   can touch a page without making a JavaScript view of it.
 * - cycles_*: the C program's map + touch + unmap loops, run inside the Deno
 *   process (one FFI call for N cycles): the kernel work in the very same
 *   process, so what is left between this and the JavaScript variants is the
 *   JavaScript side.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Writes 1 to the byte at p. */
void touch_byte(void *p) {
  *(volatile uint8_t *)p = 1;
}

/* Reads the byte at p. */
int32_t peek_byte(const void *p) {
  return *(const volatile uint8_t *)p;
}

/* N cycles of: mmap 4 KiB anonymous, write one byte, munmap. Returns -1 on failure. */
int64_t cycles_anon(int64_t n) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) {
    volatile uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    p[0] = 1;
    sum += p[0];
    if (munmap((void *)p, 4096) != 0) return -1;
  }
  return sum;
}

/* N cycles of: open, lseek x2, mmap shared read-only, close, read one byte, munmap. */
int64_t cycles_file(int64_t n, const char *path) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || lseek(fd, 0, SEEK_SET) != 0) return -1;
    volatile uint8_t *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return -1;
    if (close(fd) != 0) return -1;
    sum += p[0];
    if (munmap((void *)p, (size_t)size) != 0) return -1;
  }
  return sum;
}
