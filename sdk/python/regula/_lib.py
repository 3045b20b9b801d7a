"""ctypes mirror of regula/regula.h: structs (same fields, same order) and prototypes.

The library is found, in order, at $REGULA_LIBRARY, next to this package as installed by
`cmake --install` (see _paths.py), or by the dynamic linker (libregula.so.0)."""
import ctypes
import os

try:
    from . import _paths
except ImportError:  # running from the source tree
    _paths = None

PIXELS_U8, PIXELS_F32 = 1, 2
FIELD_TYPES = {1: "int", 2: "number", 3: "bool", 4: "string", 5: "choice", 6: "list"}
RUN_STATES = {0: "ready", 1: "paused", 2: "complete", 3: "failed"}
STATUS = {1: "invalid", 2: "nomem", 3: "io", 4: "format", 5: "version", 6: "plugin",
          7: "numeric", 8: "unsupported"}


class Error(Exception):
    """A failed regula call: .status (e.g. "invalid") and the library's message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = STATUS.get(status, str(status))


c_char_p, c_void_p, c_int, c_int32, c_int64, c_uint32, c_double, c_size_t = (
    ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int32, ctypes.c_int64,
    ctypes.c_uint32, ctypes.c_double, ctypes.c_size_t)

LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class ContextParams(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("threads", c_int), ("plugin_path", c_char_p),
                ("log", LOG_FN), ("log_user", c_void_p)]


class DatasetParams(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("center_crop", c_int), ("channels", c_int)]


class FieldInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("name", c_char_p), ("type", c_int),
                ("default_text", c_char_p), ("min", c_double), ("max", c_double),
                ("choices", c_char_p), ("doc", c_char_p), ("resumable", c_int),
                ("value_name", c_char_p)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("c", c_int64), ("h", c_int64), ("w", c_int64),
                ("num_classes", c_int32), ("parameters", c_int64), ("layers", c_int32),
                ("spec", c_char_p), ("data", c_char_p)]


class Metrics(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("loss", c_double), ("accuracy", c_double),
                ("count", c_int64)]


class BatchInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("epoch", c_int64), ("epochs", c_int64),
                ("batch", c_int64), ("batches", c_int64), ("loss", c_double),
                ("accuracy", c_double), ("seconds", c_double)]


class EpochInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("epoch", c_int64), ("train_loss", c_double),
                ("train_accuracy", c_double), ("train_penalty", c_double),
                ("val_loss", c_double), ("val_accuracy", c_double), ("lr", c_double),
                ("seconds", c_double), ("eval_seconds", c_double)]


BATCH_FN = ctypes.CFUNCTYPE(c_int, c_void_p, ctypes.POINTER(BatchInfo))
EPOCH_FN = ctypes.CFUNCTYPE(c_int, c_void_p, ctypes.POINTER(EpochInfo))


class Callbacks(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("on_batch", BATCH_FN), ("on_epoch", EPOCH_FN),
                ("user", c_void_p)]


class RunResult(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("state", c_int), ("epochs_done", c_int64),
                ("early_stopped", c_int), ("best_epoch", c_int64),
                ("train_examples", c_int64), ("val_examples", c_int64),
                ("test_examples", c_int64), ("train", Metrics), ("val", Metrics),
                ("test", Metrics), ("seconds_per_epoch", c_double)]


P = ctypes.POINTER
_PROTOS = {
    "rg_version": (c_char_p, []),
    "rg_last_error": (c_char_p, []),
    "rg_context_params_init": (None, [P(ContextParams), c_size_t]),
    "rg_context_create": (c_int, [P(ContextParams), P(c_void_p)]),
    "rg_context_destroy": (None, [c_void_p]),
    "rg_context_error": (c_char_p, [c_void_p]),
    "rg_context_threads": (c_int, [c_void_p]),
    "rg_dataset_params_init": (None, [P(DatasetParams), c_size_t]),
    "rg_dataset_open": (c_int, [c_void_p, c_char_p, c_char_p, P(DatasetParams), P(c_void_p)]),
    "rg_dataset_from_memory": (c_int, [c_void_p, c_int64, c_int64, c_int64, c_int64, c_int,
                                       c_void_p, P(c_int32), c_int32, ctypes.c_uint,
                                       P(c_void_p)]),
    "rg_dataset_destroy": (None, [c_void_p]),
    "rg_dataset_shape": (c_int, [c_void_p, P(c_int64), P(c_int64), P(c_int64), P(c_int64),
                                 P(c_int32)]),
    "rg_recipe_field_count": (c_int, []),
    "rg_recipe_field": (c_int, [c_int, P(FieldInfo)]),
    "rg_recipe_create": (c_int, [c_void_p, P(c_void_p)]),
    "rg_recipe_destroy": (None, [c_void_p]),
    "rg_recipe_set": (c_int, [c_void_p, c_char_p, c_char_p]),
    "rg_recipe_get": (c_char_p, [c_void_p, c_char_p]),
    "rg_model_load": (c_int, [c_void_p, c_char_p, P(c_void_p)]),
    "rg_model_destroy": (None, [c_void_p]),
    "rg_model_get_info": (c_int, [c_void_p, P(ModelInfo)]),
    "rg_model_predict": (c_int, [c_void_p, c_void_p, c_int64, c_int64, P(ctypes.c_float)]),
    "rg_model_evaluate": (c_int, [c_void_p, c_void_p, P(Metrics)]),
    "rg_model_export_npz": (c_int, [c_void_p, c_char_p]),
    "rg_callbacks_init": (None, [P(Callbacks), c_size_t]),
    "rg_run_create": (c_int, [c_void_p, c_void_p, P(c_void_p)]),
    "rg_run_create_with_data": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, P(c_void_p)]),
    "rg_run_resume_with_data": (c_int, [c_void_p, c_char_p, c_void_p, c_void_p, c_void_p,
                                        P(c_void_p)]),
    "rg_run_destroy": (None, [c_void_p]),
    "rg_run_fit": (c_int, [c_void_p, P(Callbacks)]),
    "rg_run_request_stop": (None, [c_void_p]),
    "rg_run_get_result": (c_int, [c_void_p, P(RunResult)]),
    "rg_run_get_epoch": (c_int, [c_void_p, c_int64, P(EpochInfo)]),
    "rg_run_recipe": (c_void_p, [c_void_p]),
    "rg_run_model": (c_void_p, [c_void_p]),
    "rg_run_save": (c_int, [c_void_p, c_char_p]),
}

_lib = None


def _candidates():
    env = os.environ.get("REGULA_LIBRARY")
    if env:
        yield env
    if _paths is not None:
        yield os.path.normpath(os.path.join(os.path.dirname(__file__), _paths.LIBDIR_REL,
                                            "libregula.so.0"))
    yield "libregula.so.0"


def lib():
    """The loaded libregula with prototypes set (loaded once)."""
    global _lib
    if _lib is not None:
        return _lib
    errors = []
    for path in _candidates():
        try:
            handle = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    else:
        raise ImportError("regula: cannot load libregula.so.0 (set REGULA_LIBRARY): " +
                          "; ".join(errors))
    for name, (res, args) in _PROTOS.items():
        f = getattr(handle, name)
        f.restype = res
        f.argtypes = args
    _lib = handle
    return _lib


def check(status, ctx):
    if status != 0:
        msg = lib().rg_context_error(ctx) if ctx else lib().rg_last_error()
        raise Error(status, msg.decode() if msg else "error %d" % status)
