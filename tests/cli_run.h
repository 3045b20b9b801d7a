/* What the tests that run the regula command share: a scratch folder per test, and
 * `regula ARGS` run through sh (so ARGS may quote and redirect) with its stdout and stderr
 * read back into out and err. Header-only, each test file is one program; define
 * CLI_RUN_NAME (the scratch folder's name) before including it. */
#ifndef RG_TESTS_CLI_RUN_H
#define RG_TESTS_CLI_RUN_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define REGULA REGULA_TEST_BIN "/regula"

static char out[1 << 17], err[1 << 16];
static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/regula-%s-XXXXXX", CLI_RUN_NAME);
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

__attribute__((unused)) static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* `regula ARGS`, in the scratch folder when in_tmpdir (else in the test's own); its exit
 * code, 128 + the signal if it was killed. */
static int run_regula(int in_tmpdir, const char *args)
{
    char cmd[8192];
    if (in_tmpdir)
        snprintf(cmd, sizeof cmd, "cd %s && %s %s >out 2>err", tmpdir, REGULA, args);
    else
        snprintf(cmd, sizeof cmd, "%s %s >%s/out 2>%s/err", REGULA, args, tmpdir, tmpdir);
    int st = system(cmd);
    char path[128];
    snprintf(path, sizeof path, "%s/out", tmpdir);
    slurp(path, out, sizeof out);
    snprintf(path, sizeof path, "%s/err", tmpdir);
    slurp(path, err, sizeof err);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

#endif
