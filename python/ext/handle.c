/* handle.c — saex._lib._Handle, the base type of the module's objects: one
 * libsaex handle, closed by close(), on garbage collection, or never twice. */
#include "ext.h"

int handle_init_path(HandleObject *self, PyObject *args, PyObject *kw, const handle_kind *kind, handle_open_fn open_fn) {
    static char *names[] = {"path", NULL};
    PyObject *given, *fs = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", names, &given)) return -1;
    if (self->h || self->busy) {
        PyErr_Format(PyExc_RuntimeError, "%s.__init__ called on an open %s", kind->name, kind->name);
        return -1;
    }
    PyObject *path = PyOS_FSPath(given);
    if (!path) return -1;
    if (!PyUnicode_FSConverter(path, &fs)) {
        Py_DECREF(path);
        return -1;
    }
    void *h = NULL;
    saex_status st;
    Py_BEGIN_ALLOW_THREADS
    st = open_fn(PyBytes_AS_STRING(fs), &h);
    Py_END_ALLOW_THREADS
    Py_DECREF(fs);
    if (st) {
        Py_DECREF(path);
        ext_raise(st);
        return -1;
    }
    self->h = h;
    self->kind = kind;
    Py_XSETREF(self->path, path);
    return 0;
}

void *handle_get(HandleObject *self) {
    if (!self->h)
        PyErr_Format(PyExc_ValueError, "this %s is closed", self->kind ? self->kind->name : Py_TYPE(self)->tp_name);
    return self->h;
}

static void handle_dealloc(HandleObject *self) {
    if (self->kind) self->kind->close(self->h);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *handle_close(HandleObject *self, PyObject *noargs) {
    if (self->busy) {
        PyErr_Format(PyExc_RuntimeError, "cannot close this %s: another thread is using it", self->kind->name);
        return NULL;
    }
    if (self->kind) self->kind->close(self->h);
    self->h = NULL;
    Py_RETURN_NONE;
}

static PyObject *get_path(HandleObject *self, void *c) {
    if (!self->path) Py_RETURN_NONE;
    Py_INCREF(self->path);
    return self->path;
}

static PyObject *get_closed(HandleObject *self, void *c) { return PyBool_FromLong(self->h == NULL); }

static PyMethodDef handle_methods[] = {
    {"close", (PyCFunction)handle_close, METH_NOARGS,
     "close($self, /)\n--\n\nFrees the native object now (idempotent); any later use raises ValueError."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef handle_getset[] = {
    {"path", (getter)get_path, NULL, "The path it was opened from (as given).", NULL},
    {"closed", (getter)get_closed, NULL, "True after close().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject ext_handle_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "saex._lib._Handle",
    .tp_basicsize = sizeof(HandleObject),
    .tp_dealloc = (destructor)handle_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A libsaex handle: closed by close() or when garbage-collected.",
    .tp_methods = handle_methods,
    .tp_getset = handle_getset,
    .tp_new = PyType_GenericNew,
};
