/* Optional C kernel for pipeline.loaders.transforms.ImageAugment: the whole augmentation of a
 * batch in one pass per image.
 *
 *   augment(src, out, n, h, w, c, pixels, flip, top, left, crop_h, crop_w, resize,
 *           lo_y, hi_y, fy, lo_x, hi_x, fx, bright, factor, top_value)
 *
 * src and out are C-contiguous (n, h, w, c) buffers: uint8 when pixels is true, else float32.
 * flip is n bytes (0/1); top and left are n int64 window offsets; lo_*, hi_* (int64) and f*
 * (float32) are resize_weights(crop, size) for each axis, used when resize is true. bright (the
 * brightness addend of each image) and factor (its contrast factor) are n float32 values, or
 * empty to skip that step. Each image is flipped, cropped and resized back bilinearly, brightened,
 * contrasted around its per-channel mean, clipped to [0, top_value] and, for pixels, rounded half
 * to even back to uint8.
 *
 * transforms._augment_numpy is the pure-numpy twin that defines the contract: every float32
 * operation here is the one numpy does there, in the same order, so the results are equal bit for
 * bit. That needs no fused multiply-add (setup.py passes -ffp-contract=off) and the mean summed
 * in float64 in a fixed order: down each column first, then across the columns (the numpy twin
 * uses np.add.accumulate, which is sequential by definition). The loops run without the GIL.
 *
 * Speed: the column pass (a gather along each row) is the costly step; on x86 CPUs with SSSE3
 * (checked at import) single-channel images take it four outputs at a time with byte shuffles
 * made once per (left, flip). The arithmetic is the same float32 operations either way.
 * use_ssse3(flag) turns that path off and on, for the tests.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

typedef struct {
    const void *src;
    void *out;
    Py_ssize_t n, h, w, c, crop_h, crop_w;
    int pixels, resize;
    const unsigned char *flip;
    const int64_t *top, *left, *lo_y, *hi_y, *lo_x, *hi_x;
    const float *fy, *fx, *bright, *factor;
    float top_value;
    /* scratch */
    float *band, *rows, *img, *mean;
    double *colsum;
    Py_ssize_t *col_lo, *col_hi;
    unsigned char *shuffles; /* the SSSE3 column pass's groups, per (left, flip) when cached */
    unsigned char *built;    /* which (left, flip) groups are made; NULL: no cache */
} Job;

/* Small loops over restrict pointers, kept out of line so that each gets the registers and
 * the contiguous ones are vectorized. */
#if defined(__GNUC__) || defined(__clang__)
#define LOOP static __attribute__((noinline))
#else
#define LOOP static
#endif

LOOP void to_float(const uint8_t *restrict s, float *restrict d, Py_ssize_t m) {
    for (Py_ssize_t q = 0; q < m; q++) d[q] = (float)s[q];
}

LOOP void copy_floats(const float *restrict s, float *restrict d, Py_ssize_t m) {
    memcpy(d, s, sizeof(float) * (size_t)m);
}

/* d[j] = s[w - 1 - j] for the rows of an image (pixels of c channels). */
LOOP void mirror(const float *restrict s, float *restrict d, Py_ssize_t h, Py_ssize_t w,
                   Py_ssize_t c) {
    for (Py_ssize_t y = 0; y < h; y++) {
        const float *restrict row = s + y * w * c;
        float *restrict dst = d + y * w * c;
        if (c == 1) {
            for (Py_ssize_t j = 0; j < w; j++) dst[j] = row[w - 1 - j];
            continue;
        }
        for (Py_ssize_t j = 0; j < w; j++)
            for (Py_ssize_t k = 0; k < c; k++) dst[j * c + k] = row[(w - 1 - j) * c + k];
    }
}

/* The column pass: each of `count` rows of the band resized across to w columns, from source
 * offsets cl (lower) and ch (upper), the mirror folded into them: d[j] = (b - a) * fx[j] + a.
 * Single-channel rows go four at a time, sharing the loads of cl, ch and fx. */
LOOP void column_pass(const float *restrict band, float *restrict d, const Py_ssize_t *restrict cl,
                      const Py_ssize_t *restrict ch, const float *restrict fx, Py_ssize_t count,
                      Py_ssize_t w, Py_ssize_t c) {
    const Py_ssize_t wc = w * c;
    Py_ssize_t r = 0;
    if (c == 1) {
        for (; r + 4 <= count; r += 4) {
            const float *restrict s0 = band + r * w, *restrict s1 = s0 + w;
            const float *restrict s2 = s1 + w, *restrict s3 = s2 + w;
            float *restrict d0 = d + r * w, *restrict d1 = d0 + w;
            float *restrict d2 = d1 + w, *restrict d3 = d2 + w;
            for (Py_ssize_t j = 0; j < w; j++) {
                const Py_ssize_t lo = cl[j], hi = ch[j];
                const float f = fx[j];
                float a0 = s0[lo], a1 = s1[lo], a2 = s2[lo], a3 = s3[lo];
                float v0 = s0[hi] - a0, v1 = s1[hi] - a1, v2 = s2[hi] - a2, v3 = s3[hi] - a3;
                v0 = v0 * f;
                v1 = v1 * f;
                v2 = v2 * f;
                v3 = v3 * f;
                d0[j] = v0 + a0;
                d1[j] = v1 + a1;
                d2[j] = v2 + a2;
                d3[j] = v3 + a3;
            }
        }
    }
    for (; r < count; r++) {
        const float *restrict row = band + r * wc;
        float *restrict dst = d + r * wc;
        for (Py_ssize_t j = 0; j < w; j++) {
            const float *pa = row + cl[j], *pb = row + ch[j];
            for (Py_ssize_t k = 0; k < c; k++) {
                float a = pa[k];
                float v = pb[k] - a;
                v = v * fx[j];
                dst[j * c + k] = v + a;
            }
        }
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <tmmintrin.h>
#define HAVE_SSSE3_PATH 1
static int have_ssse3 = 0;

/* One group of four outputs of the single-channel column pass: its a and b values lie in four
 * floats from base_a and from base_b (a window is at most as wide as the image, so four
 * consecutive outputs span at most four source columns), picked by a byte shuffle. */
typedef struct {
    Py_ssize_t base_a, base_b;
    unsigned char mask_a[16], mask_b[16];
} Group;

static int build_groups(Group *groups, const Py_ssize_t *cl, const Py_ssize_t *ch, Py_ssize_t w) {
    for (Py_ssize_t g = 0; g < w / 4; g++) {
        const Py_ssize_t *a = cl + 4 * g, *b = ch + 4 * g;
        Py_ssize_t base_a = a[0], base_b = b[0];
        for (int t = 1; t < 4; t++) {
            if (a[t] < base_a) base_a = a[t];
            if (b[t] < base_b) base_b = b[t];
        }
        for (int t = 0; t < 4; t++) {
            Py_ssize_t oa = a[t] - base_a, ob = b[t] - base_b;
            if (oa > 3 || ob > 3) return 0;
            for (int k = 0; k < 4; k++) {
                groups[g].mask_a[4 * t + k] = (unsigned char)(4 * oa + k);
                groups[g].mask_b[4 * t + k] = (unsigned char)(4 * ob + k);
            }
        }
        groups[g].base_a = base_a;
        groups[g].base_b = base_b;
    }
    return 1;
}

/* column_pass for c == 1 with the groups (the tail of w % 4 outputs in scalar code). The band
 * must have 3 readable floats after its end: a window's load may run past the last column. */
__attribute__((target("ssse3"), noinline)) static void column_pass_ssse3(
    const float *band, float *d, const Group *groups, const Py_ssize_t *cl, const Py_ssize_t *ch,
    const float *fx, Py_ssize_t count, Py_ssize_t w) {
    for (Py_ssize_t g = 0; g < w / 4; g++) {
        const __m128i ma = _mm_loadu_si128((const __m128i *)groups[g].mask_a);
        const __m128i mb = _mm_loadu_si128((const __m128i *)groups[g].mask_b);
        const __m128 f = _mm_loadu_ps(fx + 4 * g);
        const float *pa = band + groups[g].base_a, *pb = band + groups[g].base_b;
        float *dst = d + 4 * g;
        for (Py_ssize_t r = 0; r < count; r++) {
            __m128 a = _mm_castsi128_ps(
                _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + r * w)), ma));
            __m128 b = _mm_castsi128_ps(
                _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + r * w)), mb));
            __m128 v = _mm_sub_ps(b, a);
            v = _mm_mul_ps(v, f);
            _mm_storeu_ps(dst + r * w, _mm_add_ps(v, a));
        }
    }
    for (Py_ssize_t j = (w / 4) * 4; j < w; j++) {
        for (Py_ssize_t r = 0; r < count; r++) {
            float a = band[r * w + cl[j]];
            float v = band[r * w + ch[j]] - a;
            v = v * fx[j];
            d[r * w + j] = v + a;
        }
    }
}
#endif

/* d = (b - a) * f + a, rounding after each operation as numpy does. */
LOOP void lerp(const float *restrict a, const float *restrict b, float f, float *restrict d,
                 Py_ssize_t m) {
    for (Py_ssize_t q = 0; q < m; q++) {
        float v = b[q] - a[q];
        v = v * f;
        d[q] = v + a[q];
    }
}

LOOP void add(float *restrict x, float b, Py_ssize_t m) {
    for (Py_ssize_t q = 0; q < m; q++) x[q] = x[q] + b;
}

/* Mean of each channel of an (h, w, c) image in float64: down each column, then across. */
LOOP void channel_mean(const float *restrict x, double *restrict colsum, float *restrict mean,
                         Py_ssize_t h, Py_ssize_t w, Py_ssize_t c) {
    const Py_ssize_t wc = w * c;
    for (Py_ssize_t q = 0; q < wc; q++) colsum[q] = (double)x[q];
    for (Py_ssize_t y = 1; y < h; y++) {
        const float *restrict row = x + y * wc;
        for (Py_ssize_t q = 0; q < wc; q++) colsum[q] = colsum[q] + (double)row[q];
    }
    for (Py_ssize_t k = 0; k < c; k++) {
        double total = colsum[k];
        for (Py_ssize_t j = 1; j < w; j++) total = total + colsum[j * c + k];
        mean[k] = (float)(total / (double)(h * w));
    }
}

/* x = (x - mean) * f + mean per channel. */
LOOP void contrast(float *restrict x, const float *restrict mean, float f, Py_ssize_t hw,
                     Py_ssize_t c) {
    if (c == 1) {
        const float m = mean[0];
        for (Py_ssize_t p = 0; p < hw; p++) {
            float v = x[p] - m;
            v = v * f;
            x[p] = v + m;
        }
        return;
    }
    for (Py_ssize_t p = 0; p < hw; p++) {
        for (Py_ssize_t k = 0; k < c; k++) {
            float v = x[p * c + k] - mean[k];
            v = v * f;
            x[p * c + k] = v + mean[k];
        }
    }
}

/* np.clip(v, 0, top): 0 > v ? 0 : v keeps -0.0 and NaN as numpy does (maxss / minss). */
static inline float clip(float v, float top) {
    v = 0.0f > v ? 0.0f : v;
    return top < v ? top : v;
}

/* Clip, round half to even (np.rint) and store as uint8. */
LOOP void store_pixels(const float *restrict s, uint8_t *restrict d, Py_ssize_t m, float top) {
    Py_ssize_t q = 0;
#ifdef HAVE_SSE2
    /* max(0, v), min(top, v) are clip's two steps; cvtps2dq rounds half to even (the default
     * rounding mode) and the saturating packs narrow the 0..255 results to bytes. */
    const __m128 zero = _mm_setzero_ps(), high = _mm_set1_ps(top);
#define PIXELS4(k) _mm_cvtps_epi32(_mm_min_ps(high, _mm_max_ps(zero, _mm_loadu_ps(s + q + (k)))))
    for (; q + 16 <= m; q += 16) {
        __m128i lo = _mm_packs_epi32(PIXELS4(0), PIXELS4(4));
        __m128i hi = _mm_packs_epi32(PIXELS4(8), PIXELS4(12));
        _mm_storeu_si128((__m128i *)(d + q), _mm_packus_epi16(lo, hi));
    }
#undef PIXELS4
#endif
    for (; q < m; q++) {
        /* exact for 0 <= v < 2**23 in the default rounding mode */
        float v = (clip(s[q], top) + 8388608.0f) - 8388608.0f;
        d[q] = (uint8_t)(int32_t)v;
    }
}

LOOP void store_floats(const float *restrict s, float *restrict d, Py_ssize_t m, float top) {
    for (Py_ssize_t q = 0; q < m; q++) d[q] = clip(s[q], top);
}

LOOP void run(const Job *job) {
    const Py_ssize_t n = job->n, h = job->h, w = job->w, c = job->c, crop_h = job->crop_h;
    const Py_ssize_t wc = w * c, hwc = h * wc;
    const int pixels = job->pixels;
    float *const band = job->band, *const rows = job->rows, *const img = job->img;
    Py_ssize_t *const cl = job->col_lo, *const ch = job->col_hi;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int flip = job->flip[i] != 0;
        const float *source = (const float *)job->src + i * hwc; /* unless pixels */
        if (job->resize) {
            const Py_ssize_t top = (Py_ssize_t)job->top[i], left = (Py_ssize_t)job->left[i];
            for (Py_ssize_t j = 0; j < w; j++) {
                Py_ssize_t lo = left + (Py_ssize_t)job->lo_x[j];
                Py_ssize_t hi = left + (Py_ssize_t)job->hi_x[j];
                cl[j] = (flip ? w - 1 - lo : lo) * c;
                ch[j] = (flip ? w - 1 - hi : hi) * c;
            }
            int done = 0;
#ifdef HAVE_SSSE3_PATH
            Group *groups = (Group *)job->shuffles;
            int grouped = 0;
            if (have_ssse3 && c == 1 && w >= 4) {
                /* the groups depend on the image only through (left, flip): made once each */
                Py_ssize_t key = 2 * left + flip;
                if (job->built == NULL) {
                    grouped = build_groups(groups, cl, ch, w);
                } else {
                    groups += key * (w / 4);
                    if (!job->built[key]) job->built[key] = build_groups(groups, cl, ch, w) ? 1 : 2;
                    grouped = job->built[key] == 1;
                }
            }
            if (grouped) {
                if (pixels)
                    to_float((const uint8_t *)job->src + i * hwc + top * wc, band, crop_h * wc);
                else
                    copy_floats(source + top * wc, band, crop_h * wc);
                column_pass_ssse3(band, rows, groups, cl, ch, job->fx, crop_h, w);
                done = 1;
            }
#endif
            if (!done) {
                if (pixels) {
                    to_float((const uint8_t *)job->src + i * hwc + top * wc, band, crop_h * wc);
                    source = band;
                } else {
                    source += top * wc;
                }
                column_pass(source, rows, cl, ch, job->fx, crop_h, w, c);
            }
            /* the row pass: img[y] = (rows[hi] - rows[lo]) * fy[y] + rows[lo] */
            for (Py_ssize_t y = 0; y < h; y++)
                lerp(rows + job->lo_y[y] * wc, rows + job->hi_y[y] * wc, job->fy[y], img + y * wc,
                     wc);
        } else {
            if (pixels) {
                to_float((const uint8_t *)job->src + i * hwc, flip ? band : img, hwc);
                source = band;
            } else if (!flip) {
                copy_floats(source, img, hwc);
            }
            if (flip) mirror(source, img, h, w, c);
        }
        if (job->bright != NULL) add(img, job->bright[i], hwc);
        if (job->factor != NULL) {
            channel_mean(img, job->colsum, job->mean, h, w, c);
            contrast(img, job->mean, job->factor[i], h * w, c);
        }
        if (pixels)
            store_pixels(img, (uint8_t *)job->out + i * hwc, hwc, job->top_value);
        else
            store_floats(img, (float *)job->out + i * hwc, hwc, job->top_value);
    }
}

/* buf holds exactly `count` items of `size` bytes, aligned for them (or none when optional). */
static int check(const Py_buffer *buf, Py_ssize_t count, Py_ssize_t size, int optional,
                 const char *name) {
    if (optional && buf->len == 0) return 1;
    if (buf->len != count * size) {
        PyErr_Format(PyExc_ValueError, "augment: %s has %zd bytes, expected %zd", name, buf->len,
                     count * size);
        return 0;
    }
    if (buf->len > 0 && ((uintptr_t)buf->buf) % (uintptr_t)size != 0) {
        PyErr_Format(PyExc_ValueError, "augment: %s is not aligned", name);
        return 0;
    }
    return 1;
}

static int in_range(const int64_t *v, Py_ssize_t count, int64_t low, int64_t high,
                    const char *name) {
    for (Py_ssize_t i = 0; i < count; i++) {
        if (v[i] < low || v[i] > high) {
            PyErr_Format(PyExc_ValueError, "augment: %s[%zd] = %lld is outside [%lld, %lld]",
                         name, i, (long long)v[i], (long long)low, (long long)high);
            return 0;
        }
    }
    return 1;
}

static PyObject *py_augment(PyObject *self, PyObject *args) {
    Py_buffer src, out, flip, top, left, lo_y, hi_y, fy, lo_x, hi_x, fx, bright, factor;
    Py_ssize_t n, h, w, c, crop_h, crop_w;
    int pixels, resize;
    float top_value;
    if (!PyArg_ParseTuple(args, "y*w*nnnnpy*y*y*nnpy*y*y*y*y*y*y*y*f:augment", &src, &out, &n,
                          &h, &w, &c, &pixels, &flip, &top, &left, &crop_h, &crop_w, &resize,
                          &lo_y, &hi_y, &fy, &lo_x, &hi_x, &fx, &bright, &factor, &top_value))
        return NULL;
    Py_buffer *views[] = {&src, &out, &flip, &top, &left, &lo_y, &hi_y,
                          &fy,  &lo_x, &hi_x, &fx,  &bright, &factor};
    PyObject *result = NULL;
    Job job = {0};
    Py_ssize_t size = pixels ? 1 : 4;
    if (n < 0 || h < 1 || w < 1 || c < 1 || h > PY_SSIZE_T_MAX / w / c ||
        (n > 0 && h * w * c > PY_SSIZE_T_MAX / 8 / n)) {
        PyErr_SetString(PyExc_ValueError, "augment: bad shape");
        goto done;
    }
    if (!check(&src, n * h * w * c, size, 0, "src") || !check(&out, n * h * w * c, size, 0, "out") ||
        !check(&flip, n, 1, 0, "flip") || !check(&top, n, 8, 0, "top") ||
        !check(&left, n, 8, 0, "left") || !check(&bright, n, 4, 1, "bright") ||
        !check(&factor, n, 4, 1, "factor"))
        goto done;
    if (n == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (resize) {
        if (crop_h < 1 || crop_h > h || crop_w < 1 || crop_w > w) {
            PyErr_SetString(PyExc_ValueError, "augment: the crop must fit in the image");
            goto done;
        }
        if (!check(&lo_y, h, 8, 0, "lo_y") || !check(&hi_y, h, 8, 0, "hi_y") ||
            !check(&fy, h, 4, 0, "fy") || !check(&lo_x, w, 8, 0, "lo_x") ||
            !check(&hi_x, w, 8, 0, "hi_x") || !check(&fx, w, 4, 0, "fx") ||
            !in_range(lo_y.buf, h, 0, crop_h - 1, "lo_y") ||
            !in_range(hi_y.buf, h, 0, crop_h - 1, "hi_y") ||
            !in_range(lo_x.buf, w, 0, crop_w - 1, "lo_x") ||
            !in_range(hi_x.buf, w, 0, crop_w - 1, "hi_x") ||
            !in_range(top.buf, n, 0, h - crop_h, "top") ||
            !in_range(left.buf, n, 0, w - crop_w, "left"))
            goto done;
    }
    job = (Job){.src = src.buf, .out = out.buf, .n = n, .h = h, .w = w, .c = c,
                .crop_h = crop_h, .crop_w = crop_w, .pixels = pixels, .resize = resize,
                .flip = flip.buf, .top = top.buf, .left = left.buf, .lo_y = lo_y.buf,
                .hi_y = hi_y.buf, .lo_x = lo_x.buf, .hi_x = hi_x.buf, .fy = fy.buf, .fx = fx.buf,
                .bright = bright.len ? bright.buf : NULL, .factor = factor.len ? factor.buf : NULL,
                .top_value = top_value};
    job.band = PyMem_RawMalloc(sizeof(float) * (size_t)(h * w * c + 4));
    job.rows = PyMem_RawMalloc(sizeof(float) * (size_t)(h * w * c));
    job.img = PyMem_RawMalloc(sizeof(float) * (size_t)(h * w * c));
    job.mean = PyMem_RawMalloc(sizeof(float) * (size_t)c);
    job.colsum = PyMem_RawMalloc(sizeof(double) * (size_t)(w * c));
    job.col_lo = PyMem_RawMalloc(sizeof(Py_ssize_t) * (size_t)w);
    job.col_hi = PyMem_RawMalloc(sizeof(Py_ssize_t) * (size_t)w);
#ifdef HAVE_SSSE3_PATH
    {
        /* a cache of every (left, flip) when it is small (~200 KiB), else one image's groups */
        Py_ssize_t keys = resize ? 2 * (w - crop_w + 1) : 0;
        int cache = keys > 0 && keys * (w / 4) <= 4096;
        job.shuffles = PyMem_RawMalloc(sizeof(Group) * (size_t)((cache ? keys : 1) * (w / 4) + 1));
        if (cache) {
            job.built = PyMem_RawCalloc((size_t)keys, 1);
            if (job.built == NULL) {
                PyMem_RawFree(job.shuffles);
                job.shuffles = NULL;
            }
        }
    }
    int no_groups = job.shuffles == NULL;
#else
    int no_groups = 0; /* no SSSE3 path: no groups to hold */
#endif
    if (!job.band || !job.rows || !job.img || !job.mean || !job.colsum || !job.col_lo || !job.col_hi ||
        no_groups) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS run(&job);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyMem_RawFree(job.band);
    PyMem_RawFree(job.rows);
    PyMem_RawFree(job.img);
    PyMem_RawFree(job.mean);
    PyMem_RawFree(job.colsum);
    PyMem_RawFree(job.col_lo);
    PyMem_RawFree(job.shuffles);
    PyMem_RawFree(job.built);
    PyMem_RawFree(job.col_hi);
    for (size_t k = 0; k < sizeof(views) / sizeof(views[0]); k++) PyBuffer_Release(views[k]);
    return result;
}

static int have_ssse3_flag(void) {
#ifdef HAVE_SSSE3_PATH
    return have_ssse3;
#else
    return 0;
#endif
}

/* use_ssse3(flag) -> bool: turn the SSSE3 column pass off (or back on where the CPU has it);
 * returns whether it was on. For the tests, which compare both paths with numpy. */
static PyObject *py_use_ssse3(PyObject *self, PyObject *arg) {
    int flag = PyObject_IsTrue(arg);
    if (flag < 0) return NULL;
    int was = have_ssse3_flag();
#ifdef HAVE_SSSE3_PATH
    have_ssse3 = flag && __builtin_cpu_supports("ssse3");
#endif
    return PyBool_FromLong(was);
}

static PyMethodDef methods[] = {
    {"augment", py_augment, METH_VARARGS,
     "Flip, crop + bilinear resize, brightness, contrast, clip and round a batch of images."},
    {"use_ssse3", py_use_ssse3, METH_O, "Turn the SSSE3 column pass off or on (for tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_imageops", NULL, -1, methods};

PyMODINIT_FUNC PyInit__imageops(void) {
#ifdef HAVE_SSSE3_PATH
    __builtin_cpu_init();
    have_ssse3 = __builtin_cpu_supports("ssse3") != 0;
#endif
    return PyModule_Create(&module);
}
