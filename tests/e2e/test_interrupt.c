/* Interrupts and disks: SIGINT/SIGTERM finish the batch, save a checkpoint a resume goes on
 * from bit-identically (mid-epoch), and exit 130/143; a second SIGINT exits at once; a
 * checkpoint that cannot be written (file size limit = full disk) leaves the previous one
 * intact and says so; kill -9 at any moment leaves a loadable checkpoint. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define FAULT REGULA_TEST_FIXTURES "/fixture_fault.so"

static char out[1 << 16];

TestSuite(interrupt, .init = setup, .fini = teardown, .timeout = 300);

/* Long enough epochs (about 0.3 s on a 2-core AVX-512 machine, 2026-12-02; longer elsewhere)
 * that a signal sent 50 ms after epoch 1 was saved lands inside epoch 2. */
#define RECIPE "train --model mlp:128 --train-limit 48000 --val 0 --epochs 3 --threads 2 " \
               "--optimizer adam --lr 1e-3 --reg l2:lambda=1e-4 --reg dropout:rate=0.2 " \
               "--no-test --quiet"

/* Starts regula with `args` (split on spaces), output to dir/NAME. fsize > 0: that
 * RLIMIT_FSIZE, SIGXFSZ ignored, so writes fail with EFBIG as on a full disk. */
static pid_t start(const char *args, const char *name, long fsize)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fsize > 0) {
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
            signal(SIGXFSZ, SIG_IGN);
        }
        char buf[2048], *argv[64];
        snprintf(buf, sizeof buf, "%s", args);
        int n = 0;
        argv[n++] = (char *)REGULA;
        for (char *tok = strtok(buf, " "); tok && n < 63; tok = strtok(NULL, " "))
            argv[n++] = tok;
        argv[n] = NULL;
        execv(REGULA, argv);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid, const char *name)
{
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(const char *args, const char *name)
{
    return finish(start(args, name, 0), name);
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void wait_for(const char *path)
{
    for (int i = 0; i < 3000 && !exists(path); i++)
        sleep_ms(10);
    cr_assert(exists(path), "%s never appeared", path);
}

static void interrupted_run_resumes_bit_identically(int sig, int code)
{
    char args[1024], a[128], b[128];
    snprintf(a, sizeof a, "%s/a.ckpt", dir);
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, RECIPE " --save %s", a);
    cr_assert_eq(run(args, "a.txt"), 0, "%s", out);
    snprintf(args, sizeof args, RECIPE " --save %s", b);
    pid_t pid = start(args, "b1.txt", 0);
    wait_for(b); /* epoch 1 is saved: the signal lands inside epoch 2 */
    sleep_ms(50);
    kill(pid, sig);
    int st = finish(pid, "b1.txt");
    cr_assert_eq(st, code, "exit %d:\n%s", st, out);
    char want[256];
    snprintf(want, sizeof want, "saved the run to %s; continue with: regula train --resume %s",
             b, b);
    cr_assert(strstr(out, want) != NULL, "no '%s' in:\n%s", want, out);
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(b, &c), RG_OK, "%s", rg_error_message());
    char batch[32];
    cr_assert_not_null(rg_checkpoint_config_get(c, "state.batch", batch, sizeof batch),
                       "the checkpoint was not written mid-epoch:\n%s", out);
    cr_assert_gt(atoll(batch), 0);
    rg_checkpoint_free(c);
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    cr_assert_eq(run(args, "b2.txt"), 0, "%s", out);
    assert_same_checkpoints(a, b, NULL);
}

Test(interrupt, sigint_saves_mid_epoch_and_the_resume_is_bit_identical)
{
    interrupted_run_resumes_bit_identically(SIGINT, 130);
}

Test(interrupt, sigterm_saves_and_exits_143)
{
    interrupted_run_resumes_bit_identically(SIGTERM, 143);
}

Test(interrupt, a_second_sigint_exits_at_once)
{
    /* the hook hangs, so the first SIGINT's "finish this batch" never comes */
    char args[1024], b[128];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args,
             "train --model mlp:16 --train-limit 600 --val 0 --epochs 3 --threads 2 --quiet "
             "--hook-timeout 0 --save %s --reg " FAULT ":how=hang,at=12", b);
    pid_t pid = start(args, "b.txt", 0);
    wait_for(b);
    sleep_ms(300);
    kill(pid, SIGINT);
    sleep_ms(300);
    kill(pid, SIGINT);
    int st = finish(pid, "b.txt");
    cr_assert_eq(st, 130, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "second signal: exiting now") != NULL, "%s", out);
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(b, &c), RG_OK, "%s", rg_error_message());
    rg_checkpoint_free(c);
}

Test(interrupt, a_full_disk_keeps_the_previous_checkpoint_and_says_so)
{
    char args[1024], b[128], copy[160];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args,
             "train --model mlp:64 --train-limit 2000 --epochs 3 --threads 2 --quiet "
             "--save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", out);
    snprintf(copy, sizeof copy, "cp %s %s.orig", b, b);
    cr_assert_eq(system(copy), 0);
    /* the resumed run cannot write more than 64 KiB: its next checkpoint fails */
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    int st = finish(start(args, "b2.txt", 64 * 1024), "b2.txt");
    cr_assert_eq(st, 1, "exit %d:\n%s", st, out);
    cr_assert(strstr(out, "cannot write checkpoint: File too large (the disk or a size limit "
                          "is full); the previous checkpoint there is intact") != NULL,
              "%s", out);
    snprintf(copy, sizeof copy, "cmp -s %s %s.orig", b, b);
    cr_assert_eq(system(copy), 0, "the previous checkpoint changed");
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", b);
    cr_assert(!exists(tmp), "the partial file was left behind");
}

static long long mtime_ns(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

Test(interrupt, kill_9_at_any_moment_leaves_a_loadable_checkpoint)
{
    char args[1024], b[128];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args,
             "train --model mlp:64 --train-limit 3000 --val 0 --epochs 4000 --threads 2 --quiet "
             "--no-test --save %s", b);
    /* 4000 epochs: far longer than the last delay, so every round ends by the kill. Even
     * rounds: a fixed delay from the start (may land before the first save, during
     * start-up); odd rounds: a delay after this process's first save, so the kill lands
     * between, or inside, the writes of later epochs (an epoch is a few tens of ms) */
    const long delays[] = {5, 3, 150, 17, 610, 41, 1300, 77, 2584, 131};
    int loaded = 0;
    for (size_t k = 0; k < sizeof delays / sizeof delays[0]; k++) {
        long long before = mtime_ns(b);
        pid_t pid = start(args, "k.txt", 0);
        if (k % 2) {
            for (int i = 0; i < 3000 && mtime_ns(b) == before; i++)
                sleep_ms(5);
            cr_assert_neq(mtime_ns(b), before, "no checkpoint written in round %zu", k);
        }
        sleep_ms(delays[k]);
        kill(pid, SIGKILL);
        cr_assert_eq(finish(pid, "k.txt"), 128 + SIGKILL);
        if (!exists(b))
            continue; /* killed before the first epoch ended: nothing to load, nothing lost */
        rg_checkpoint *c = NULL;
        cr_assert_eq(rg_checkpoint_read(b, &c), RG_OK, "after kill -9 in round %zu: %s", k,
                     rg_error_message());
        rg_checkpoint_free(c);
        loaded++;
    }
    cr_assert_geq(loaded, 5, "only %d of the kills came after a checkpoint", loaded);
}
