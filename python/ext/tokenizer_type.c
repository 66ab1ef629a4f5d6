/* tokenizer_type.c — saex._lib.Tokenizer: a tokenizer.json (saex_tokenizer).
 *
 * The handle is read-only after loading, so several threads may encode with
 * it at once; the GIL is released while loading, encoding and decoding. */
#include "ext.h"

#include <string.h>

static void close_tokenizer(void *h) { saex_tokenizer_close(h); }
static const handle_kind TOKENIZER = {"Tokenizer", close_tokenizer};

static saex_status open_tokenizer(const char *path, void **out) {
    saex_tokenizer *t = NULL;
    saex_status st = saex_tokenizer_open(path, &t);
    *out = t;
    return st;
}

static int tok_init(HandleObject *self, PyObject *args, PyObject *kw) {
    return handle_init_path(self, args, kw, &TOKENIZER, open_tokenizer);
}

/* text: str (encoded to UTF-8) or a bytes-like object holding UTF-8. */
static PyObject *tok_encode(HandleObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"text", "add_bos", NULL};
    PyObject *text;
    int add_bos = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:encode", names, &text, &add_bos)) return NULL;
    saex_tokenizer *tok = handle_get(self);
    if (!tok) return NULL;
    Py_buffer view = {0};
    const char *s;
    Py_ssize_t len;
    if (PyUnicode_Check(text)) {
        s = PyUnicode_AsUTF8AndSize(text, &len); /* owned by text, which the caller holds */
        if (!s) return NULL;
    } else if (PyObject_CheckBuffer(text) && PyObject_GetBuffer(text, &view, PyBUF_SIMPLE) == 0) {
        s = view.buf, len = view.len;
    } else {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "encode: text must be str or bytes, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    saex_status st;
    HANDLE_ENTER(self);
    Py_BEGIN_ALLOW_THREADS
    st = saex_tokenize(tok, s, (size_t)len, add_bos, &ids, &n);
    Py_END_ALLOW_THREADS
    HANDLE_LEAVE(self);
    if (view.obj) PyBuffer_Release(&view);
    if (st) return ext_raise(st);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *v = PyLong_FromLong(ids[i]);
        if (!v) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    saex_free(ids);
    return list;
}

/* ids: a C-contiguous int32 buffer (the Python layer converts lists and arrays). */
static PyObject *tok_decode(HandleObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ids", "skip_special", NULL};
    PyObject *ids_obj;
    int skip = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:_decode", names, &ids_obj, &skip)) return NULL;
    saex_tokenizer *tok = handle_get(self);
    if (!tok) return NULL;
    Py_buffer v;
    if (ext_get_buffer(ids_obj, &v, 'i', 0, -1, "decode: ids") < 0) return NULL;
    char *text = NULL;
    size_t len = 0;
    saex_status st;
    HANDLE_ENTER(self);
    Py_BEGIN_ALLOW_THREADS
    st = saex_detokenize(tok, v.buf, (size_t)v.len / 4, skip, &text, &len);
    Py_END_ALLOW_THREADS
    HANDLE_LEAVE(self);
    PyBuffer_Release(&v);
    if (st) return ext_raise(st);
    /* Lone byte-fallback tokens make invalid UTF-8: U+FFFD, as HF's decode does. */
    PyObject *r = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
    saex_free(text);
    return r;
}

static PyObject *tok_pieces(HandleObject *self, PyObject *ids_obj) {
    saex_tokenizer *tok = handle_get(self);
    if (!tok) return NULL;
    Py_buffer v;
    if (ext_get_buffer(ids_obj, &v, 'i', 0, -1, "pieces: ids") < 0) return NULL;
    const int32_t *ids = v.buf;
    Py_ssize_t n = v.len / 4;
    PyObject *list = PyList_New(n);
    for (Py_ssize_t i = 0; list && i < n; i++) {
        const char *p = saex_token_piece(tok, ids[i]);
        if (!p) {
            ext_raise_fmt(SAEX_ERR_RANGE, "pieces: ids[%zd] = %d is not in the vocabulary (%S, %d ids)", i, (int)ids[i],
                          self->path, (int)saex_tokenizer_vocab_size(tok));
            Py_CLEAR(list);
            break;
        }
        PyObject *s = PyUnicode_DecodeUTF8(p, (Py_ssize_t)strlen(p), "replace");
        if (!s) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, s);
    }
    PyBuffer_Release(&v);
    return list;
}

static PyObject *tok_token_id(HandleObject *self, PyObject *piece) {
    saex_tokenizer *tok = handle_get(self);
    if (!tok) return NULL;
    Py_ssize_t len;
    const char *s = PyUnicode_Check(piece) ? PyUnicode_AsUTF8AndSize(piece, &len) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "token_id: piece must be str, not %.100s", Py_TYPE(piece)->tp_name);
        return NULL;
    }
    /* The library looks up NUL-terminated strings: one with a NUL inside is in no vocabulary it reads. */
    int32_t id = (size_t)len == strlen(s) ? saex_tokenizer_token_id(tok, s) : -1;
    if (id < 0) Py_RETURN_NONE;
    return PyLong_FromLong(id);
}

static PyObject *get_vocab_size(HandleObject *self, void *c) {
    saex_tokenizer *tok = handle_get(self);
    return tok ? PyLong_FromLong(saex_tokenizer_vocab_size(tok)) : NULL;
}

static PyObject *get_bos_id(HandleObject *self, void *c) {
    saex_tokenizer *tok = handle_get(self);
    if (!tok) return NULL;
    int32_t id = saex_tokenizer_bos_id(tok);
    if (id < 0) Py_RETURN_NONE;
    return PyLong_FromLong(id);
}

static PyMethodDef tok_methods[] = {
    {"_encode", (PyCFunction)(void (*)(void))tok_encode, METH_VARARGS | METH_KEYWORDS,
     "_encode($self, /, text, add_bos=True)\n--\n\nsaex_tokenize: ids as a list of int."},
    {"_decode", (PyCFunction)(void (*)(void))tok_decode, METH_VARARGS | METH_KEYWORDS,
     "_decode($self, /, ids, skip_special=False)\n--\n\nsaex_detokenize of an int32 buffer."},
    {"_pieces", (PyCFunction)tok_pieces, METH_O, "_pieces($self, ids, /)\n--\n\nsaex_token_piece of each id of an int32 buffer."},
    {"_token_id", (PyCFunction)tok_token_id, METH_O, "_token_id($self, piece, /)\n--\n\nsaex_tokenizer_token_id, None if absent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef tok_getset[] = {
    {"vocab_size", (getter)get_vocab_size, NULL, "Number of ids (vocabulary and added tokens).", NULL},
    {"bos_id", (getter)get_bos_id, NULL, "Id of the BOS token the post-processor adds, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject ext_tokenizer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib.Tokenizer",
    .tp_basicsize = sizeof(HandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Tokenizer(path)\n--\n\nA Hugging Face tokenizer.json (native part of saex.Tokenizer).",
    .tp_methods = tok_methods,
    .tp_getset = tok_getset,
    .tp_init = (initproc)tok_init,
    .tp_base = &ext_handle_type,
};
