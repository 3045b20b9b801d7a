/* Which symbols a plugin exports, read from its ELF .dynsym (the ABI allows
 * one exported symbol). We parse the file rather than ask dlsym, because
 * the question is "what else is visible", which dlsym cannot enumerate. */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../plugin/elf_check.h"
#include "check_internal.h"

/* Symbols the toolchain defines in every shared object. */
static int toolchain_symbol(const char *name)
{
    static const char *const names[] = {"_init", "_fini", "_edata", "_end", "__bss_start",
                                        "_DYNAMIC", "_GLOBAL_OFFSET_TABLE_", "__data_start",
                                        "__dso_handle", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int exported(const ElfW(Sym) *s)
{
    unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
    unsigned vis = ELF64_ST_VISIBILITY(s->st_other);
    if (s->st_shndx == SHN_UNDEF)
        return 0; /* an import, e.g. memcpy */
    if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
        return 0;
    if (vis == STV_HIDDEN || vis == STV_INTERNAL)
        return 0;
    return type == STT_FUNC || type == STT_OBJECT || type == STT_GNU_IFUNC ||
           type == STT_TLS || type == STT_COMMON;
}

static void append(char *buf, size_t cap, const char *name)
{
    size_t used = strlen(buf);
    if (used + 8 >= cap)
        return;
    if (used + strlen(name) + 6 >= cap) {
        snprintf(buf + used, cap - used, "%s...", used ? ", " : "");
        return;
    }
    snprintf(buf + used, cap - used, "%s'%s'", used ? ", " : "", name);
}

static rg_status scan(const char *path, const unsigned char *img, size_t size, char *offenders,
                      size_t cap, int *count)
{
    /* magic, class, machine, program headers: what the loader checks first */
    rg_status st = rg_elf_check_image(img, size, path);
    if (st != RG_OK)
        return st;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(const void *)img;
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
        eh->e_shoff > size || (size - eh->e_shoff) / sizeof(ElfW(Shdr)) < eh->e_shnum)
        return rg_error_set(RG_ERR_FORMAT, "%s: no readable section headers", path);
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(const void *)(img + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM)
            continue;
        if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(ElfW(Sym)))
            return rg_error_set(RG_ERR_FORMAT, "%s: malformed .dynsym", path);
        const ElfW(Shdr) *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > size || size - sh[i].sh_offset < sh[i].sh_size ||
            str->sh_offset > size || size - str->sh_offset < str->sh_size || str->sh_size == 0)
            return rg_error_set(RG_ERR_FORMAT, "%s: .dynsym lies outside the file", path);
        const ElfW(Sym) *syms = (const ElfW(Sym) *)(const void *)(img + sh[i].sh_offset);
        const char *names = (const char *)img + str->sh_offset;
        size_t nsyms = sh[i].sh_size / sizeof(ElfW(Sym));
        for (size_t k = 1; k < nsyms; k++) {
            if (!exported(&syms[k]) || syms[k].st_name >= str->sh_size)
                continue;
            const char *name = names + syms[k].st_name;
            if (memchr(name, '\0', str->sh_size - syms[k].st_name) == NULL)
                continue;
            if (strcmp(name, REGULA_PLUGIN_ENTRY_NAME) == 0 || toolchain_symbol(name))
                continue;
            append(offenders, cap, name);
            (*count)++;
        }
        return RG_OK;
    }
    return rg_error_set(RG_ERR_FORMAT, "%s: no .dynsym section (not a shared object?)", path);
}

rg_status rg_check_elf_exports(const char *path, char *offenders, size_t cap, int *count)
{
    offenders[0] = '\0';
    *count = 0;
    const unsigned char *img = NULL;
    size_t size = 0;
    rg_status st = rg_elf_map(path, &img, &size);
    if (st != RG_OK)
        return st;
    st = scan(path, img, size, offenders, cap, count);
    rg_elf_unmap(img, size);
    return st;
}
