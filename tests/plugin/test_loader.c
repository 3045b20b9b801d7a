/* The plugin loader accepts a well-formed plugin and refuses each broken
 * one with a message that names the file, the problem and the fix. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "plugin/host.h"
#include "plugin/loader.h"

#define FIX(name) REGULA_TEST_FIXTURES "/fixture_" name ".so"

static void assert_message_contains(const char *needle)
{
    cr_assert(strstr(rg_error_message(), needle) != NULL, "message '%s' lacks '%s'",
              rg_error_message(), needle);
}

Test(loader, loads_a_good_plugin_with_its_schema)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), NULL, &p), RG_OK, "%s", rg_error_message());
    cr_assert_str_eq(p->desc.name, "good");
    cr_assert_eq(p->desc.kind, RG_PLUGIN_REGULARIZER);
    cr_assert_eq(p->abi_major, 1);
    cr_assert_eq(p->abi_minor, REGULA_ABI_MINOR);
    cr_assert_eq(p->num_params, 5);
    cr_assert_str_eq(p->params[2].name, "count");
    cr_assert_eq(p->params[2].type, RG_PARAM_INT);
    cr_assert_not_null(p->reg.penalty);
    cr_assert_null(p->reg.project);
    rg_plugin_unload(p);
}

Test(loader, refuses_a_library_without_the_entry_symbol)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("no_entry"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("fixture_no_entry.so: not a regula plugin: no exported symbol "
                            "regula_plugin_entry_v1");
    assert_message_contains("RG_DEFINE_PLUGIN");
}

Test(loader, refuses_a_plugin_of_another_abi_major_naming_both_versions)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("wrong_major"), NULL, &p), RG_ERR_VERSION);
    assert_message_contains("fixture_wrong_major.so: plugin ABI 2.0 does not fit host ABI 1.6");
    assert_message_contains("rebuild the plugin against regula SDK 1.x");
}

Test(loader, refuses_a_descriptor_smaller_than_abi_1_0)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("small_desc"), NULL, &p), RG_ERR_PLUGIN);
    char expected[160];
    snprintf(expected, sizeof expected,
             "descriptor struct_size 24 is smaller than the ABI 1.0 size %zu",
             (size_t)RG_PLUGIN_DESC_SIZE_V1_0);
    assert_message_contains(expected);
}

Test(loader, refuses_a_schema_whose_default_is_out_of_range)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("bad_default"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("parameter lambda: default 5 lies outside its range [0, 1]");
}

Test(loader, refuses_a_linear_decay_without_a_penalty)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("decay_only"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("fixture_decay_only.so: regularizer decay_only sets linear_decay, a "
                            "declaration about its penalty(), but has no penalty()");
}

Test(loader, reports_a_missing_file)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load("/nonexistent/dir/x.so", NULL, &p), RG_ERR_IO);
    assert_message_contains("/nonexistent/dir/x.so: cannot open plugin: No such file or directory");
}

Test(loader, reports_a_file_that_is_not_a_shared_object)
{
    char path[] = "/tmp/regula-notelf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "hello\n", 6), 6);
    close(fd);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("not a shared object: the file does not start with the ELF magic");
    unlink(path);
}

Test(loader, sdk_entry_refuses_a_host_of_another_major)
{
    /* The RG_DEFINE_PLUGIN side of the negotiation: a host speaking ABI 2
     * gets RG_ERR_VERSION and the plugin's own version back. */
    void *h = dlopen(FIX("good"), RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h);
    rg_plugin_entry_fn entry;
    void *sym = dlsym(h, REGULA_PLUGIN_ENTRY_NAME);
    cr_assert_not_null(sym);
    memcpy(&entry, &sym, sizeof entry);
    rg_host_api api;
    rg_host_api_make(&api, 0);
    rg_negotiation neg = {sizeof neg, 2, 0, 0, 0};
    const rg_plugin_desc *d = NULL;
    cr_assert_eq(entry(&api, &neg, &d), RG_ERR_VERSION);
    cr_assert_eq(neg.plugin_major, 1);
    cr_assert_null(d);
    assert_message_contains("plugin built for ABI 1.6, host offers 2.0");
}

Test(loader, create_and_destroy_return_every_host_byte)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), NULL, &p), RG_OK);
    int64_t before = rg_host_bytes_held();
    rg_param_value v[5] = {{1.0, NULL}, {0.5, NULL}, {3, NULL}, {0, NULL}, {1, "exact"}};
    rg_params prm = {sizeof prm, 5, v};
    for (int i = 0; i < 100; i++) {
        void *inst = NULL;
        cr_assert_eq(p->desc.create(rg_host_api_get(), &prm, &inst), RG_OK);
        cr_assert_gt(rg_host_bytes_held(), before);
        p->desc.destroy(inst);
    }
    cr_assert_eq(rg_host_bytes_held(), before);
    rg_plugin_unload(p);
}

Test(loader, a_host_older_than_the_plugin_minor_is_refused_both_ways)
{
    /* good.so is built against today's header (1.1); a 1.0 host must refuse
     * it cleanly, and the plugin's own entry refuses the host as well. */
    rg_host_api old;
    rg_host_api_make(&old, 0);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), &old, &p), RG_ERR_VERSION);
    assert_message_contains("fixture_good.so: plugin ABI 1.6 does not fit host ABI 1.0");
    assert_message_contains("rebuild the plugin against regula SDK 1.x (minor <= 0)");
}

/* ---- the hardened loader: trust check, ELF pre-check, dlopen causes, forked probe ---- */

#include <elf.h>
#include <sys/stat.h>

#include "plugin/elf_check.h"

static char g_dir[64];

static const char *tmpdir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/rg_loader_XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    return g_dir;
}

static size_t slurp(const char *path, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n);
    cr_assert_eq(fread(*out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return (size_t)n;
}

static void spit(const char *path, const unsigned char *data, size_t n, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    chmod(path, mode);
}

/* End of the last loadable segment's file bytes, read independently of elf_check.c. */
static size_t load_end(const unsigned char *img)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)img;
    size_t end = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph =
            (const Elf64_Phdr *)(const void *)(img + eh->e_phoff + (size_t)i * sizeof *ph);
        if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > end)
            end = ph->p_offset + ph->p_filesz;
    }
    return end;
}

Test(loader_hardened, a_truncated_copy_is_refused_and_never_raises_sigbus)
{
    unsigned char *img;
    size_t n = slurp(FIX("good"), &img);
    const char *d = tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/cut.so", d);
    size_t end = load_end(img);
    cr_assert_gt(end, 4096);
    spit(path, img, end - 100, 0644);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("truncated ELF file");
    assert_message_contains("cut.so");
    /* every shorter prefix too, checked in memory (ASan sees any read past the end) */
    for (size_t k = 0; k < end; k += k < 128 ? 1 : 397) {
        unsigned char *copy = malloc(k ? k : 1);
        memcpy(copy, img, k);
        cr_assert_neq(rg_elf_check_image(copy, k, "prefix"), RG_OK, "prefix of %zu bytes", k);
        free(copy);
    }
    cr_assert_eq(rg_elf_check_image(img, n, "whole"), RG_OK, "%s", rg_error_message());
    free(img);
}

Test(loader_hardened, a_foreign_architecture_is_named)
{
    unsigned char *img;
    size_t n = slurp(FIX("good"), &img);
    const char *d = tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/arm.so", d);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)img;
    eh->e_machine = EM_AARCH64;
    spit(path, img, n, 0644);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("wrong architecture: built for AArch64");
    eh->e_machine = EM_X86_64;
    img[EI_CLASS] = ELFCLASS32;
    spit(path, img, n, 0644);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("wrong architecture: a 32-bit ELF file");
    free(img);
}

Test(loader_hardened, text_empty_directory_and_symlink_loop_get_their_cause)
{
    const char *d = tmpdir();
    char path[128], other[128];
    rg_plugin *p = NULL;
    snprintf(path, sizeof path, "%s/text.so", d);
    spit(path, (const unsigned char *)"#!/bin/sh\n", 10, 0644);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("does not start with the ELF magic");
    snprintf(path, sizeof path, "%s/empty.so", d);
    spit(path, (const unsigned char *)"", 0, 0644);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_FORMAT);
    assert_message_contains("the file is empty");
    snprintf(path, sizeof path, "%s/dir.so", d);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_IO);
    assert_message_contains("not a regular file (a directory)");
    snprintf(path, sizeof path, "%s/a.so", d);
    snprintf(other, sizeof other, "%s/b.so", d);
    cr_assert_eq(symlink(other, path), 0);
    cr_assert_eq(symlink(path, other), 0);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_IO);
    assert_message_contains("symbolic links");
}

Test(loader_hardened, a_missing_dependency_and_an_undefined_symbol_are_named)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("needs_dep"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("missing dependency libfixture_dep_lib.so");
    cr_assert_eq(rg_plugin_load(FIX("undefined"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("uses the symbol 'regula_fixture_nowhere'");
}

static void ctor_case(const char *mode, const char *needle)
{
    setenv("FIXTURE_CTOR", mode, 1);
    setenv("REGULA_PLUGIN_PROBE_TIMEOUT", "1", 1);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("ctor"), NULL, &p), RG_ERR_PLUGIN, "mode %s", mode);
    assert_message_contains(needle);
    assert_message_contains("regula plugin check");
    unsetenv("FIXTURE_CTOR");
}

Test(loader_hardened, a_constructor_that_crashes_is_reported_and_the_host_lives)
{
    ctor_case("segv", "crashed while loading: SIGSEGV in its constructor");
    ctor_case("abort", "crashed while loading: SIGABRT");
}

Test(loader_hardened, a_constructor_that_exits_or_hangs_is_reported)
{
    ctor_case("exit", "called exit(7) while loading");
    ctor_case("hang", "did not finish loading within 1 s");
}

Test(loader_hardened, the_probe_passes_a_good_constructor)
{
    unsetenv("FIXTURE_CTOR");
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("ctor"), NULL, &p), RG_OK, "%s", rg_error_message());
    cr_assert_str_eq(p->desc.name, "fixture_ctor");
    rg_plugin_unload(p);
}

Test(loader_hardened, files_and_directories_other_users_can_write_are_refused)
{
    unsigned char *img;
    size_t n = slurp(REGULA_TEST_PLUGINS "/l2.so", &img);
    const char *d = tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/l2.so", d);
    spit(path, img, n, 0644);
    free(img);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_OK, "%s", rg_error_message());
    rg_plugin_unload(p);
    chmod(path, 0666);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("the file");
    assert_message_contains("is writable by every user");
    assert_message_contains("--allow-insecure-plugins");
    chmod(path, 0644);
    chmod(d, 0777); /* world-writable, no sticky bit: anyone may swap the file */
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("its directory");
    chmod(d, 01777); /* like /tmp: others cannot replace a file they do not own */
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_OK, "%s", rg_error_message());
    rg_plugin_unload(p);
    chmod(d, 0777);
    setenv("REGULA_ALLOW_INSECURE_PLUGINS", "1", 1);
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_OK, "%s", rg_error_message());
    rg_plugin_unload(p);
    unsetenv("REGULA_ALLOW_INSECURE_PLUGINS");
    chmod(d, 0700);
}
