/* PNG image folders: one sub-folder per class, PNG files inside.
 *
 *   dir/
 *     cat/   a.png b.png ...     class 0 (sub-folders sorted by name)
 *     dog/   a.png ...           class 1
 *
 * Names sort bytewise (strcmp, no locale), so "img10.png" comes before
 * "img2.png": zero-pad numbers. Entries whose name starts with '.' are
 * ignored at both levels, as are plain files at the top level and files in a
 * class folder whose name does not end in ".png" (any case). Images are
 * ordered class by class, by file name within a class.
 *
 * Pixel conversion (every PNG colour type and bit depth is accepted):
 *   - 1/2/4-bit gray is expanded to 0..255, palettes to their RGB entries;
 *   - 16-bit samples are scaled to 8 bits as round(v / 257) (v * 255 / 65535);
 *   - alpha (an alpha channel or tRNS) is dropped: colour samples are kept
 *     as stored, not composited;
 *   - gray to RGB replicates the sample; RGB to gray is the ITU-R BT.601
 *     luma round(0.299 R + 0.587 G + 0.114 B), computed on the 8-bit samples;
 *   - no gamma or colour-profile correction: the stored values are used.
 * The loaded pixels are planar (c, h, w) like every rg_dataset. */
#ifndef RG_DATASETS_PNG_H
#define RG_DATASETS_PNG_H

#include "dataset.h"
#include "regula/status.h"

typedef struct rg_png_options {
    /* 0: from the first image (1 for gray or gray+alpha, 3 for RGB, RGBA or
     * palette); 1: grayscale; 3: RGB. */
    int channels;
    /* 0: every image must have the first image's size. Nonzero: larger
     * images are cropped to it around their centre (an odd surplus leaves
     * the extra column/row on the right/bottom); smaller ones are refused. */
    int center_crop;
} rg_png_options;

/* Loads dir as above; opt may be NULL (all zero). num_classes is the number
 * of class folders (at most 256, each must hold a .png) and class_names
 * holds the folder names. On failure *out is NULL and rg_error_message()
 * names the file and what was wrong. */
rg_status rg_dataset_open_png_dir(const char *dir, const rg_png_options *opt, rg_dataset **out);

/* Writes ds (c = 1 gray or 3 RGB, 8-bit) as a folder the loader reads back:
 * class k goes to "<k>" or "<k>_<name>" with k zero-padded to a common width
 * (at least 2 digits) so folders sort in class order, and image i to
 * "<i>.png" zero-padded to at least 5 digits, so each class keeps the
 * dataset's order. Loading the result gives the same images stably sorted by
 * label, with the folder names as class names. class_names_or_null, when
 * given, has num_classes entries without '/' (an empty or NULL entry gives
 * just the number). dir is created if missing and must otherwise be empty.
 * Every class must have at least one image (a folder can only hold a class
 * through its images). Each file is written to "<name>.tmp" and renamed. */
rg_status rg_dataset_export_png(const rg_dataset *ds, const char *dir,
                                const char *const *class_names_or_null);

/* Reads one PNG file into c planes of h x w (converting channels as the
 * folder loader does); a different size is refused, or center-cropped when
 * larger and center_crop is set. */
rg_status rg_png_read_image(const char *path, int64_t c, int64_t h, int64_t w, int center_crop,
                            uint8_t *planes);

/* Writes one 8-bit image given as c planes of h x w (c = 1 gray, 3 RGB) to
 * path, through path.tmp and a rename. */
rg_status rg_png_write(const char *path, const uint8_t *planes, int64_t c, int64_t h, int64_t w);

#endif
