#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<name>/ (small valid and near-valid
inputs for each harness; see the input format at the top of each fuzz_<name>.c).

    python3 tests/fuzz/make_corpus.py [OUT_DIR]     default: tests/fuzz/corpus

corpus/elf/l2.so is not written here: it is a stripped copy of a built stock plugin
(strip -o tests/fuzz/corpus/elf/l2.so build-fuzz/lib/regula/plugins/l2.so)."""
import gzip
import json
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(name, fname, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---- idx: u16le len | images | labels ------------------------------------------
def idx_images(n, r, c, fill=lambda i: i % 256):
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, r, c) + bytes(fill(i) for i in range(n * r * c))


def idx_labels(n, labels=None):
    labels = labels if labels is not None else [i % 10 for i in range(n)]
    return struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels)


def idx_input(img, lab):
    return struct.pack("<H", len(img)) + img + lab


put("idx", "valid_2x3x4", idx_input(idx_images(2, 3, 4), idx_labels(2, [3, 7])))
put("idx", "valid_1x1x1", idx_input(idx_images(1, 1, 1), idx_labels(1, [0])))
put("idx", "valid_gz", idx_input(gz(idx_images(3, 4, 4)), gz(idx_labels(3))))
put("idx", "valid_gz_images_raw_labels", idx_input(gz(idx_images(2, 2, 2)), idx_labels(2)))
put("idx", "count_mismatch", idx_input(idx_images(2, 2, 2), idx_labels(3)))
put("idx", "truncated_body", idx_input(idx_images(2, 3, 3)[:-4], idx_labels(2)))
put("idx", "trailing_byte", idx_input(idx_images(1, 2, 2) + b"\x00", idx_labels(1)))
put("idx", "float_type", idx_input(b"\x00\x00\x0d\x03" + idx_images(1, 1, 1)[4:], idx_labels(1)))
put("idx", "truncated_gz", idx_input(gz(idx_images(2, 8, 8))[:-6], gz(idx_labels(2))))


# ---- png: one file; last byte's bits pick channels / crop ------------------------
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, depth, color, rows, plte=None, trns=None, interlace=0):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0,
                                                             interlace))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns:
        out += chunk(b"tRNS", trns)
    if interlace:  # Adam7: the 8-bit rows given (bpp bytes a pixel) split into 7 passes
        bpp = len(rows[0]) // w
        raw = b""
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            if x0 >= w or y0 >= h:
                continue
            for y in range(y0, h, dy):
                raw += b"\x00" + b"".join(rows[y][x * bpp:(x + 1) * bpp] for x in range(x0, w, dx))
    else:
        raw = b"".join(b"\x00" + r for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


put("png", "gray8_1x1.png", png(1, 1, 8, 0, [b"\x80"]))
put("png", "gray8_4x3.png", png(4, 3, 8, 0, [bytes(range(y * 4, y * 4 + 4)) for y in range(3)]))
put("png", "rgb8_3x2.png", png(3, 2, 8, 2, [bytes(range(9)), bytes(range(9, 18))]))
put("png", "rgba8_2x2.png", png(2, 2, 8, 6, [bytes(range(8)), bytes(range(8, 16))]))
put("png", "graya16_2x1.png", png(2, 1, 16, 4, [bytes(range(8))]))
put("png", "gray16_2x2.png", png(2, 2, 16, 0, [b"\xff\xff\x00\x01", b"\x80\x00\x12\x34"]))
put("png", "gray1_8x2.png", png(8, 2, 1, 0, [b"\xa5", b"\x3c"]))
put("png", "gray4_3x1.png", png(3, 1, 4, 0, [b"\x1f\x80"]))
put("png", "palette_2x2.png", png(2, 2, 8, 3, [b"\x00\x01", b"\x02\x00"],
                                  plte=b"\xff\x00\x00\x00\xff\x00\x00\x00\xff",
                                  trns=b"\x80"))
put("png", "palette2_4x1.png", png(4, 1, 2, 3, [b"\x1b"], plte=b"\x00" * 3 + b"\x40" * 3 + b"\x80" * 3 + b"\xff" * 3))
put("png", "interlaced_rgb_5x5.png", png(5, 5, 8, 2, [bytes(range(y, y + 15)) for y in range(5)],
                                         interlace=1))
full = png(4, 4, 8, 2, [bytes(range(12))] * 4)
put("png", "truncated.png", full[:-20])
put("png", "bad_idat_crc.png", full[:-13] + b"\x00" + full[-12:])
put("png", "not_png.png", b"GIF89a\x01\x00\x01\x00")

# ---- csv: optional mode byte (< 0x10) then the file --------------------------------
put("csv", "header_2x2.csv", "label,p0,p1,p2,p3\n0,0,255,1,2\n3,4,5,6,7\n")
put("csv", "noheader_1x1.csv", "1,200\n0,17\n9,3")
put("csv", "bom_crlf.csv", b"\xef\xbb\xbflabel,a,b,c,d\r\n2, 1 ,\t2,3,4\r\n\r\n")
put("csv", "explicit_2x3.csv", b"\x06" + b"1,1,2,3,4,5,6\n0,6,5,4,3,2,1\n")
put("csv", "explicit_1x1.csv", b"\x00" + b"4,9\n")
put("csv", "bad_label.csv", "-1,0,0,0,0\n")
put("csv", "bad_pixel.csv", "0,0,256,0,0\n")
put("csv", "ragged.csv", "0,1,2,3,4\n1,1,2,3\n")
put("csv", "blank_middle.csv", "0,1,2,3,4\n\n1,1,2,3,4\n")
put("csv", "not_square.csv", "0,1,2,3\n")


# ---- checkpoint --------------------------------------------------------------------
def ckpt(meta, config, tensors, magic=b"RGCKPT02"):
    body = magic + struct.pack("<I", len(meta)) + meta + struct.pack("<I", len(config)) + config
    body += struct.pack("<I", len(tensors))
    for name, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        body += struct.pack("<I", len(name)) + name + struct.pack("<I", len(shape))
        body += b"".join(struct.pack("<q", s) for s in shape)
        body += b"".join(struct.pack("<f", 0.25 * i) for i in range(n))
    return body + struct.pack("<I", zlib.crc32(body))


meta = json.dumps({"model": "mlp:4", "seed": 1, "plugins": [{"name": "l2", "version": "1.0"}]},
                  separators=(",", ":")).encode()
config = b"epoch=3\nmodel=mlp:4\nlr=0.05\n"
good = ckpt(meta, config, [(b"dense1.weight", [4, 3]), (b"dense1.bias", [4]),
                           (b"bn.running_mean", [2, 1, 1, 2]), (b"scalar", [])])
put("checkpoint", "two_layers.ckpt", good)
put("checkpoint", "empty.ckpt", ckpt(b"{}", b"", []))
put("checkpoint", "zero_dim.ckpt", ckpt(b"{}", b"x=1", [(b"w", [0, 5])]))
put("checkpoint", "bad_crc.ckpt", good[:-1] + bytes([good[-1] ^ 1]))
put("checkpoint", "truncated.ckpt", good[:40])
put("checkpoint", "old_magic.ckpt", ckpt(b"{}", b"", [], magic=b"RGCKPT01"))
put("checkpoint", "five_dims.ckpt", ckpt(b"{}", b"", [(b"w", [1, 1, 1, 1, 1])]))

# ---- model spec ------------------------------------------------------------------------
for i, s in enumerate(["mlp:512,256", "mlp:1", "mlp:", "mlp:10,,", "dense:10",
                       "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10",
                       "conv:8:5:2:1,batchnorm,relu,avgpool:3:1,gap,dense:0",
                       "conv:4:3:1,relu,maxpool:2:2,flatten,dense:1000000",
                       "relu,relu,relu", "conv:0:3", "maxpool:0", "unknown:1", ",dense:1"]):
    put("model_spec", "spec%02d" % i, s)

# ---- params: byte % 3 picks l2 / l1 / cutout, then "k=v,..." ----------------------------
for i, s in enumerate([b"\x00", b"\x00lambda=1e-3", b"\x00lambda=0.5,convention=keras",
                       b"\x00layers=dense*|conv?,tensors=weights|biases,after=relu*",
                       b"\x00tensors=all,lambda=1", b"\x00lambda=2", b"\x00convention=x",
                       b"\x00lambda=1,lambda=2", b"\x00lambda=0.1,",
                       b"\x01proximal=true,lambda=0.01", b"\x01proximal=maybe",
                       b"\x02size=4", b"\x02size=4.5", b"\x02size=-1", b"\x02bogus=1"]):
    put("params", "spec%02d" % i, s)

# ---- recipe JSON -------------------------------------------------------------------------
put("recipe", "empty.json", "{}")
put("recipe", "basic.json", json.dumps({"model": "mlp:64", "epochs": 2, "batch": 32, "lr": 0.1,
                                        "optimizer": "adam", "seed": 7, "nesterov": True}))
put("recipe", "plugins.json", json.dumps({"reg": ["l2:lambda=1e-4", "dropout:p=0.2"],
                                          "aug": ["hflip", ["cutout:size=4", "random_crop"]]}))
put("recipe", "alias_field.json", json.dumps({"aug_oneof": ["vflip;rotate"]}))
put("recipe", "schedule.json", json.dumps({"lr_schedule": "cosine", "lr_gamma": 0.5,
                                           "lr_milestones": "3,6", "warmup_epochs": 1,
                                           "early_stop": "val_loss", "patience": 2,
                                           "min_delta": 1e-4, "val": 0.2, "test": False,
                                           "momentum": 0.999999, "min_lr": 0}))
put("recipe", "bad_type.json", '{"epochs": "ten"}')
put("recipe", "unknown_field.json", '{"epochz": 1}')
put("recipe", "duplicate.json", '{"seed": 1, "seed": 2}')
put("recipe", "syntax.json", '{"model": "mlp:4",')
put("recipe", "out_of_range.json", '{"batch": 0}')
put("recipe", "overflow.json", '{"lr": 1e400}')
put("recipe", "strings.json", json.dumps({"data": "csv:/tmp/x.csv", "save": "out.ckpt",
                                          "metrics": "m.jsonl", "summary": "", "lr": "",
                                          "center_crop": True, "threads": 2, "stop_after": 1}))


# ---- elf: a minimal x86-64 ET_DYN with one PT_LOAD and one PT_DYNAMIC, and variants ------
def elf(e_type=3, machine=62, phnum=2, phentsize=56, cls=2, data=1, cut=None, load_filesz=None):
    ehsize, phoff = 64, 64
    total = phoff + phnum * 56 + 16
    eh = b"\x7fELF" + bytes([cls, data, 1, 0]) + b"\x00" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, 0, phoff, 0, 0, ehsize, phentsize,
                      phnum, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, total if load_filesz is None else load_filesz,
                     total, 0x1000)
    if phnum > 1:
        ph += struct.pack("<IIQQQQQQ", 2, 6, total - 16, total - 16, total - 16, 16, 16, 8)
    out = eh + ph + b"\x00" * 16
    return out[:cut] if cut is not None else out


put("elf", "minimal.so", elf())
put("elf", "exec.so", elf(e_type=2))
put("elf", "relocatable.o", elf(e_type=1))
put("elf", "aarch64.so", elf(machine=183))
put("elf", "elf32.so", elf(cls=1))
put("elf", "big_endian.so", elf(data=2))
put("elf", "no_dynamic.so", elf(phnum=1))
put("elf", "cut_phdrs.so", elf(cut=100))
put("elf", "cut_header.so", elf(cut=40))
put("elf", "load_past_end.so", elf(load_filesz=4096))
put("elf", "script.so", "#!/bin/sh\necho not a plugin\n")
