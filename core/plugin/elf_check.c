#include "elf_check.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../error.h"

#if defined(__x86_64__)
#define RG_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define RG_ELF_MACHINE EM_AARCH64
#elif defined(__i386__)
#define RG_ELF_MACHINE EM_386
#elif defined(__arm__)
#define RG_ELF_MACHINE EM_ARM
#elif defined(__powerpc64__)
#define RG_ELF_MACHINE EM_PPC64
#elif defined(__riscv)
#define RG_ELF_MACHINE EM_RISCV
#elif defined(__s390x__)
#define RG_ELF_MACHINE EM_S390
#endif

#if UINTPTR_MAX > 0xffffffffu
#define RG_ELF_CLASS ELFCLASS64
typedef Elf64_Ehdr rg_ehdr;
typedef Elf64_Phdr rg_phdr;
#else
#define RG_ELF_CLASS ELFCLASS32
typedef Elf32_Ehdr rg_ehdr;
typedef Elf32_Phdr rg_phdr;
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RG_ELF_DATA ELFDATA2LSB
#else
#define RG_ELF_DATA ELFDATA2MSB
#endif

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "AArch64";
    case EM_ARM: return "ARM";
    case EM_PPC64: return "PowerPC64";
    case EM_PPC: return "PowerPC";
    case EM_RISCV: return "RISC-V";
    case EM_S390: return "s390";
    case EM_MIPS: return "MIPS";
    case EM_SPARCV9: return "SPARC v9";
    }
    return "an unknown machine";
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case ET_REL: return "a relocatable object (.o), not a shared object: link it with -shared";
    case ET_EXEC: return "an executable, not a shared object: build it with -shared -fPIC";
    case ET_CORE: return "a core dump";
    }
    return "not a shared object";
}

/* a + b <= limit without overflow */
static int fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}

rg_status rg_elf_check_image(const unsigned char *data, size_t size, const char *path)
{
    if (!path)
        path = "plugin";
    if (size < SELFMAG || memcmp(data, ELFMAG, SELFMAG) != 0)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: not a shared object: the file does not start with the ELF "
                            "magic (%zu bytes; a script, an archive or a text file?)",
                            path, size);
    if (size < EI_NIDENT)
        return rg_error_set(RG_ERR_FORMAT, "%s: truncated ELF file: %zu bytes, the header needs %zu",
                            path, size, sizeof(rg_ehdr));
    if (data[EI_CLASS] != RG_ELF_CLASS)
        return rg_error_set(RG_ERR_FORMAT, "%s: wrong architecture: a %s ELF file, this regula is %d-bit",
                            path, data[EI_CLASS] == ELFCLASS32 ? "32-bit" :
                                  data[EI_CLASS] == ELFCLASS64 ? "64-bit" : "invalid-class",
                            (int)(8 * sizeof(void *)));
    if (data[EI_DATA] != RG_ELF_DATA)
        return rg_error_set(RG_ERR_FORMAT, "%s: wrong architecture: the file's byte order is not this "
                            "machine's", path);
    if (data[EI_VERSION] != EV_CURRENT)
        return rg_error_set(RG_ERR_FORMAT, "%s: invalid ELF header: version %u", path,
                            (unsigned)data[EI_VERSION]);
    if (size < sizeof(rg_ehdr))
        return rg_error_set(RG_ERR_FORMAT, "%s: truncated ELF file: %zu bytes, the header needs %zu",
                            path, size, sizeof(rg_ehdr));
    rg_ehdr eh;
    memcpy(&eh, data, sizeof eh); /* the mapping need not be aligned for the struct */
#ifdef RG_ELF_MACHINE
    if (eh.e_machine != RG_ELF_MACHINE)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: wrong architecture: built for %s (e_machine %u), this machine "
                            "is %s: rebuild the plugin here",
                            path, machine_name(eh.e_machine), (unsigned)eh.e_machine,
                            machine_name(RG_ELF_MACHINE));
#endif
    if (eh.e_type != ET_DYN)
        return rg_error_set(RG_ERR_FORMAT, "%s: ELF type %u: %s", path, (unsigned)eh.e_type,
                            type_name(eh.e_type));
    if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(rg_phdr))
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: invalid ELF header: %u program headers of %u bytes (expected "
                            "entries of %zu)",
                            path, (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize, sizeof(rg_phdr));
    uint64_t table = (uint64_t)eh.e_phnum * sizeof(rg_phdr);
    if (!fits(eh.e_phoff, table, size))
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: truncated ELF file: the program header table ends at byte %llu, "
                            "the file has %zu bytes (a copy cut short?)",
                            path, (unsigned long long)eh.e_phoff + (unsigned long long)table, size);
    int loads = 0, dynamic = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        rg_phdr ph;
        memcpy(&ph, data + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
            continue;
        const char *what = ph.p_type == PT_LOAD ? "loadable segment" : "dynamic segment";
        if (!fits(ph.p_offset, ph.p_filesz, size))
            return rg_error_set(RG_ERR_FORMAT,
                                "%s: truncated ELF file: %s %u spans bytes %llu..%llu, the file "
                                "has %zu bytes (a copy cut short?)",
                                path, what, i, (unsigned long long)ph.p_offset,
                                (unsigned long long)ph.p_offset + (unsigned long long)ph.p_filesz,
                                size);
        if (ph.p_type == PT_LOAD) {
            if (ph.p_filesz > ph.p_memsz)
                return rg_error_set(RG_ERR_FORMAT,
                                    "%s: invalid ELF file: segment %u holds more file bytes "
                                    "(%llu) than memory (%llu)",
                                    path, i, (unsigned long long)ph.p_filesz,
                                    (unsigned long long)ph.p_memsz);
            loads++;
        } else {
            dynamic++;
        }
    }
    if (!loads)
        return rg_error_set(RG_ERR_FORMAT, "%s: invalid ELF file: no loadable segment", path);
    if (!dynamic)
        return rg_error_set(RG_ERR_FORMAT,
                            "%s: not a shared object: no dynamic segment (a static PIE?)", path);
    return RG_OK;
}

rg_status rg_elf_map(const char *path, const unsigned char **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return rg_error_set(RG_ERR_IO, "%s: cannot open plugin: too many levels of symbolic "
                                "links (a symlink loop?)", path);
        if (e == EACCES)
            return rg_error_set(RG_ERR_IO, "%s: cannot open plugin: permission denied (the file "
                                "or a directory on its path is not readable by this user)", path);
        return rg_error_set(RG_ERR_IO, "%s: cannot open plugin: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rg_error_set(RG_ERR_IO, "%s: cannot stat plugin: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rg_error_set(RG_ERR_IO, "%s: not a regular file (%s)", path,
                            S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket");
    }
    if (st.st_size == 0) {
        close(fd);
        return rg_error_set(RG_ERR_FORMAT, "%s: not a shared object: the file is empty", path);
    }
    /* Only the file's own bytes are mapped and read: nothing touches a page past its end,
     * which is where a truncated copy would SIGBUS. */
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return rg_error_set(RG_ERR_IO, "%s: cannot map plugin: %s", path, strerror(e));
    *data = map;
    *size = (size_t)st.st_size;
    return RG_OK;
}

void rg_elf_unmap(const unsigned char *data, size_t size)
{
    munmap((void *)data, size);
}

rg_status rg_elf_check_file(const char *path)
{
    const unsigned char *data = NULL;
    size_t size = 0;
    rg_status st = rg_elf_map(path, &data, &size);
    if (st != RG_OK)
        return st;
    st = rg_elf_check_image(data, size, path);
    rg_elf_unmap(data, size);
    return st;
}
