/* Optional C accelerator for recordio's TFRecord framing.
 *
 * Per-record Python work (slicing, unpacking, two CRC calls and the mask arithmetic) costs more
 * than the CRC itself on small records, so this module does whole batches of records per call:
 *   crc32c(data, value=0)            CRC-32C (Castagnoli), hardware instruction when the CPU has it
 *   masked_crc32c(data)              TFRecord's masked CRC
 *   scan(buf, pos, verify, max_len, max_records, big_crc)
 *                                    parse complete records from buf[pos:]; see _framing.py for the
 *                                    pure-Python twin that defines the contract
 *   frame(records)                   length/CRC framing of a sequence of bytes-like records
 *   scan_headers(buf, pos, max_len, base)
 *                                    record start offsets from the headers alone (an index)
 *   gather(buf, starts, lengths, verify)
 *                                    the records at given offsets, checked (random access)
 *   crc32c_many(values, start, stop) CRC-32C of values[i][start:stop] for every value (columns)
 *   gather_slices(values, ranges, size)
 *                                    the same byte ranges of every value, joined (columns)
 * The pure-Python module recordio._framing implements the same functions with the same results.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MASK_DELTA 0xa282ead8u
#define BIG_RECORD 4096

enum { STOP_BATCH = 0, STOP_NEED = 1, STOP_LENGTH_CRC = 2, STOP_DATA_CRC = 3, STOP_TOO_LARGE = 4 };

static uint32_t table[8][256];
static int have_hw = 0;

static void init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = table[0][i];
        for (int t = 1; t < 8; t++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[t][i] = c;
        }
    }
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n) {
    crc = ~crc;
#if !PY_BIG_ENDIAN
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
              table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^
              table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        n -= 8;
    }
#endif
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                          size_t n) {
    uint64_t c = (uint32_t)~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#define HAVE_HW_CRC 1
#endif

static inline uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n) {
#ifdef HAVE_HW_CRC
    if (have_hw) return crc_hw(crc, p, n);
#endif
    return crc_sw(crc, p, n);
}

/* CRC-32C of three buffers at once over their first n bytes (n a multiple of 8): the three
 * dependency chains overlap, so the CRC instruction's latency is paid about once per three words.
 * The results continue the given crcs, like crc32c(). */
#ifdef HAVE_HW_CRC
__attribute__((target("sse4.2"))) static void crc_hw3(uint32_t *crc, const unsigned char *p0,
                                                      const unsigned char *p1,
                                                      const unsigned char *p2, size_t n) {
    uint64_t c0 = (uint32_t)~crc[0], c1 = (uint32_t)~crc[1], c2 = (uint32_t)~crc[2];
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v0, v1, v2;
        memcpy(&v0, p0 + i, 8);
        memcpy(&v1, p1 + i, 8);
        memcpy(&v2, p2 + i, 8);
        c0 = _mm_crc32_u64(c0, v0);
        c1 = _mm_crc32_u64(c1, v1);
        c2 = _mm_crc32_u64(c2, v2);
    }
    crc[0] = ~(uint32_t)c0;
    crc[1] = ~(uint32_t)c1;
    crc[2] = ~(uint32_t)c2;
}
#endif

static inline uint32_t mask(uint32_t c) { return ((c >> 15) | (c << 17)) + MASK_DELTA; }

static inline uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static PyObject *py_crc32c(PyObject *self, PyObject *args) {
    Py_buffer buf;
    unsigned long value = 0;
    if (!PyArg_ParseTuple(args, "y*|k:crc32c", &buf, &value)) return NULL;
    uint32_t c;
    Py_BEGIN_ALLOW_THREADS c = crc32c((uint32_t)value, buf.buf, (size_t)buf.len);
    Py_END_ALLOW_THREADS PyBuffer_Release(&buf);
    return PyLong_FromUnsignedLong(c);
}

static PyObject *py_masked_crc32c(PyObject *self, PyObject *args) {
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*:masked_crc32c", &buf)) return NULL;
    uint32_t c = mask(crc32c(0, buf.buf, (size_t)buf.len));
    PyBuffer_Release(&buf);
    return PyLong_FromUnsignedLong(c);
}

/* Masked CRC of a record's data; large records may go to a faster (multi-stream) callable. */
static int data_crc(PyObject *record, PyObject *big_crc, uint32_t *out) {
    Py_ssize_t n = PyBytes_GET_SIZE(record);
    if (n >= BIG_RECORD && big_crc != Py_None) {
        PyObject *r = PyObject_CallOneArg(big_crc, record);
        if (r == NULL) return -1;
        unsigned long v = PyLong_AsUnsignedLong(r);
        Py_DECREF(r);
        if (v == (unsigned long)-1 && PyErr_Occurred()) return -1;
        *out = mask((uint32_t)v);
        return 0;
    }
    *out = mask(crc32c(0, (const unsigned char *)PyBytes_AS_STRING(record), (size_t)n));
    return 0;
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t pos, max_records;
    int verify;
    unsigned long long max_len;
    PyObject *big_crc;
    if (!PyArg_ParseTuple(args, "y*npKnO:scan", &buf, &pos, &verify, &max_len, &max_records,
                          &big_crc))
        return NULL;
    const unsigned char *data = buf.buf;
    Py_ssize_t end = buf.len;
    PyObject *records = PyList_New(0);
    if (records == NULL) goto fail;
    int status = STOP_BATCH;
    unsigned long long a = 0, b = 0;
    if (pos < 0 || pos > end) {
        PyErr_SetString(PyExc_ValueError, "scan: position outside the buffer");
        goto fail;
    }
    while (PyList_GET_SIZE(records) < max_records) {
        if (end - pos < 12) {
            status = STOP_NEED;
            a = 0;
            break;
        }
        const unsigned char *h = data + pos;
        uint64_t len = le64(h);
        if (verify) {
            uint32_t stored = le32(h + 8), computed = mask(crc32c(0, h, 8));
            if (stored != computed) {
                status = STOP_LENGTH_CRC;
                a = stored;
                b = computed;
                break;
            }
        }
        /* Lengths past PY_SSIZE_T_MAX - 16 cannot be a bytes object (and 16 + len would wrap). */
        if (len > max_len || len > (uint64_t)PY_SSIZE_T_MAX - 16) {
            status = STOP_TOO_LARGE;
            a = len;
            break;
        }
        unsigned long long total = 16ull + len;
        if ((unsigned long long)(end - pos) < total) {
            status = STOP_NEED;
            a = total;
            break;
        }
        PyObject *record = PyBytes_FromStringAndSize((const char *)h + 12, (Py_ssize_t)len);
        if (record == NULL) goto fail;
        if (verify) {
            uint32_t stored = le32(h + 12 + len), computed;
            if (data_crc(record, big_crc, &computed) < 0) {
                Py_DECREF(record);
                goto fail;
            }
            if (stored != computed) {
                Py_DECREF(record);
                status = STOP_DATA_CRC;
                a = stored;
                b = computed;
                break;
            }
        }
        int rc = PyList_Append(records, record);
        Py_DECREF(record);
        if (rc < 0) goto fail;
        pos += (Py_ssize_t)total;
    }
    PyBuffer_Release(&buf);
    return Py_BuildValue("(NniKK)", records, pos, status, a, b);
fail:
    Py_XDECREF(records);
    PyBuffer_Release(&buf);
    return NULL;
}

static PyObject *py_frame(PyObject *self, PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "frame() takes a sequence of bytes-like records");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_buffer *views = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    if (views == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    Py_ssize_t got = 0, total = 0;
    PyObject *out = NULL;
    for (; got < n; got++) {
        if (PyObject_GetBuffer(items[got], &views[got], PyBUF_SIMPLE) < 0) {
            PyErr_Format(PyExc_TypeError, "record %zd is %.100s, not bytes-like", got,
                         Py_TYPE(items[got])->tp_name);
            goto done;
        }
        total += 16 + views[got].len;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) goto done;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t len = (size_t)views[i].len;
        put_le64(p, (uint64_t)len);
        put_le32(p + 8, mask(crc32c(0, p, 8)));
        memcpy(p + 12, views[i].buf, len);
        put_le32(p + 12 + len, mask(crc32c(0, p + 12, len)));
        p += 16 + len;
    }
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    Py_DECREF(seq);
    return out;
}


/* Header-only scan for an index: start offsets of the records in buf[pos:], checking only the
 * length CRCs and skipping the data. Returns (offsets as u64le bytes, pos, status, a, b); pos is
 * where the next header would start and may lie past the end of buf (the last record's data is
 * not all in buf), which a caller reading in chunks turns into bytes to skip. */
static PyObject *py_scan_headers(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t pos;
    unsigned long long max_len, base;
    if (!PyArg_ParseTuple(args, "y*nKK:scan_headers", &buf, &pos, &max_len, &base)) return NULL;
    const unsigned char *data = buf.buf;
    Py_ssize_t end = buf.len;
    if (pos < 0 || pos > end) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "scan_headers: position outside the buffer");
        return NULL;
    }
    size_t cap = 1024, n = 0;
    uint64_t *out = PyMem_RawMalloc(cap * sizeof(uint64_t));
    if (out == NULL) {
        PyBuffer_Release(&buf);
        return PyErr_NoMemory();
    }
    int status = STOP_NEED;
    unsigned long long a = 0, b = 0;
    unsigned long long p = (unsigned long long)pos;
    Py_BEGIN_ALLOW_THREADS
    while ((unsigned long long)end >= p + 12) {
        const unsigned char *h = data + p;
        uint64_t len = le64(h);
        uint32_t stored = le32(h + 8), computed = mask(crc32c(0, h, 8));
        if (stored != computed) {
            status = STOP_LENGTH_CRC;
            a = stored;
            b = computed;
            break;
        }
        if (len > max_len || len > (uint64_t)PY_SSIZE_T_MAX - 16) {
            status = STOP_TOO_LARGE;
            a = len;
            break;
        }
        if (n == cap) {
            uint64_t *grown = PyMem_RawRealloc(out, 2 * cap * sizeof(uint64_t));
            if (grown == NULL) {
                status = -1;
                break;
            }
            out = grown;
            cap *= 2;
        }
        out[n++] = base + p;
        p += 16 + len;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (status == -1) {
        PyMem_RawFree(out);
        return PyErr_NoMemory();
    }
#if PY_BIG_ENDIAN
    for (size_t i = 0; i < n; i++) put_le64((unsigned char *)&out[i], out[i]);
#endif
    PyObject *offsets = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)(n * 8));
    PyMem_RawFree(out);
    if (offsets == NULL) return NULL;
    return Py_BuildValue("(NKiKK)", offsets, p, status, a, b);
}

/* Random access: the records starting at the given offsets of buf, each checked against the
 * length the index expects (and its CRCs when verify). starts and lengths are native u64 arrays.
 * Returns (records, failed, status, a, b): failed is the position in starts of the first record
 * that did not check out (len(starts) when all did); status 5 = length differs from the index. */
static PyObject *py_gather(PyObject *self, PyObject *args) {
    Py_buffer buf, sb, lb;
    int verify;
    if (!PyArg_ParseTuple(args, "y*y*y*p:gather", &buf, &sb, &lb, &verify)) return NULL;
    PyObject *records = NULL;
    Py_ssize_t count = sb.len / 8, i = 0;
    int status = STOP_BATCH;
    unsigned long long a = 0, b = 0;
    if (lb.len != sb.len) {
        PyErr_SetString(PyExc_ValueError, "gather: starts and lengths differ in size");
        goto done;
    }
    const unsigned char *data = buf.buf;
    unsigned long long end = (unsigned long long)buf.len;
    const uint64_t *starts = sb.buf, *lengths = lb.buf;
    records = PyList_New(count);
    if (records == NULL) goto done;
    for (; i < count; i++) {
        uint64_t start = starts[i], len = lengths[i];
        if (start > end || len > end || end - start < 16 + len) {
            status = 5;
            a = len;
            break;
        }
        const unsigned char *h = data + start;
        if (le64(h) != len) {
            status = 5;
            a = le64(h);
            b = len;
            break;
        }
        if (verify) {
            uint32_t stored = le32(h + 8), computed = mask(crc32c(0, h, 8));
            if (stored != computed) {
                status = STOP_LENGTH_CRC;
                a = stored;
                b = computed;
                break;
            }
            stored = le32(h + 12 + len);
            computed = mask(crc32c(0, h + 12, (size_t)len));
            if (stored != computed) {
                status = STOP_DATA_CRC;
                a = stored;
                b = computed;
                break;
            }
        }
        PyObject *record = PyBytes_FromStringAndSize((const char *)h + 12, (Py_ssize_t)len);
        if (record == NULL) {
            Py_CLEAR(records);
            goto done;
        }
        PyList_SET_ITEM(records, i, record);
    }
    if (i < count) {
        PyObject *head = PyList_GetSlice(records, 0, i);
        Py_DECREF(records);
        records = head;
    }
done:
    PyBuffer_Release(&buf);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&lb);
    if (records == NULL) return NULL;
    return Py_BuildValue("(NniKK)", records, i, status, a, b);
}

/* Salvage: the first position in buf[start:] holding a header whose length CRC checks out and
 * whose length is at most max_len; len(buf) when there is none. Also stops where fewer than 12
 * bytes are left (the caller reads on). */
static PyObject *py_find_header(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t start;
    unsigned long long max_len;
    if (!PyArg_ParseTuple(args, "y*nK:find_header", &buf, &start, &max_len)) return NULL;
    const unsigned char *data = buf.buf;
    Py_ssize_t end = buf.len, pos = start < 0 ? 0 : start, found = end;
    Py_BEGIN_ALLOW_THREADS
    for (; pos + 12 <= end; pos++) {
        const unsigned char *h = data + pos;
        if (le32(h + 8) == mask(crc32c(0, h, 8)) && le64(h) <= max_len) {
            found = pos;
            break;
        }
    }
    if (found == end && pos < end) found = pos; /* a possible header cut by the end of buf */
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return PyLong_FromSsize_t(found);
}

/* Batched CRC-32C for columns of bytes values: the CRC of values[i][start:stop] (stop < 0: to
 * the end of each value) for every value, as u32le bytes. One call per batch instead of one per
 * value, and with the hardware CRC three values are hashed at once. A value shorter than the
 * range is a ValueError. */
static PyObject *py_crc32c_many(PyObject *self, PyObject *args) {
    PyObject *arg;
    Py_ssize_t start = 0, stop = -1;
    if (!PyArg_ParseTuple(args, "O|nn:crc32c_many", &arg, &start, &stop)) return NULL;
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "crc32c_many: start must be >= 0");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(arg, "crc32c_many() takes a sequence of bytes-like values");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_buffer *views = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    PyObject *out = NULL;
    Py_ssize_t got = 0;
    if (views == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (; got < n; got++) {
        if (PyObject_GetBuffer(items[got], &views[got], PyBUF_SIMPLE) < 0) {
            PyErr_Format(PyExc_TypeError, "value %zd is %.100s, not bytes-like", got,
                         Py_TYPE(items[got])->tp_name);
            goto done;
        }
        Py_ssize_t end = stop < 0 ? views[got].len : stop;
        if (end > views[got].len || end < start) {
            PyBuffer_Release(&views[got]);
            PyErr_Format(PyExc_ValueError,
                         "crc32c_many: value %zd holds %zd bytes, outside the range [%zd:%zd]",
                         got, views[got].len, start, stop);
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, n * 4);
    if (out == NULL) goto done;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t i = 0;
#ifdef HAVE_HW_CRC
    if (have_hw) {
        for (; i + 3 <= n; i += 3) {
            const unsigned char *p[3];
            size_t len[3];
            for (int k = 0; k < 3; k++) {
                Py_ssize_t end = stop < 0 ? views[i + k].len : stop;
                p[k] = (const unsigned char *)views[i + k].buf + start;
                len[k] = (size_t)(end - start);
            }
            size_t common = len[0] < len[1] ? len[0] : len[1];
            common = (common < len[2] ? common : len[2]) & ~(size_t)7;
            uint32_t c[3] = {0, 0, 0};
            crc_hw3(c, p[0], p[1], p[2], common);
            for (int k = 0; k < 3; k++)
                put_le32(o + 4 * (i + k), crc_hw(c[k], p[k] + common, len[k] - common));
        }
    }
#endif
    for (; i < n; i++) {
        Py_ssize_t end = stop < 0 ? views[i].len : stop;
        const unsigned char *p = (const unsigned char *)views[i].buf + start;
        put_le32(o + 4 * i, crc32c(0, p, (size_t)(end - start)));
    }
    Py_END_ALLOW_THREADS
done:
    for (Py_ssize_t j = 0; j < got; j++) PyBuffer_Release(&views[j]);
    PyMem_Free(views);
    Py_DECREF(seq);
    return out;
}

/* The same byte ranges of every value, joined: for each value in turn, value[a:b] for each
 * (a, b) in ranges. Every value must be exactly `size` bytes long (the ranges lie inside it);
 * None when one is not, so a caller can fall back to a general path. */
static PyObject *py_gather_slices(PyObject *self, PyObject *args) {
    PyObject *arg, *ranges_arg;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OOn:gather_slices", &arg, &ranges_arg, &size)) return NULL;
    PyObject *rseq = PySequence_Fast(ranges_arg, "gather_slices() takes a sequence of ranges");
    if (rseq == NULL) return NULL;
    Py_ssize_t nr = PySequence_Fast_GET_SIZE(rseq), width = 0;
    Py_ssize_t *bounds = PyMem_Calloc(nr ? (size_t)(2 * nr) : 1, sizeof(Py_ssize_t));
    PyObject *seq = NULL, *out = NULL;
    Py_buffer view;
    if (bounds == NULL) {
        Py_DECREF(rseq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t r = 0; r < nr; r++) {
        Py_ssize_t a, b;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(rseq, r), "nn:gather_slices range", &a,
                              &b))
            goto done;
        if (a < 0 || b < a || b > size) {
            PyErr_Format(PyExc_ValueError, "gather_slices: range (%zd, %zd) outside %zd bytes", a,
                         b, size);
            goto done;
        }
        bounds[2 * r] = a;
        bounds[2 * r + 1] = b;
        width += b - a;
    }
    seq = PySequence_Fast(arg, "gather_slices() takes a sequence of bytes-like values");
    if (seq == NULL) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (width && n > PY_SSIZE_T_MAX / width) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, n * width);
    if (out == NULL) goto done;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyObject_GetBuffer(items[i], &view, PyBUF_SIMPLE) < 0) {
            PyErr_Format(PyExc_TypeError, "value %zd is %.100s, not bytes-like", i,
                         Py_TYPE(items[i])->tp_name);
            Py_CLEAR(out);
            goto done;
        }
        if (view.len != size) {
            PyBuffer_Release(&view);
            Py_DECREF(out);
            out = Py_NewRef(Py_None);
            goto done;
        }
        const unsigned char *p = view.buf;
        for (Py_ssize_t r = 0; r < nr; r++) {
            Py_ssize_t a = bounds[2 * r], len = bounds[2 * r + 1] - a;
            memcpy(o, p + a, (size_t)len);
            o += len;
        }
        PyBuffer_Release(&view);
    }
done:
    PyMem_Free(bounds);
    Py_DECREF(rseq);
    Py_XDECREF(seq);
    return out;
}

static PyMethodDef methods[] = {
    {"crc32c", py_crc32c, METH_VARARGS, "CRC-32C of a bytes-like object, continuing from value."},
    {"masked_crc32c", py_masked_crc32c, METH_VARARGS, "TFRecord's masked CRC-32C."},
    {"scan", py_scan, METH_VARARGS, "Parse complete framed records from a buffer."},
    {"frame", py_frame, METH_O, "Frame a sequence of records as TFRecord bytes."},
    {"scan_headers", py_scan_headers, METH_VARARGS, "Record start offsets from headers only."},
    {"gather", py_gather, METH_VARARGS, "Checked records at given offsets of a buffer."},
    {"find_header", py_find_header, METH_VARARGS, "Next position with a valid length CRC."},
    {"crc32c_many", py_crc32c_many, METH_VARARGS, "CRC-32C of each value's [start:stop]."},
    {"gather_slices", py_gather_slices, METH_VARARGS, "The same byte ranges of every value."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    init_table();
#ifdef HAVE_HW_CRC
    __builtin_cpu_init();
    have_hw = __builtin_cpu_supports("sse4.2");
#endif
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyModule_AddIntConstant(m, "HARDWARE_CRC", have_hw);
    return m;
}
