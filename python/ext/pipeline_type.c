/* pipeline_type.c — saex._lib.Doc, Extractor and Results, and extract():
 * libsaex's extraction pipeline (saex_doc_*, saex_extractor_*, saex_extract,
 * saex_results_*, saex_write_output), the code `saex extract` runs.
 *
 * Long calls run with the GIL released. libsaex asks between batches (and
 * between download blocks) whether to stop: that callback takes the GIL,
 * runs Python's pending signal handlers, and a KeyboardInterrupt they raise
 * stops the call after the batch in flight; the exception is re-raised when
 * the call returns, and every object stays usable. */
#include "ext.h"

#include <string.h>

/* ------------------------------------------------------------ events */

typedef struct {
    PyObject *progress;     /* callable(what, item, done, total, done_tokens, total_tokens, finished) or None */
    PyObject *exc[3];       /* an exception raised inside a callback, re-raised after the call */
    saex_events ev;
} py_events;

static void keep_exception(py_events *e) {
    if (!e->exc[0]) PyErr_Fetch(&e->exc[0], &e->exc[1], &e->exc[2]);
    else PyErr_Clear();
}

static int ev_should_stop(void *ctx) {
    py_events *e = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    if (!e->exc[0] && PyErr_CheckSignals() < 0) keep_exception(e);
    int stop = e->exc[0] != NULL;
    PyGILState_Release(g);
    return stop;
}

static void ev_progress(void *ctx, const saex_progress *p) {
    py_events *e = ctx;
    if (e->progress == Py_None || e->exc[0]) return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(e->progress, "szLLLLi", p->what, p->item, (long long)p->done,
                                        (long long)p->total, (long long)p->done_tokens,
                                        (long long)p->total_tokens, p->finished);
    if (r) Py_DECREF(r);
    else keep_exception(e);
    PyGILState_Release(g);
}

static void events_init(py_events *e, PyObject *progress) {
    memset(e, 0, sizeof *e);
    e->progress = progress ? progress : Py_None;
    e->ev.should_stop = ev_should_stop;
    e->ev.progress = ev_progress;
    e->ev.ctx = e;
}

/* After the call (GIL held): the callback's exception wins over the status. */
static PyObject *events_finish(py_events *e, saex_status st) {
    if (e->exc[0]) {
        PyErr_Restore(e->exc[0], e->exc[1], e->exc[2]);
        memset(e->exc, 0, sizeof e->exc);
        return NULL;
    }
    if (st) return ext_raise(st);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ Doc */

static void close_doc(void *h) { saex_doc_close(h); }
static const handle_kind DOC = {"Doc", close_doc};

static saex_status open_doc(const char *path, void **out) {
    saex_doc *d = NULL;
    saex_status st = saex_doc_load(path, &d);
    *out = d;
    return st;
}

static int doc_init(HandleObject *self, PyObject *args, PyObject *kw) {
    return handle_init_path(self, args, kw, &DOC, open_doc);
}

/* Doc.parse(name, data): a document from bytes; name is what messages call it. */
static PyObject *doc_parse(PyTypeObject *type, PyObject *args) {
    const char *name;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "sy*:parse", &name, &data)) return NULL;
    saex_doc *d = NULL;
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = saex_doc_parse(name, data.buf, (size_t)data.len, &d);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (st) return ext_raise(st);
    HandleObject *o = (HandleObject *)type->tp_alloc(type, 0);
    if (!o) {
        saex_doc_close(d);
        return NULL;
    }
    o->h = d, o->kind = &DOC;
    return (PyObject *)o;
}

static PyObject *doc_n_samples(HandleObject *self, PyObject *noargs) {
    saex_doc *d = handle_get(self);
    return d ? PyLong_FromLongLong(saex_doc_n_samples(d)) : NULL;
}

static PyObject *doc_form(HandleObject *self, PyObject *noargs) {
    saex_doc *d = handle_get(self);
    return d ? PyUnicode_FromString(saex_doc_form_name(saex_doc_form_of(d))) : NULL;
}

static PyObject *text_result(saex_status st, char *json, size_t len) {
    if (st) return ext_raise(st);
    PyObject *s = PyUnicode_DecodeUTF8(json, (Py_ssize_t)len, "surrogateescape");
    saex_free(json);
    return s;
}

static PyObject *doc_sample_json(HandleObject *self, PyObject *arg) {
    saex_doc *d = handle_get(self);
    long long i = PyLong_AsLongLong(arg);
    if (!d || (i == -1 && PyErr_Occurred())) return NULL;
    if (i < 0 || i >= saex_doc_n_samples(d)) return PyErr_Format(PyExc_IndexError, "sample %lld of %lld", i, (long long)saex_doc_n_samples(d));
    char *json = NULL;
    size_t len = 0;
    saex_status st = saex_doc_sample_json(d, i, &json, &len);
    return text_result(st, json, len);
}

static PyMethodDef doc_methods[] = {
    {"parse", (PyCFunction)doc_parse, METH_VARARGS | METH_CLASS,
     "parse(name, data, /)\n--\n\nA document from bytes (saex_doc_parse); messages call it name."},
    {"n_samples", (PyCFunction)doc_n_samples, METH_NOARGS, "n_samples($self, /)\n--\n\nThe number of variations."},
    {"form", (PyCFunction)doc_form, METH_NOARGS, "form($self, /)\n--\n\n\"results\", \"list\" or \"jsonl\"."},
    {"sample_json", (PyCFunction)doc_sample_json, METH_O,
     "sample_json($self, i, /)\n--\n\nVariation i as compact JSON (NaN / Infinity as Python writes them)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject ext_doc_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib.Doc",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Doc(path)\n--\n\nAn input document (saex_doc): results form, list or JSON Lines.",
    .tp_methods = doc_methods,
    .tp_base = &ext_handle_type,
    .tp_init = (initproc)doc_init,
};

/* ------------------------------------------------------------ Extractor */

/* libsaex keeps the events of saex_extractor_open for the extractor's life
 * (it logs the model load through them), so they live beside the handle. */
typedef struct {
    saex_extractor *x;
    py_events e;
} extractor_handle;

static void close_extractor(void *h) {
    extractor_handle *xh = h;
    if (!xh) return;
    saex_extractor_close(xh->x);
    Py_XDECREF(xh->e.progress);
    PyMem_RawFree(xh);
}
static const handle_kind EXTRACTOR = {"Extractor", close_extractor};

static saex_extractor *extractor_get(HandleObject *self) {
    extractor_handle *xh = handle_get(self);
    return xh ? xh->x : NULL;
}

/* Extractor(model, revision, sae_release, sae_id, sae_path, layers, device,
 * cuda_device, precision, threads, offline, progress, batch_tokens):
 * saex_extractor_open. */
static int extractor_init(HandleObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"model",     "revision",  "sae_release", "sae_id",  "sae_path", "layers",
                            "device",    "cuda_device", "precision", "threads", "offline",  "progress",
                            "batch_tokens", NULL};
    const char *model, *revision, *release, *sae_id, *sae_path, *device, *precision;
    PyObject *layers, *progress;
    int cuda_device, threads, offline;
    long long batch_tokens;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "szzzzOsisipOL", names, &model, &revision, &release, &sae_id,
                                     &sae_path, &layers, &device, &cuda_device, &precision, &threads, &offline,
                                     &progress, &batch_tokens))
        return -1;
    if (self->h) {
        PyErr_SetString(PyExc_RuntimeError, "Extractor.__init__ called on an open Extractor");
        return -1;
    }
    saex_extractor_options o;
    saex_extractor_options_init(&o);
    o.model = model, o.revision = revision, o.sae_release = release, o.sae_id = sae_id, o.sae_path = sae_path;
    o.offline = offline;
    Py_ssize_t n = PySequence_Size(layers);
    if (n < 1 || n > SAEX_MAX_LAYERS) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "layers: 1 to %d layers", SAEX_MAX_LAYERS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PySequence_GetItem(layers, i);
        long v = it ? PyLong_AsLong(it) : -1;
        Py_XDECREF(it);
        if (v == -1 && PyErr_Occurred()) return -1;
        o.layers[i] = (int)v;
    }
    o.n_layers = (int)n;
    o.model_options.device = !strcmp(device, "cuda") ? SAEX_DEVICE_CUDA : !strcmp(device, "cpu") ? SAEX_DEVICE_CPU
                                                                                                   : SAEX_DEVICE_AUTO;
    o.model_options.cuda_device = cuda_device;
    o.model_options.precision = !strcmp(precision, "f32") ? SAEX_PRECISION_F32 : SAEX_PRECISION_DEFAULT;
    o.model_options.threads = threads;
    o.model_options.max_batch_tokens = batch_tokens; /* scratch sized for the batches extract() will pack */
    extractor_handle *xh = PyMem_RawCalloc(1, sizeof *xh);
    if (!xh) {
        PyErr_NoMemory();
        return -1;
    }
    events_init(&xh->e, progress);
    Py_INCREF(xh->e.progress);
    o.events = &xh->e.ev;
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = saex_extractor_open(&o, &xh->x);
    Py_END_ALLOW_THREADS
    PyObject *ok = events_finish(&xh->e, st);
    if (!ok) {
        close_extractor(xh);
        return -1;
    }
    Py_DECREF(ok);
    self->h = xh, self->kind = &EXTRACTOR;
    return 0;
}

static PyObject *extractor_load_model(HandleObject *self, PyObject *noargs) {
    extractor_handle *xh = handle_get(self);
    if (!xh) return NULL;
    saex_status st;
    HANDLE_ENTER(self);
    Py_BEGIN_ALLOW_THREADS
    st = saex_extractor_load_model(xh->x);
    Py_END_ALLOW_THREADS
    HANDLE_LEAVE(self);
    return events_finish(&xh->e, st);
}

static PyObject *str_or_none(const char *s) {
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(s);
}

static PyObject *extractor_info(HandleObject *self, PyObject *arg) {
    saex_extractor *x = extractor_get(self);
    int l = (int)PyLong_AsLong(arg);
    if (!x || (l == -1 && PyErr_Occurred())) return NULL;
    const saex_sae *sae = saex_extractor_sae(x, l);
    if (!sae) return PyErr_Format(PyExc_IndexError, "no layer index %d", l);
    PyObject *np = str_or_none(saex_extractor_neuronpedia(x, l)), *sp = str_or_none(saex_extractor_sae_path(x, l)),
             *md = str_or_none(saex_extractor_model_dir(x));
    PyObject *r = np && sp && md ? Py_BuildValue("{sOsOsOsLsL}", "neuronpedia", np, "sae_path", sp, "model_dir", md,
                                                 "d_sae", (long long)saex_sae_d_sae(sae), "d_in",
                                                 (long long)saex_sae_d_in(sae))
                                 : NULL;
    Py_XDECREF(np), Py_XDECREF(sp), Py_XDECREF(md);
    return r;
}

static PyMethodDef extractor_methods[] = {
    {"load_model", (PyCFunction)extractor_load_model, METH_NOARGS,
     "load_model($self, /)\n--\n\nLoads blocks 0..L of the model (saex_extractor_load_model)."},
    {"info", (PyCFunction)extractor_info, METH_O,
     "info($self, layer_index, /)\n--\n\n{neuronpedia, sae_path, model_dir, d_sae, d_in} of a layer."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject ext_extractor_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib.Extractor",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Extractor(model, revision, sae_release, sae_id, sae_path, layers, device, cuda_device, precision, "
              "threads, offline, progress, batch_tokens)\n--\n\nTokenizer, SAEs and model (saex_extractor).",
    .tp_methods = extractor_methods,
    .tp_base = &ext_handle_type,
    .tp_init = (initproc)extractor_init,
};

/* ------------------------------------------------------------ Results */

static void close_results(void *h) { saex_results_close(h); }
static const handle_kind RESULTS = {"Results", close_results};

static int results_init(HandleObject *self, PyObject *args, PyObject *kw) {
    if (!PyArg_ParseTuple(args, ":Results")) return -1;
    saex_results *r = NULL;
    saex_status st = saex_results_create(&r);
    if (st) {
        ext_raise(st);
        return -1;
    }
    close_results(self->h);
    self->h = r, self->kind = &RESULTS;
    return 0;
}

static PyObject *results_sample_json(HandleObject *self, PyObject *args) {
    long long i;
    int l;
    if (!PyArg_ParseTuple(args, "Li:sample_json", &i, &l)) return NULL;
    saex_results *r = handle_get(self);
    if (!r) return NULL;
    char *json = NULL;
    size_t len = 0;
    saex_status st = saex_results_sample_json(r, i, l, &json, &len);
    return text_result(st, json, len);
}

/* samples_json(start, count, l): "[...]" of sample_json for samples
 * start..start+count-1: one json.loads for a whole batch of results. */
static PyObject *results_samples_json(HandleObject *self, PyObject *args) {
    long long start, count;
    int l;
    if (!PyArg_ParseTuple(args, "LLi:samples_json", &start, &count, &l)) return NULL;
    saex_results *r = handle_get(self);
    if (!r) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = PyMem_RawMalloc(cap);
    saex_status st = SAEX_OK;
    if (!buf) return PyErr_NoMemory();
    buf[n++] = '[';
    HANDLE_ENTER(self);
    Py_BEGIN_ALLOW_THREADS
    for (long long i = start; !st && i < start + count; i++) {
        char *json = NULL;
        size_t len = 0;
        st = saex_results_sample_json(r, i, l, &json, &len);
        if (st) break;
        if (n + len + 2 > cap) {
            while (n + len + 2 > cap) cap *= 2;
            char *b = PyMem_RawRealloc(buf, cap);
            if (!b) st = SAEX_ERR_NOMEM;
            else buf = b;
        }
        if (!st) {
            if (i > start) buf[n++] = ',';
            memcpy(buf + n, json, len), n += len;
        }
        saex_free(json);
    }
    Py_END_ALLOW_THREADS
    HANDLE_LEAVE(self);
    PyObject *out = NULL;
    if (st == SAEX_ERR_NOMEM) PyErr_NoMemory();
    else if (st) ext_raise(st);
    else {
        buf[n++] = ']';
        out = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)n, "surrogateescape");
    }
    PyMem_RawFree(buf);
    return out;
}

/* sample(i, l) -> (status, positions, token_ids, resid bytes or None, d_model) */
static PyObject *results_sample(HandleObject *self, PyObject *args) {
    long long i;
    int l;
    if (!PyArg_ParseTuple(args, "Li:sample", &i, &l)) return NULL;
    saex_results *r = handle_get(self);
    if (!r) return NULL;
    saex_sample_view v;
    saex_status st = saex_results_sample(r, i, l, &v);
    if (st) return ext_raise(st);
    PyObject *pos = PyList_New(v.n_pos), *tok = PyList_New(v.n_pos);
    for (int p = 0; pos && tok && p < v.n_pos; p++) {
        PyList_SET_ITEM(pos, p, PyLong_FromLong(v.position[p]));
        PyList_SET_ITEM(tok, p, PyLong_FromLong(v.token_id[p]));
    }
    PyObject *resid = v.resid ? PyBytes_FromStringAndSize((const char *)v.resid, (Py_ssize_t)v.n_pos * v.d_model * 4)
                              : (Py_INCREF(Py_None), Py_None);
    if (!pos || !tok || !resid || PyErr_Occurred()) {
        Py_XDECREF(pos), Py_XDECREF(tok), Py_XDECREF(resid);
        return NULL;
    }
    return Py_BuildValue("iNNNi", (int)v.status, pos, tok, resid, v.d_model);
}

static PyMethodDef results_methods[] = {
    {"sample_json", (PyCFunction)results_sample_json, METH_VARARGS,
     "sample_json($self, i, layer_index, /)\n--\n\nWhat the output holds under sae_activations.layer_L."},
    {"samples_json", (PyCFunction)results_samples_json, METH_VARARGS,
     "samples_json($self, start, count, layer_index, /)\n--\n\nA JSON array of sample_json for count samples."},
    {"sample", (PyCFunction)results_sample, METH_VARARGS,
     "sample($self, i, layer_index, /)\n--\n\n(status, positions, token_ids, residual bytes or None, d_model)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject ext_results_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib.Results",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Results()\n--\n\nExtraction results held in memory (saex_results).",
    .tp_methods = results_methods,
    .tp_base = &ext_handle_type,
    .tp_init = (initproc)results_init,
};

/* ------------------------------------------------------------ functions */

static int get_handles(PyObject *xo, PyObject *dobj, PyObject *ro, saex_extractor **x, saex_doc **d, saex_results **r) {
    if ((xo && !PyObject_TypeCheck(xo, &ext_extractor_type)) || !PyObject_TypeCheck(dobj, &ext_doc_type) ||
        !PyObject_TypeCheck(ro, &ext_results_type)) {
        PyErr_SetString(PyExc_TypeError, "expected (Extractor,) Doc, Results");
        return -1;
    }
    if (xo && !(*x = extractor_get((HandleObject *)xo))) return -1;
    *d = handle_get((HandleObject *)dobj);
    *r = *d ? handle_get((HandleObject *)ro) : NULL;
    return *r ? 0 : -1;
}

/* extract(extractor, doc, results, top_k, save_all_tokens, exclude_bos,
 *         chat_template, joint, batch_tokens, max_samples, keep_residuals, progress) */
static PyObject *fn_extract(PyObject *m, PyObject *args) {
    PyObject *xo, *dobj, *ro, *progress;
    int top_k, all, exclude_bos, chat, joint, keep;
    long long batch_tokens, max_samples;
    if (!PyArg_ParseTuple(args, "OOOipppiLLpO:extract", &xo, &dobj, &ro, &top_k, &all, &exclude_bos, &chat, &joint,
                          &batch_tokens, &max_samples, &keep, &progress))
        return NULL;
    saex_extractor *x;
    saex_doc *d;
    saex_results *r;
    if (get_handles(xo, dobj, ro, &x, &d, &r) < 0) return NULL;
    saex_run_options o;
    saex_run_options_init(&o);
    o.top_k = top_k, o.save_all_tokens = all, o.exclude_bos = exclude_bos;
    o.chat_template = chat ? SAEX_CHAT_GEMMA : SAEX_CHAT_NONE;
    o.joint_tokenization = joint, o.batch_tokens = batch_tokens, o.max_samples = max_samples;
    o.keep_residuals = keep;
    py_events e;
    events_init(&e, progress);
    o.events = &e.ev;
    HandleObject *hs[] = {(HandleObject *)xo, (HandleObject *)dobj, (HandleObject *)ro};
    for (int i = 0; i < 3; i++) HANDLE_ENTER(hs[i]);
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = saex_extract(x, d, &o, r);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) HANDLE_LEAVE(hs[i]);
    PyObject *ok = events_finish(&((extractor_handle *)((HandleObject *)xo)->h)->e, SAEX_OK); /* the model load's */
    if (!ok) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        Py_XDECREF(events_finish(&e, SAEX_OK));
        PyErr_Restore(t, v, tb);
        return NULL;
    }
    Py_DECREF(ok);
    return events_finish(&e, st);
}

/* write_output(doc, results, path, unique) -> the path written */
static PyObject *fn_write_output(PyObject *m, PyObject *args) {
    PyObject *dobj, *ro, *path;
    int unique;
    if (!PyArg_ParseTuple(args, "OOO&p:write_output", &dobj, &ro, ext_fs_path, &path, &unique)) return NULL;
    saex_doc *d;
    saex_results *r;
    if (get_handles(NULL, dobj, ro, NULL, &d, &r) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    char *written = NULL;
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = saex_write_output(d, r, PyBytes_AS_STRING(path), unique ? SAEX_WRITE_UNIQUE : 0, &written);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st) return ext_raise(st);
    PyObject *s = PyUnicode_DecodeFSDefault(written);
    saex_free(written);
    return s;
}

static PyObject *fn_write_residuals(PyObject *m, PyObject *args) {
    PyObject *dobj, *ro, *path;
    if (!PyArg_ParseTuple(args, "OOO&:write_residuals", &dobj, &ro, ext_fs_path, &path)) return NULL;
    saex_doc *d;
    saex_results *r;
    if (get_handles(NULL, dobj, ro, NULL, &d, &r) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = saex_write_residuals(d, r, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st) return ext_raise(st);
    Py_RETURN_NONE;
}

PyMethodDef ext_pipeline_functions[] = {
    {"extract", fn_extract, METH_VARARGS,
     "extract(extractor, doc, results, top_k, save_all_tokens, exclude_bos, chat_template, joint, batch_tokens, "
     "max_samples, keep_residuals, progress, /)\n--\n\nsaex_extract with the GIL released."},
    {"write_output", fn_write_output, METH_VARARGS,
     "write_output(doc, results, path, unique, /)\n--\n\nsaex_write_output; returns the path written."},
    {"write_residuals", fn_write_residuals, METH_VARARGS,
     "write_residuals(doc, results, path, /)\n--\n\nsaex_write_residuals."},
    {NULL, NULL, 0, NULL},
};
