/* module.c — the saex._lib module: errors as exceptions, buffers, paths,
 * library facts (version, status names, CPU count, CUDA build). */
#include "ext.h"

#include <stdarg.h>
#include <string.h>

#ifndef SAEX_EXT_CUDA
#define SAEX_EXT_CUDA 0 /* set by setup.py from the Makefile's CUDA */
#endif

/* saex.errors._BY_STATUS: exception classes indexed by saex_status. */
static PyObject *g_error_classes;

/* Raises class-of-s(text); steals text (NULL: an error is already set). */
static PyObject *raise_object(saex_status s, PyObject *text) {
    if (!text) return NULL;
    Py_ssize_t n = g_error_classes ? PyTuple_GET_SIZE(g_error_classes) : 0;
    PyObject *cls = (int)s > 0 && (Py_ssize_t)s < n ? PyTuple_GET_ITEM(g_error_classes, s)
                    : n > 0                        ? PyTuple_GET_ITEM(g_error_classes, 0)
                                                   : PyExc_RuntimeError;
    PyErr_SetObject(cls, text);
    Py_DECREF(text);
    return NULL;
}

/* File names in libsaex's messages may not be UTF-8: their bytes stay visible. */
static PyObject *raise_text(saex_status s, const char *msg) {
    return raise_object(s, PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "backslashreplace"));
}

PyObject *ext_raise(saex_status s) { return raise_text(s, saex_last_error()); }

PyObject *ext_raise_fmt(saex_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    PyObject *text = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    return raise_object(s, text);
}

int ext_get_buffer(PyObject *obj, Py_buffer *view, char kind, int writable, Py_ssize_t count, const char *what) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    Py_ssize_t item = kind == 'q' ? 8 : 4;
    /* numpy writes "f" / "i" / "q" (or "l" where long is the size asked for), maybe with a byte-order prefix. */
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int ok_format = f[0] && !f[1] && (f[0] == kind || (kind != 'f' && f[0] == 'l'));
    if (!ok_format || view->itemsize != item) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s items, got buffer format '%s' (itemsize %zd)", what,
                     kind == 'f' ? "float32" : kind == 'i' ? "int32" : "int64", view->format ? view->format : "B",
                     view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    if (count >= 0 && view->len != count * item) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", what, count, view->len / item);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

int ext_fs_path(PyObject *obj, void *out) { return PyUnicode_FSConverter(obj, out); }

/* ------------------------------------------------------------ functions */

static PyObject *fn_version(PyObject *m, PyObject *noargs) { return PyUnicode_FromString(saex_version()); }

static PyObject *fn_status_name(PyObject *m, PyObject *arg) {
    long s = PyLong_AsLong(arg);
    if (s == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(saex_status_name((saex_status)s));
}

static PyObject *fn_cpu_count(PyObject *m, PyObject *noargs) { return PyLong_FromLong(saex_cpu_count()); }

static PyObject *fn_raise_status(PyObject *m, PyObject *args) {
    int s;
    const char *msg;
    if (!PyArg_ParseTuple(args, "is", &s, &msg)) return NULL;
    return raise_text((saex_status)s, msg);
}

static PyMethodDef g_functions[] = {
    {"version", fn_version, METH_NOARGS, "version()\n--\n\nlibsaex's version (SAEX_VERSION)."},
    {"status_name", fn_status_name, METH_O, "status_name(status, /)\n--\n\nsaex_status_name(): \"io error\", ..."},
    {"cpu_count", fn_cpu_count, METH_NOARGS,
     "cpu_count()\n--\n\nCPU cores this process may use (sched affinity and cgroup quota): what threads=0 uses."},
    {"_raise_status", fn_raise_status, METH_VARARGS,
     "_raise_status(status, message, /)\n--\n\nRaises the class of status with message (for tests of the mapping)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef g_module = {
    PyModuleDef_HEAD_INIT, "saex._lib", "libsaex, the native part of the saex package.", -1, g_functions,
};

static int add_functions(PyObject *m, PyMethodDef *defs) {
    PyObject *name = PyModule_GetNameObject(m);
    if (!name) return -1;
    for (PyMethodDef *d = defs; d->ml_name; d++) {
        PyObject *f = PyCFunction_NewEx(d, NULL, name);
        if (!f || PyModule_AddObject(m, d->ml_name, f) < 0) {
            Py_XDECREF(f);
            Py_DECREF(name);
            return -1;
        }
    }
    Py_DECREF(name);
    return 0;
}

static int add_type(PyObject *m, PyTypeObject *t, const char *name) {
    if (PyType_Ready(t) < 0) return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__lib(void) {
    if (!g_error_classes) {
        PyObject *errors = PyImport_ImportModule("saex.errors");
        if (!errors) return NULL;
        g_error_classes = PyObject_GetAttrString(errors, "_BY_STATUS");
        Py_DECREF(errors);
        if (!g_error_classes) return NULL;
        if (!PyTuple_Check(g_error_classes) || PyTuple_GET_SIZE(g_error_classes) < 1) {
            Py_CLEAR(g_error_classes);
            PyErr_SetString(PyExc_ImportError, "saex.errors._BY_STATUS must be a non-empty tuple");
            return NULL;
        }
    }
    PyObject *m = PyModule_Create(&g_module);
    if (!m) return NULL;
    if (add_type(m, &ext_handle_type, "_Handle") < 0 || add_type(m, &ext_tokenizer_type, "Tokenizer") < 0 || add_type(m, &ext_sae_type, "SAE") < 0 ||
        add_functions(m, ext_sae_functions) < 0 || add_type(m, &ext_doc_type, "Doc") < 0 ||
        add_type(m, &ext_extractor_type, "Extractor") < 0 || add_type(m, &ext_results_type, "Results") < 0 ||
        add_functions(m, ext_pipeline_functions) < 0 || PyModule_AddIntConstant(m, "HAVE_CUDA", SAEX_EXT_CUDA) < 0 ||
        PyModule_AddIntConstant(m, "MAX_LAYERS", SAEX_MAX_LAYERS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
