/* Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * File-based readers get the fuzz input through a scratch file: one per process
 * (and per slot), created with mkstemp in $TMPDIR (default /tmp) on first use,
 * rewritten for every input and removed at exit. */
#ifndef RG_FUZZ_UTIL_H
#define RG_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_FILES 4

static char fuzz_paths[FUZZ_MAX_FILES][4096];

static inline void fuzz_remove_files(void)
{
    for (int i = 0; i < FUZZ_MAX_FILES; i++)
        if (fuzz_paths[i][0])
            unlink(fuzz_paths[i]);
}

/* The scratch file `slot` (0 .. FUZZ_MAX_FILES-1), its name ending in `suffix`
 * (e.g. ".gz"; the readers do not look at names, messages do). */
static inline const char *fuzz_path(int slot, const char *suffix)
{
    if (!fuzz_paths[slot][0]) {
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
        snprintf(fuzz_paths[slot], sizeof fuzz_paths[slot], "%s/regula-fuzz-XXXXXX%s", dir,
                 suffix);
        int fd = mkstemps(fuzz_paths[slot], (int)strlen(suffix));
        if (fd < 0) {
            fprintf(stderr, "fuzz: cannot create %s: %s\n", fuzz_paths[slot], strerror(errno));
            abort();
        }
        close(fd);
        static int registered;
        if (!registered++)
            atexit(fuzz_remove_files);
    }
    return fuzz_paths[slot];
}

/* Writes data to scratch file `slot` (truncating it) and returns its path. */
static inline const char *fuzz_write(int slot, const char *suffix, const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(slot, suffix);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot open %s: %s\n", path, strerror(errno));
        abort();
    }
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
            abort();
        }
        data += n;
        size -= (size_t)n;
    }
    close(fd);
    return path;
}

/* A failing call must leave a message: reading all of it lets ASan check it is a
 * terminated string. */
/* FUZZ_VERBOSE=1 in the environment prints each verdict (for triage: ./fuzz_x FILE). */
#define FUZZ_CHECK_MESSAGE(st)                                                        \
    do {                                                                              \
        if (getenv("FUZZ_VERBOSE"))                                                   \
            fprintf(stderr, "fuzz: %s\n", (st) == RG_OK ? "accepted" : rg_error_message()); \
        if ((st) != RG_OK) {                                                          \
            const char *m_ = rg_error_message();                                      \
            if (!m_ || !*m_) {                                                        \
                fprintf(stderr, "fuzz: status %d without a message\n", (int)(st));    \
                abort();                                                              \
            }                                                                         \
            volatile size_t len_ = strlen(m_);                                        \
            (void)len_;                                                               \
        }                                                                             \
        rg_error_clear();                                                             \
    } while (0)

/* Reads every byte of [p, p+n) so ASan sees an allocation that is too small. */
static inline unsigned fuzz_touch(const void *p, size_t n)
{
    const volatile unsigned char *b = p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += b[i];
    return s;
}

#endif
