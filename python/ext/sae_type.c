/* sae_type.c — saex._lib.SAE (a JumpReLU SAE, saex_sae) and _topk (saex_topk_row).
 *
 * Encoding runs with the GIL released, in chunks of rows so that Ctrl-C
 * (KeyboardInterrupt) is seen between chunks of a long encode. */
#include "ext.h"

#include <stdint.h>

static void close_sae(void *h) { saex_sae_close(h); }
static const handle_kind SAE = {"SAE", close_sae};

static saex_status open_sae(const char *path, void **out) {
    saex_sae *s = NULL;
    saex_status st = saex_sae_open(path, &s);
    *out = s;
    return st;
}

static int sae_init(HandleObject *self, PyObject *args, PyObject *kw) {
    return handle_init_path(self, args, kw, &SAE, open_sae);
}

/* Rows per chunk: about 2^25 multiply-adds (tens of milliseconds). */
static int64_t chunk_rows(int64_t d_in, int64_t d_sae) {
    int64_t work = d_in * d_sae;
    return work >= ((int64_t)1 << 25) ? 1 : ((int64_t)1 << 25) / (work > 0 ? work : 1);
}

/* _encode(x, pre, act): x float32 [n * d_in]; pre / act None or writable
 * float32 [n * d_sae]. The Python layer checks shapes and allocates. */
static PyObject *sae_encode(HandleObject *self, PyObject *args) {
    PyObject *x_obj, *pre_obj, *act_obj;
    if (!PyArg_ParseTuple(args, "OOO:_encode", &x_obj, &pre_obj, &act_obj)) return NULL;
    saex_sae *sae = handle_get(self);
    if (!sae) return NULL;
    int64_t d_in = saex_sae_d_in(sae), d_sae = saex_sae_d_sae(sae);
    Py_buffer x, pre = {0}, act = {0};
    if (ext_get_buffer(x_obj, &x, 'f', 0, -1, "encode: x") < 0) return NULL;
    int64_t n = (int64_t)(x.len / 4) / d_in;
    PyObject *ok = NULL;
    if (n * d_in * 4 != x.len) {
        ext_raise_fmt(SAEX_ERR_MISMATCH, "encode: x has %zd values, not a multiple of the SAE's d_in %d (%S)", x.len / 4,
                      (int)d_in, self->path);
        goto done;
    }
    if ((pre_obj != Py_None && ext_get_buffer(pre_obj, &pre, 'f', 1, (Py_ssize_t)(n * d_sae), "encode: pre") < 0) ||
        (act_obj != Py_None && ext_get_buffer(act_obj, &act, 'f', 1, (Py_ssize_t)(n * d_sae), "encode: act") < 0))
        goto done;
    int64_t step = chunk_rows(d_in, d_sae);
    saex_status st = SAEX_OK;
    HANDLE_ENTER(self);
    for (int64_t r = 0; r < n && !st; r += step) {
        int64_t m = n - r < step ? n - r : step;
        const float *xr = (const float *)x.buf + r * d_in;
        float *pr = pre.obj ? (float *)pre.buf + r * d_sae : NULL;
        float *ar = act.obj ? (float *)act.buf + r * d_sae : NULL;
        Py_BEGIN_ALLOW_THREADS
        st = saex_sae_encode(sae, xr, m, pr, ar);
        Py_END_ALLOW_THREADS
        if (!st && PyErr_CheckSignals() < 0) break;
    }
    HANDLE_LEAVE(self);
    if (st) ext_raise(st);
    else if (!PyErr_Occurred()) ok = Py_None;
done:
    PyBuffer_Release(&x);
    if (pre.obj) PyBuffer_Release(&pre);
    if (act.obj) PyBuffer_Release(&act);
    Py_XINCREF(ok);
    return ok;
}

static PyObject *get_d_in(HandleObject *self, void *c) {
    saex_sae *sae = handle_get(self);
    return sae ? PyLong_FromLong(saex_sae_d_in(sae)) : NULL;
}

static PyObject *get_d_sae(HandleObject *self, void *c) {
    saex_sae *sae = handle_get(self);
    return sae ? PyLong_FromLong(saex_sae_d_sae(sae)) : NULL;
}

static PyObject *get_layer(HandleObject *self, void *c) {
    saex_sae *sae = handle_get(self);
    if (!sae) return NULL;
    int layer = saex_sae_layer(sae);
    if (layer < 0) Py_RETURN_NONE;
    return PyLong_FromLong(layer);
}

static PyMethodDef sae_methods[] = {
    {"_encode", (PyCFunction)sae_encode, METH_VARARGS,
     "_encode($self, x, pre, act, /)\n--\n\nsaex_sae_encode of float32 buffers (pre / act may be None)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sae_getset[] = {
    {"d_in", (getter)get_d_in, NULL, "Width of the residual rows it encodes (the model's d_model).", NULL},
    {"d_sae", (getter)get_d_sae, NULL, "Number of features.", NULL},
    {"layer", (getter)get_layer, NULL, "The layer its files say it was trained on, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject ext_sae_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib.SAE",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "SAE(path)\n--\n\nA Gemma Scope / SAELens JumpReLU SAE (native part of saex.SAE).",
    .tp_methods = sae_methods,
    .tp_getset = sae_getset,
    .tp_init = (initproc)sae_init,
    .tp_base = &ext_handle_type,
};

/* ------------------------------------------------------------------ top-k */

/* _topk(act, d_sae, k, ids, values, n_active): act float32 [n * d_sae];
 * writes ids int32 [n * k] (-1 padded), values float32 [n * k] (0 padded),
 * n_active int64 [n]. */
static PyObject *fn_topk(PyObject *m, PyObject *args) {
    PyObject *act_obj, *ids_obj, *val_obj, *na_obj;
    Py_ssize_t d_sae;
    int k;
    if (!PyArg_ParseTuple(args, "OniOOO:_topk", &act_obj, &d_sae, &k, &ids_obj, &val_obj, &na_obj)) return NULL;
    if (d_sae < 1 || k < 1 || k > d_sae)
        return ext_raise_fmt(SAEX_ERR_ARG, "topk: k = %d must be in 1..%zd (the number of features)", k, d_sae);
    Py_buffer act, ids = {0}, val = {0}, na = {0};
    if (ext_get_buffer(act_obj, &act, 'f', 0, -1, "topk: act") < 0) return NULL;
    Py_ssize_t n = act.len / 4 / d_sae;
    PyObject *ok = NULL;
    saex_feature *tmp = NULL;
    if (n * d_sae * 4 != act.len) {
        ext_raise_fmt(SAEX_ERR_MISMATCH, "topk: act has %zd values, not a multiple of d_sae %zd", act.len / 4, d_sae);
        goto done;
    }
    if (ext_get_buffer(ids_obj, &ids, 'i', 1, n * k, "topk: ids") < 0 ||
        ext_get_buffer(val_obj, &val, 'f', 1, n * k, "topk: values") < 0 ||
        ext_get_buffer(na_obj, &na, 'q', 1, n, "topk: n_active") < 0)
        goto done;
    tmp = PyMem_RawMalloc((size_t)k * sizeof *tmp);
    if (!tmp) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n; r++) {
        int64_t n_active;
        int got = saex_topk_row((const float *)act.buf + r * d_sae, d_sae, k, tmp, &n_active);
        int32_t *ri = (int32_t *)ids.buf + r * k;
        float *rv = (float *)val.buf + r * k;
        for (int j = 0; j < k; j++) {
            ri[j] = j < got ? tmp[j].id : -1;
            rv[j] = j < got ? tmp[j].activation : 0.0f;
        }
        ((int64_t *)na.buf)[r] = n_active;
    }
    Py_END_ALLOW_THREADS
    ok = Py_None;
done:
    PyMem_RawFree(tmp);
    PyBuffer_Release(&act);
    if (ids.obj) PyBuffer_Release(&ids);
    if (val.obj) PyBuffer_Release(&val);
    if (na.obj) PyBuffer_Release(&na);
    Py_XINCREF(ok);
    return ok;
}

PyMethodDef ext_sae_functions[] = {
    {"_topk", fn_topk, METH_VARARGS,
     "_topk(act, d_sae, k, ids, values, n_active, /)\n--\n\nsaex_topk_row over the rows of act, padded to k."},
    {NULL, NULL, 0, NULL},
};
