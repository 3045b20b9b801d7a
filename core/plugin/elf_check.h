/* Reading a plugin's ELF headers before dlopen, so that a file that is not a
 * complete shared object for this machine (cut short, foreign architecture,
 * an executable, garbage) gets a message instead of a SIGBUS inside ld.so. */
#ifndef RG_CORE_PLUGIN_ELF_CHECK_H
#define RG_CORE_PLUGIN_ELF_CHECK_H

#include <stddef.h>

#include "regula/status.h"

/* Checks the first `size` bytes of a file that is `size` bytes long: ELF magic,
 * class, byte order, version, type ET_DYN, e_machine of this build, program
 * header table inside the file, every PT_LOAD segment's file range inside the
 * file, a PT_DYNAMIC segment. `path` only names the file in the message. */
rg_status rg_elf_check_image(const unsigned char *data, size_t size, const char *path);
/* Maps the whole of the regular file `path` read-only; a file that cannot be opened is
 * reported with its real cause (permission, symlink loop, not a regular file, empty). */
rg_status rg_elf_map(const char *path, const unsigned char **data, size_t *size);
void rg_elf_unmap(const unsigned char *data, size_t size);
/* rg_elf_map, then rg_elf_check_image. */
rg_status rg_elf_check_file(const char *path);

#endif
