/* Fast skipping of tar entries nobody wants (optional accelerator of tarstream.py).
 *
 * A layer of 20,000 files holds a few dozen that an analyzer reads. Walking the rest in
 * Python costs ~5 us an entry, the largest share of a scan beyond inflating the layer. This
 * function walks consecutive headers inside one buffer and steps over every entry that the
 * Python walker would also step over without a trace: a regular file outside the analyzers'
 * interest, a directory, a symbolic link, a device or a FIFO, with a plain name.
 *
 * It is deliberately narrower than the Python walker: at anything else (PAX or GNU
 * extension headers, hard links, whiteouts, names with "." segments, backslashes or
 * doubled slashes, base-256 sizes, a bad checksum or number field, a size over the limit,
 * the end-of-archive block, a header crossing the buffer end) it stops and leaves the entry
 * to Python, which accepts, refuses or reports it exactly as without this module. Every read
 * stays inside the 512-byte header it checked to lie in the buffer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define BLOCK 512

/* An octal header field as tarstream._octal reads it, for the plain form only: optional
 * leading spaces, at least one octal digit, then only spaces up to a NUL or the field's end.
 * Returns -1 for anything else (Python then parses the field, or refuses it). */
static long long plain_octal(const unsigned char *field, int width)
{
    int i = 0, digits = 0;
    long long value = 0;
    while (i < width && field[i] == ' ')
        i++;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; i++, digits++) {
        if (value > (LLONG_MAX >> 3))
            return -1;
        value = (value << 3) | (field[i] - '0');
    }
    for (; i < width && field[i] == ' '; i++)
        ;
    if (digits == 0 || (i < width && field[i] != '\0'))
        return -1;
    return value;
}

static int plain_name(const unsigned char *path, Py_ssize_t length)
{
    if (length == 0 || path[0] == '/' || path[0] == '.' || path[length - 1] == '/')
        return 0;
    for (Py_ssize_t i = 0; i + 1 < length; i++) {
        if (path[i] == '\\' || (path[i] == '/' && (path[i + 1] == '/' || path[i + 1] == '.')))
            return 0;
    }
    return path[length - 1] != '\\';
}

/* 1 when an analyzer may want the regular file (interest as in analyzers/index.py), 0 when
 * not, -1 on a Python error. */
static int interesting(const unsigned char *path, Py_ssize_t length, int executable, PyObject *basenames,
                       PyObject *directories, PyObject *suffixes, int executables)
{
    Py_ssize_t base_start = length;
    while (base_start > 0 && path[base_start - 1] != '/')
        base_start--;
    if (executable && executables)
        return 1;
    PyObject *base = PyUnicode_DecodeUTF8((const char *)path + base_start, length - base_start, "surrogateescape");
    if (base == NULL)
        return -1;
    int found = PySet_Contains(basenames, base);
    for (Py_ssize_t i = 0; found == 0 && i < PyTuple_GET_SIZE(suffixes); i++)
        found = (int)PyUnicode_Tailmatch(base, PyTuple_GET_ITEM(suffixes, i), 0, PY_SSIZE_T_MAX, 1);
    Py_DECREF(base);
    if (found != 0 || PySet_GET_SIZE(directories) == 0)
        return found;
    PyObject *directory = PyUnicode_DecodeUTF8((const char *)path, base_start ? base_start - 1 : 0, "surrogateescape");
    if (directory == NULL)
        return -1;
    found = PySet_Contains(directories, directory);
    Py_DECREF(directory);
    return found;
}

/* skip_boring(buffer, position, max_member, basenames, directories, suffixes, executables,
 *             regular_files) -> (position, skipped, pending)
 * Walks headers from ``position`` (a header boundary) and returns where it stopped, how many
 * entries it stepped over and how many bytes of the last one lie beyond the buffer (the
 * caller skips those in the following chunks; ``position`` is then the buffer's length).
 * ``regular_files`` false: an analyzer wants to see every file, so none is skipped. */
static PyObject *skip_boring(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t position;
    long long max_member;
    PyObject *basenames, *directories, *suffixes;
    int executables, regular_files;
    if (!PyArg_ParseTuple(args, "y*nLO!O!O!pp", &view, &position, &max_member, &PyFrozenSet_Type, &basenames,
                          &PyFrozenSet_Type, &directories, &PyTuple_Type, &suffixes, &executables, &regular_files))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(suffixes); i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(suffixes, i))) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_TypeError, "suffixes must be a tuple of str");
            return NULL;
        }
    }
    const unsigned char *data = view.buf;
    Py_ssize_t size = view.len, skipped = 0;
    long long pending = 0;
    unsigned char path[155 + 1 + 100];
    while (position >= 0 && position + BLOCK <= size) {
        const unsigned char *h = data + position;
        unsigned char kind = h[156];
        int regular = kind == '0' || kind == '\0' || kind == '7';
        if (!(regular || kind == '5' || kind == '2' || kind == '3' || kind == '4' || kind == '6'))
            break; /* extension headers, hard links, unknown kinds: Python's */
        if (regular && !regular_files)
            break;
        long long stored = plain_octal(h + 148, 8);
        long long sum = 8 * ' ';
        for (int i = 0; i < BLOCK; i++)
            sum += (i >= 148 && i < 156) ? 0 : h[i];
        if (stored < 0 || stored != sum || (h[124] & 0x80))
            break; /* bad checksum (Python also tries the signed sum) or a base-256 size */
        long long entry_size = plain_octal(h + 124, 12);
        long long mode = plain_octal(h + 100, 8);
        if (entry_size < 0 || mode < 0 || entry_size > max_member)
            break;
        const unsigned char *name_end = memchr(h, '\0', 100);
        Py_ssize_t name_length = name_end ? name_end - h : 100, length = 0;
        if (h[345] && memcmp(h + 257, "ustar\0", 6) == 0) { /* POSIX prefix; GNU headers have none */
            const unsigned char *prefix_end = memchr(h + 345, '\0', 155);
            Py_ssize_t prefix_length = prefix_end ? prefix_end - (h + 345) : 155;
            memcpy(path, h + 345, prefix_length);
            path[prefix_length] = '/';
            length = prefix_length + 1;
        }
        memcpy(path + length, h, name_length);
        length += name_length;
        if (!plain_name(path, length))
            break; /* whiteouts, "." segments, odd separators: normalised or refused in Python */
        if (regular) {
            int wanted = interesting(path, length, (mode & 0111) != 0, basenames, directories, suffixes, executables);
            if (wanted < 0) {
                PyBuffer_Release(&view);
                return NULL;
            }
            if (wanted)
                break;
        }
        long long data_size = (kind == '5' || kind == '2') ? 0 : entry_size;
        long long next = position + BLOCK + ((data_size + BLOCK - 1) / BLOCK) * BLOCK;
        skipped++;
        if (next > size) {
            pending = next - size;
            position = size;
            break;
        }
        position = (Py_ssize_t)next;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nnL", position, skipped, pending);
}

static PyMethodDef methods[] = {
    {"skip_boring", skip_boring, METH_VARARGS, "Step over tar entries that no analyzer wants."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_tarskip", .m_doc = NULL, .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__tarskip(void)
{
    return PyModule_Create(&module);
}
