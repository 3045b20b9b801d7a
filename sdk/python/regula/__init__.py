"""regula for Python: the embedding API of libregula through ctypes.

    import regula
    ctx = regula.Context(threads=2)
    train = regula.Dataset.from_arrays(ctx, x_train, y_train)   # NumPy arrays or lists
    test = regula.Dataset.from_arrays(ctx, x_test, y_test)
    run = regula.Run(ctx, train=train, test=test, model="mlp:64", epochs=3,
                     reg=["l2:lambda=1e-4"])
    run.fit(on_epoch=lambda e: print(e["epoch"], e["val_accuracy"]))
    print(run.result()["test"]["accuracy"])
    probs = run.predict(x_test[:5])
    run.save("run.ckpt")

Keyword arguments of Run are the recipe's fields (regula.fields() lists them with their
docs; `regula train --help` shows the same table as flags). Errors raise regula.Error with
the library's message. Only the standard library is needed; NumPy arrays are accepted
(and returned by predict) when NumPy is installed.
"""
import ctypes
import os

from . import _lib
from ._lib import Error

__all__ = ["Context", "Dataset", "Run", "Model", "Error", "fields", "version"]

try:
    import numpy as _np
except ImportError:  # pragma: no cover - NumPy is optional
    _np = None


def version():
    """The library's version string, e.g. "0.2.0"."""
    return _lib.lib().rg_version().decode()


def fields():
    """The recipe's fields: a list of dicts (name, type, default, min, max, choices, doc,
    resumable)."""
    out = []
    lib = _lib.lib()
    for i in range(lib.rg_recipe_field_count()):
        f = _lib.FieldInfo()
        f.struct_size = ctypes.sizeof(f)
        _lib.check(lib.rg_recipe_field(i, ctypes.byref(f)), None)
        out.append({
            "name": f.name.decode(), "type": _lib.FIELD_TYPES.get(f.type, "?"),
            "default": f.default_text.decode(), "min": f.min, "max": f.max,
            "choices": f.choices.decode().split("|") if f.choices else None,
            "doc": f.doc.decode(), "resumable": bool(f.resumable)})
    return out


class Context:
    """Threads, plugin search path and in-process plugins of one embedding; the owner of
    every other object (keep it alive while they are used)."""

    def __init__(self, threads=0, plugin_path=None):
        lib = _lib.lib()
        p = _lib.ContextParams()
        lib.rg_context_params_init(ctypes.byref(p), ctypes.sizeof(p))
        p.threads = int(threads)
        if plugin_path is not None:
            if not isinstance(plugin_path, str):
                plugin_path = ":".join(os.fspath(d) for d in plugin_path)
            self._plugin_path = plugin_path.encode()
            p.plugin_path = self._plugin_path
        h = ctypes.c_void_p()
        st = lib.rg_context_create(ctypes.byref(p), ctypes.byref(h))
        if st != 0:
            raise Error(st, lib.rg_last_error().decode())
        self._h = h

    @property
    def threads(self):
        return _lib.lib().rg_context_threads(self._h)

    def _check(self, st):
        _lib.check(st, self._h)

    def close(self):
        if getattr(self, "_h", None):
            _lib.lib().rg_context_destroy(self._h)
            self._h = None

    def __del__(self):
        self.close()


def _as_images(x):
    """(flat float32 or uint8 buffer, shape n,c,h,w, pixel type) of images given as a
    NumPy array or nested lists of shape (n,c,h,w), (n,h,w) or (n,features)."""
    if _np is not None and isinstance(x, _np.ndarray):
        a = x
        if a.dtype == _np.uint8:
            kind = _lib.PIXELS_U8
        else:
            a = a.astype(_np.float32, copy=False)
            kind = _lib.PIXELS_F32
        a = _np.ascontiguousarray(a)
        shape = a.shape
        if len(shape) == 2:
            shape = (shape[0], 1, 1, shape[1])
        elif len(shape) == 3:
            shape = (shape[0], 1, shape[1], shape[2])
        elif len(shape) != 4:
            raise ValueError("images: expected 2 to 4 dimensions, got shape %r" % (a.shape,))
        return a, a.ctypes.data_as(ctypes.c_void_p), shape, kind
    flat, shape = _flatten(x)
    if len(shape) == 2:
        shape = (shape[0], 1, 1, shape[1])
    elif len(shape) == 3:
        shape = (shape[0], 1, shape[1], shape[2])
    elif len(shape) != 4:
        raise ValueError("images: expected 2 to 4 nested levels, got shape %r" % (shape,))
    buf = (ctypes.c_float * len(flat))(*flat)
    return buf, ctypes.cast(buf, ctypes.c_void_p), shape, _lib.PIXELS_F32


def _flatten(x):
    shape = []
    level = x
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        level = level[0] if level else None
    flat = []

    def walk(v, depth):
        if depth == len(shape):
            flat.append(float(v))
            return
        if len(v) != shape[depth]:
            raise ValueError("images: ragged nested lists")
        for item in v:
            walk(item, depth + 1)
    walk(x, 0)
    return flat, tuple(shape)


class Dataset:
    """Labelled images: from arrays in memory (copied) or a named source."""

    def __init__(self, ctx, handle, keep=None):
        self.ctx, self._h, self._keep = ctx, handle, keep

    @classmethod
    def from_arrays(cls, ctx, images, labels, num_classes=0):
        """images: (n,c,h,w), (n,h,w) or (n,features); uint8 (scaled by 1/255) or float
        (read as given); labels: n integers in [0, num_classes)."""
        keep, ptr, shape, kind = _as_images(images)
        labels = list(int(v) for v in labels)
        if len(labels) != shape[0]:
            raise ValueError("%d labels for %d images" % (len(labels), shape[0]))
        lab = (ctypes.c_int32 * len(labels))(*labels)
        h = ctypes.c_void_p()
        ctx._check(_lib.lib().rg_dataset_from_memory(
            ctx._h, shape[0], shape[1], shape[2], shape[3], kind, ptr, lab, int(num_classes),
            0, ctypes.byref(h)))
        return cls(ctx, h)

    @classmethod
    def open(cls, ctx, source, part="train", center_crop=False):
        """source: "fashion-mnist", "idx:DIR", "png:DIR" or "csv:DIR"; part: "train" or
        "test"."""
        p = _lib.DatasetParams()
        _lib.lib().rg_dataset_params_init(ctypes.byref(p), ctypes.sizeof(p))
        p.center_crop = 1 if center_crop else 0
        h = ctypes.c_void_p()
        ctx._check(_lib.lib().rg_dataset_open(ctx._h, source.encode(), part.encode(),
                                              ctypes.byref(p), ctypes.byref(h)))
        return cls(ctx, h)

    @property
    def shape(self):
        """(n, c, h, w, num_classes)"""
        v = [ctypes.c_int64() for _ in range(4)]
        k = ctypes.c_int32()
        _lib.lib().rg_dataset_shape(self._h, *[ctypes.byref(a) for a in v], ctypes.byref(k))
        return tuple(a.value for a in v) + (k.value,)

    def __len__(self):
        return self.shape[0]

    def close(self):
        if getattr(self, "_h", None):
            _lib.lib().rg_dataset_destroy(self._h)
            self._h = None

    def __del__(self):
        self.close()


def _recipe(ctx, kwargs):
    lib = _lib.lib()
    h = ctypes.c_void_p()
    ctx._check(lib.rg_recipe_create(ctx._h, ctypes.byref(h)))
    try:
        for key, value in kwargs.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if isinstance(v, bool):
                    v = "true" if v else "false"
                elif isinstance(v, float):
                    v = repr(v)
                elif isinstance(v, (list, tuple)):  # an aug one-of group
                    key_, v = "aug_oneof", ";".join(v)
                    ctx._check(lib.rg_recipe_set(h, key_.encode(), v.encode()))
                    continue
                ctx._check(lib.rg_recipe_set(h, key.encode(), str(v).encode()))
    except Exception:
        lib.rg_recipe_destroy(h)
        raise
    return h


def _metrics(m):
    return {"loss": m.loss, "accuracy": m.accuracy, "count": m.count}


def _probs(flat, n, k):
    if _np is not None:
        return _np.ctypeslib.as_array(flat).reshape(n, k).copy()
    return [list(flat[i * k:(i + 1) * k]) for i in range(n)]


class _Predicts:
    def _model(self):
        raise NotImplementedError

    def info(self):
        """input shape, classes, parameter count, spec and data source of the model."""
        i = _lib.ModelInfo()
        i.struct_size = ctypes.sizeof(i)
        self.ctx._check(_lib.lib().rg_model_get_info(self._model(), ctypes.byref(i)))
        return {"c": i.c, "h": i.h, "w": i.w, "num_classes": i.num_classes,
                "parameters": i.parameters, "layers": i.layers, "spec": i.spec.decode(),
                "data": i.data.decode()}

    def predict(self, images):
        """Class probabilities (n x classes) of images scaled as the network reads them
        (uint8 arrays are divided by 255)."""
        keep, ptr, shape, kind = _as_images(images)
        n, per = shape[0], shape[1] * shape[2] * shape[3]
        if kind == _lib.PIXELS_U8:
            keep = (_np.asarray(images, dtype=_np.float32) / 255.0).astype(_np.float32)
            keep = _np.ascontiguousarray(keep)
            ptr = keep.ctypes.data_as(ctypes.c_void_p)
        k = self.info()["num_classes"]
        out = (ctypes.c_float * (n * k))()
        self.ctx._check(_lib.lib().rg_model_predict(self._model(), ptr, n, per, out))
        return _probs(out, n, k)

    def evaluate(self, dataset):
        """{"loss", "accuracy", "count"} in eval mode."""
        m = _lib.Metrics()
        m.struct_size = ctypes.sizeof(m)
        self.ctx._check(_lib.lib().rg_model_evaluate(self._model(), dataset._h,
                                                     ctypes.byref(m)))
        return _metrics(m)

    def export_npz(self, path):
        """Every parameter and buffer as a .npz (numpy.load reads it), PyTorch layouts."""
        self.ctx._check(_lib.lib().rg_model_export_npz(self._model(), os.fsencode(path)))


class Run(_Predicts):
    """A training run: a recipe (keyword arguments) on datasets.

    train/test: Dataset objects (borrowed: keep them alive), or None to open the recipe's
    `data` source."""

    def __init__(self, ctx, train=None, test=None, _handle=None, **recipe):
        self.ctx, self._train, self._test = ctx, train, test
        if _handle is not None:
            self._h = _handle
            return
        lib = _lib.lib()
        r = _recipe(ctx, recipe)
        h = ctypes.c_void_p()
        try:
            if train is None:
                st = lib.rg_run_create(ctx._h, r, ctypes.byref(h))
            else:
                st = lib.rg_run_create_with_data(ctx._h, r, train._h,
                                                 test._h if test is not None else None,
                                                 ctypes.byref(h))
            ctx._check(st)
        finally:
            lib.rg_recipe_destroy(r)
        self._h = h

    @classmethod
    def resume(cls, ctx, path, train=None, test=None, **recipe):
        """Continues the run saved in path; keyword arguments may only change resumable
        fields (epochs, threads, save, metrics, summary, stop_after, stop_at_epoch)."""
        lib = _lib.lib()
        r = _recipe(ctx, recipe)
        h = ctypes.c_void_p()
        try:
            ctx._check(lib.rg_run_resume_with_data(
                ctx._h, os.fsencode(path), r, train._h if train is not None else None,
                test._h if test is not None else None, ctypes.byref(h)))
        finally:
            lib.rg_recipe_destroy(r)
        return cls(ctx, train, test, _handle=h)

    def _model(self):
        return _lib.lib().rg_run_model(self._h)

    def fit(self, on_epoch=None, on_batch=None):
        """Trains to the end of the recipe (or stop_after); the callbacks get dicts and may
        return True to stop cleanly."""
        lib = _lib.lib()
        cb = _lib.Callbacks()
        lib.rg_callbacks_init(ctypes.byref(cb), ctypes.sizeof(cb))
        errors = []

        def batch(_user, info):
            try:
                b = info.contents
                return 1 if on_batch({"epoch": b.epoch, "epochs": b.epochs, "batch": b.batch,
                                      "batches": b.batches, "loss": b.loss,
                                      "accuracy": b.accuracy, "seconds": b.seconds}) else 0
            except BaseException as e:  # never let an exception cross into C
                errors.append(e)
                return 1

        def epoch(_user, info):
            try:
                e = info.contents
                return 1 if on_epoch({name: getattr(e, name) for name, _ in e._fields_[1:]}) else 0
            except BaseException as ex:
                errors.append(ex)
                return 1
        if on_batch is not None:
            cb.on_batch = _lib.BATCH_FN(batch)
        if on_epoch is not None:
            cb.on_epoch = _lib.EPOCH_FN(epoch)
        self.ctx._check(lib.rg_run_fit(self._h, ctypes.byref(cb)))
        if errors:
            raise errors[0]
        return self.result()

    def result(self):
        """state, epochs_done, early_stopped, best_epoch, examples and train/val/test
        metrics."""
        r = _lib.RunResult()
        r.struct_size = ctypes.sizeof(r)
        self.ctx._check(_lib.lib().rg_run_get_result(self._h, ctypes.byref(r)))
        return {"state": _lib.RUN_STATES.get(r.state, "?"), "epochs_done": r.epochs_done,
                "early_stopped": bool(r.early_stopped), "best_epoch": r.best_epoch,
                "train_examples": r.train_examples, "val_examples": r.val_examples,
                "test_examples": r.test_examples, "train": _metrics(r.train),
                "val": _metrics(r.val), "test": _metrics(r.test),
                "seconds_per_epoch": r.seconds_per_epoch}

    def history(self):
        """One dict per epoch done."""
        out = []
        for e in range(1, self.result()["epochs_done"] + 1):
            info = _lib.EpochInfo()
            info.struct_size = ctypes.sizeof(info)
            self.ctx._check(_lib.lib().rg_run_get_epoch(self._h, e, ctypes.byref(info)))
            out.append({name: getattr(info, name) for name, _ in info._fields_[1:]})
        return out

    def recipe(self, field):
        """The effective value of a recipe field, as text."""
        v = _lib.lib().rg_recipe_get(_lib.lib().rg_run_recipe(self._h), field.encode())
        if v is None:
            raise KeyError(field)
        return v.decode()

    def save(self, path):
        self.ctx._check(_lib.lib().rg_run_save(self._h, os.fsencode(path)))

    def stop(self):
        """Asks a fit in progress (e.g. on another thread) to stop after its batch."""
        _lib.lib().rg_run_request_stop(self._h)

    def close(self):
        if getattr(self, "_h", None):
            _lib.lib().rg_run_destroy(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Model(_Predicts):
    """The trained model of a checkpoint, for evaluation and prediction only."""

    def __init__(self, ctx, path):
        self.ctx = ctx
        h = ctypes.c_void_p()
        ctx._check(_lib.lib().rg_model_load(ctx._h, os.fsencode(path), ctypes.byref(h)))
        self._h = h

    def _model(self):
        return self._h

    def close(self):
        if getattr(self, "_h", None):
            _lib.lib().rg_model_destroy(self._h)
            self._h = None

    def __del__(self):
        self.close()
