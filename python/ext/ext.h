/* ext.h — what the files of the saex._lib extension share.
 *
 * saex._lib is the CPython binding of libsaex (statically linked in). It
 * holds the native handles and releases the GIL around every call that
 * computes; the Python package (python/saex/) wraps it with numpy
 * conversions, docstrings and type hints. Arrays cross the boundary as
 * C-contiguous buffers (the buffer protocol), so the extension needs no
 * numpy headers and works with any numpy the user has. */
#ifndef SAEX_EXT_H
#define SAEX_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "saex.h"

/* Sets the saex.errors class of status s with saex_last_error() as its
 * message (read on this thread, right after the failing call). Returns NULL. */
PyObject *ext_raise(saex_status s);
/* The same with a message made here (PyUnicode_FromFormat: %s, %d, %zd, %S,
 * %R ...), for checks done by the binding. */
PyObject *ext_raise_fmt(saex_status s, const char *fmt, ...);

/* Gets a C-contiguous buffer of `count` elements of 4-byte kind 'f'
 * (float32) or 'i' (int32), or 8-byte kind 'q' (int64); writable when asked.
 * On failure raises (naming `what`) and returns -1; on success the caller
 * releases it with PyBuffer_Release. count < 0: any length (multiple of the
 * item size). */
int ext_get_buffer(PyObject *obj, Py_buffer *view, char kind, int writable, Py_ssize_t count, const char *what);

/* Converts a str / bytes / os.PathLike to the file-system bytes libsaex takes
 * (a "O&" converter; the result is a new bytes reference). */
int ext_fs_path(PyObject *obj, void *out);

/* ---- native handles (handle.c)
 * Every object of the module is a HandleObject: a libsaex handle, what
 * closes it, the path it came from. A handle in use with the GIL released
 * cannot be closed, so each object counts its calls in flight (changed
 * only with the GIL held); a call in flight holds a reference, so the
 * object is not deallocated under it either. */
typedef struct {
    const char *name;       /* "Tokenizer", "SAE": for messages */
    void (*close)(void *h); /* accepts NULL */
} handle_kind;

typedef struct {
    PyObject_HEAD
    void *h;                 /* NULL: closed, or never opened */
    const handle_kind *kind;
    PyObject *path;          /* as given, after os.fspath (str or bytes); NULL if none */
    int busy;
} HandleObject;

/* Opens h with open_fn(path) with the GIL released; the tp_init of the
 * path-based types (argument "path"). */
typedef saex_status (*handle_open_fn)(const char *path, void **out);
int handle_init_path(HandleObject *self, PyObject *args, PyObject *kw, const handle_kind *kind, handle_open_fn open_fn);
/* The open handle, or NULL with ValueError "this X is closed". */
void *handle_get(HandleObject *self);
/* Marks the start / end of a call that releases the GIL. */
#define HANDLE_ENTER(self) ((self)->busy++)
#define HANDLE_LEAVE(self) ((self)->busy--)

extern PyTypeObject ext_handle_type;
extern PyTypeObject ext_tokenizer_type;
extern PyTypeObject ext_sae_type;
extern PyMethodDef ext_sae_functions[];
extern PyTypeObject ext_doc_type;
extern PyTypeObject ext_extractor_type;
extern PyTypeObject ext_results_type;
extern PyMethodDef ext_pipeline_functions[];

#endif
