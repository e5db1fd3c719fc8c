// The inner loops of Blosc decoding, for WebAssembly with SIMD: one LZ4 block, and the byte
// unshuffle of one Blosc block. blosc-wasm.ts drives them a Blosc block at a time through a small
// linear memory (the block's compressed bytes in, the unshuffled block out), and falls back to
// the JavaScript decoder (blosc.ts, lz4.ts) where WebAssembly is not available.
//
// Built by scripts/build-wasm.mjs (clang --target=wasm32 -msimd128, no libc) into
// blosc-wasm-binary.ts, which is committed; test/io/blosc-wasm.test.ts checks that the two agree.
//
// Safety: every read stays below `iend + INPUT_SLACK` and every write below `oend`, whatever the
// input; the caller places INPUT_SLACK readable bytes after each input. Corrupt input gives a
// negative result, never a write outside [dst, oend).

#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;

/** Bytes the caller leaves readable after an input, so literal copies may read 16 bytes at a time. */
#define INPUT_SLACK 16

enum { ERR_CORRUPT = -1 };

static inline void copy16(u8 *d, const u8 *s) { wasm_v128_store(d, wasm_v128_load(s)); }

/**
 * Decodes the LZ4 block src[0, srclen) into dst, which has room for exactly `expected` bytes.
 * Returns the bytes written (the caller checks it is `expected`), or ERR_CORRUPT.
 */
__attribute__((export_name("lz4_decode"))) int lz4_decode(const u8 *src, int srclen, u8 *dst, int expected) {
  const u8 *ip = src;
  const u8 *const iend = src + srclen;
  u8 *op = dst;
  u8 *const oend = dst + expected;
  while (ip < iend) {
    const unsigned token = *ip++;
    size_t lit = token >> 4;
    if (lit == 15) {
      unsigned b;
      do {
        if (ip >= iend) return ERR_CORRUPT;
        b = *ip++;
        lit += b;
      } while (b == 255);
    }
    if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op)) return ERR_CORRUPT;
    // A short run is copied as 16 bytes: it reads at most INPUT_SLACK past the input and writes
    // only below oend; what lands past the run is overwritten by what follows it.
    if (lit <= 16 && (size_t)(oend - op) >= 16) {
      copy16(op, ip);
    } else if (lit <= 32 && (size_t)(oend - op) >= 32) {
      copy16(op, ip); // lit > 16: reading 32 bytes stays within INPUT_SLACK of the input's end
      copy16(op + 16, ip + 16);
    } else {
      __builtin_memcpy(op, ip, lit);
    }
    ip += lit;
    op += lit;
    if (ip >= iend) break; // the last sequence has literals only
    if (iend - ip < 2) return ERR_CORRUPT;
    const size_t offset = (size_t)ip[0] | ((size_t)ip[1] << 8);
    ip += 2;
    size_t len = token & 15;
    if (len == 15) {
      unsigned b;
      do {
        if (ip >= iend) return ERR_CORRUPT;
        b = *ip++;
        len += b;
      } while (b == 255);
    }
    len += 4;
    if (offset == 0 || offset > (size_t)(op - dst)) return ERR_CORRUPT;
    if (len > (size_t)(oend - op)) return ERR_CORRUPT;
    const u8 *m = op - offset;
    if (offset >= len && len > 64) {
      __builtin_memcpy(op, m, len); // long and not overlapping: the engine's memcpy
    } else if (offset >= 16) {
      // Each 16-byte read lies wholly before the write position (offset ≥ 16), so copying in
      // steps of 16 gives LZ4's overlapping semantics; the last step may write past the match,
      // below oend only, and is overwritten later.
      if ((size_t)(oend - op) >= len + 15) {
        u8 *d = op;
        const u8 *s = m;
        u8 *const stop = op + len;
        do {
          copy16(d, s);
          d += 16;
          s += 16;
        } while (d < stop);
      } else if (offset >= len) {
        __builtin_memcpy(op, m, len);
      } else {
        // Overlapping, near the end: forwards in steps of `offset`, each from before the write position.
        for (size_t i = 0; i < len; i += offset) __builtin_memcpy(op + i, m + i, offset < len - i ? offset : len - i);
      }
    } else if (offset == 1) {
      __builtin_memset(op, *m, len);
    } else {
      // A pattern of `offset` bytes: laid down once, then doubled, each copy from before the
      // write position.
      size_t done = 0;
      while (done < len && done < offset) {
        op[done] = m[done];
        done++;
      }
      while (done < len) {
        size_t n = done < len - done ? done : len - done;
        n -= n % offset; // whole periods, so the copy continues the pattern
        if (n == 0) n = len - done < offset ? len - done : offset;
        __builtin_memcpy(op + done, op, n);
        done += n;
      }
    }
    op += len;
  }
  return (int)(op - dst);
}

/** Byte b of element i sits at b * n + i in src; in dst, at i * typesize + b. */
static void unshuffle_generic(const u8 *src, u8 *dst, size_t n, size_t typesize) {
  for (size_t b = 0; b < typesize; b++) {
    const u8 *s = src + b * n;
    u8 *d = dst + b;
    for (size_t i = 0; i < n; i++, d += typesize) *d = s[i];
  }
}

static void unshuffle2(const u8 *src, u8 *dst, size_t n) {
  const u8 *s0 = src, *s1 = src + n;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a = wasm_v128_load(s0 + i), b = wasm_v128_load(s1 + i);
    wasm_v128_store(dst + 2 * i, wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    wasm_v128_store(dst + 2 * i + 16, wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
  }
  for (; i < n; i++) {
    dst[2 * i] = s0[i];
    dst[2 * i + 1] = s1[i];
  }
}

static void unshuffle4(const u8 *src, u8 *dst, size_t n) {
  const u8 *s0 = src, *s1 = src + n, *s2 = src + 2 * n, *s3 = src + 3 * n;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a = wasm_v128_load(s0 + i), b = wasm_v128_load(s1 + i), c = wasm_v128_load(s2 + i), d = wasm_v128_load(s3 + i);
    // bytes of streams 0,1 and of 2,3 paired, then the pairs interleaved as 16-bit lanes
    v128_t ab0 = wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    v128_t ab1 = wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    v128_t cd0 = wasm_i8x16_shuffle(c, d, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    v128_t cd1 = wasm_i8x16_shuffle(c, d, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    u8 *o = dst + 4 * i;
    wasm_v128_store(o, wasm_i16x8_shuffle(ab0, cd0, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(o + 16, wasm_i16x8_shuffle(ab0, cd0, 4, 12, 5, 13, 6, 14, 7, 15));
    wasm_v128_store(o + 32, wasm_i16x8_shuffle(ab1, cd1, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(o + 48, wasm_i16x8_shuffle(ab1, cd1, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  for (; i < n; i++) {
    u8 *o = dst + 4 * i;
    o[0] = s0[i];
    o[1] = s1[i];
    o[2] = s2[i];
    o[3] = s3[i];
  }
}

static void unshuffle8(const u8 *src, u8 *dst, size_t n) {
  const u8 *s[8];
  for (int k = 0; k < 8; k++) s[k] = src + k * n;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t x[8];
    for (int k = 0; k < 8; k++) x[k] = wasm_v128_load(s[k] + i);
    v128_t p[8], q[8];
    for (int k = 0; k < 4; k++) { // bytes of streams 2k, 2k+1 paired
      p[2 * k] = wasm_i8x16_shuffle(x[2 * k], x[2 * k + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      p[2 * k + 1] = wasm_i8x16_shuffle(x[2 * k], x[2 * k + 1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    }
    for (int k = 0; k < 2; k++) { // pairs of streams 4k..4k+1 and 4k+2..4k+3 as 16-bit lanes: 4-byte groups
      for (int h = 0; h < 2; h++) {
        q[4 * k + 2 * h] = wasm_i16x8_shuffle(p[4 * k + h], p[4 * k + 2 + h], 0, 8, 1, 9, 2, 10, 3, 11);
        q[4 * k + 2 * h + 1] = wasm_i16x8_shuffle(p[4 * k + h], p[4 * k + 2 + h], 4, 12, 5, 13, 6, 14, 7, 15);
      }
    }
    // q[0..3]: bytes 0-3 of elements 0-3, 4-7, 8-11, 12-15; q[4..7]: bytes 4-7 of the same
    u8 *o = dst + 8 * i;
    for (int g = 0; g < 4; g++) {
      wasm_v128_store(o + 32 * g, wasm_i32x4_shuffle(q[g], q[4 + g], 0, 4, 1, 5));
      wasm_v128_store(o + 32 * g + 16, wasm_i32x4_shuffle(q[g], q[4 + g], 2, 6, 3, 7));
    }
  }
  for (; i < n; i++)
    for (int k = 0; k < 8; k++) dst[8 * i + k] = s[k][i];
}

/**
 * Undoes Blosc's byte shuffle of one block of `bsize` bytes: elements of `typesize` bytes, the
 * bytes past the whole elements copied as they are.
 */
__attribute__((export_name("unshuffle"))) void unshuffle(const u8 *src, u8 *dst, int bsize, int typesize) {
  const size_t n = (size_t)bsize / (size_t)typesize;
  switch (typesize) {
    case 2: unshuffle2(src, dst, n); break;
    case 4: unshuffle4(src, dst, n); break;
    case 8: unshuffle8(src, dst, n); break;
    default: unshuffle_generic(src, dst, n, (size_t)typesize);
  }
  const size_t rest = n * (size_t)typesize;
  if (rest < (size_t)bsize) __builtin_memcpy(dst + rest, src + rest, (size_t)bsize - rest);
}

/**
 * acc[i] += src[i] for n float32 values, in float64: each value widened exactly, each add one
 * IEEE double add, in order, so the sums are bit for bit what JavaScript's `acc + x` gives (the
 * sum over a chunk's first axis that zarr-reduce.ts fuses into its read).
 */
__attribute__((export_name("add_f32"))) void add_f32(double *acc, const float *src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(src + i);
    v128_t lo = wasm_f64x2_promote_low_f32x4(x);
    v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 0, 1));
    wasm_v128_store(acc + i, wasm_f64x2_add(wasm_v128_load(acc + i), lo));
    wasm_v128_store(acc + i + 2, wasm_f64x2_add(wasm_v128_load(acc + i + 2), hi));
  }
  for (; i < n; i++) acc[i] += (double)src[i];
}

/** acc[i] += src[i] for n float64 values. */
__attribute__((export_name("add_f64"))) void add_f64(double *acc, const double *src, int n) {
  int i = 0;
  for (; i + 2 <= n; i += 2) wasm_v128_store(acc + i, wasm_f64x2_add(wasm_v128_load(acc + i), wasm_v128_load(src + i)));
  for (; i < n; i++) acc[i] += src[i];
}

/**
 * acc[i] += src[i] where src[i] is not NaN, for n float32 values, and nan[i] += 1 where it is:
 * the sum that skips NaN, whose count is the rows added less the NaN (nansum, nanmean's first
 * step, count, xarray's grouped means). A NaN adds +0 instead of being skipped, which gives the
 * same bits: a sum that starts from +0 is never -0 (x + y is -0 only when both are), and s + 0 is
 * s for every other s, infinities and NaN included. Counting the NaN rather than the values
 * leaves the counts untouched by data without NaN (with 4 bytes of counts beside each sum's 8,
 * counting every value took ~2.5× add_f32's time). Returns how many NaN there were.
 */
__attribute__((export_name("add_nan_f32"))) int add_nan_f32(double *acc, int32_t *nan, const float *src, int n) {
  int i = 0, seen = 0;
  // 16 values a step, tested for NaN first and once: without NaN they are added as add_f32 adds
  // them, with no masking (~1.1× add_f32's time, against 1.5× masking every value)
  for (; i + 16 <= n; i += 16) {
    v128_t x[4], keep[4];
    for (int q = 0; q < 4; q++) {
      x[q] = wasm_v128_load(src + i + 4 * q);
      keep[q] = wasm_f32x4_eq(x[q], x[q]); // all ones where not NaN
    }
    const int clean = wasm_i32x4_all_true(wasm_v128_and(wasm_v128_and(keep[0], keep[1]), wasm_v128_and(keep[2], keep[3])));
    if (!clean) {
      for (int q = 0; q < 4; q++) {
        v128_t isnan = wasm_v128_not(keep[q]); // -1 where NaN
        wasm_v128_store(nan + i + 4 * q, wasm_i32x4_sub(wasm_v128_load(nan + i + 4 * q), isnan));
        seen += __builtin_popcount(wasm_i32x4_bitmask(isnan));
        x[q] = wasm_v128_and(x[q], keep[q]); // NaN → +0
      }
    }
    for (int q = 0; q < 4; q++) {
      double *a = acc + i + 4 * q;
      wasm_v128_store(a, wasm_f64x2_add(wasm_v128_load(a), wasm_f64x2_promote_low_f32x4(x[q])));
      wasm_v128_store(a + 2, wasm_f64x2_add(wasm_v128_load(a + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x[q], x[q], 2, 3, 0, 1))));
    }
  }
  for (; i < n; i++) {
    const float x = src[i];
    if (x == x) acc[i] += (double)x;
    else {
      nan[i] += 1;
      seen++;
    }
  }
  return seen;
}

/** The same for n float64 values. */
__attribute__((export_name("add_nan_f64"))) int add_nan_f64(double *acc, int32_t *nan, const double *src, int n) {
  int i = 0, seen = 0;
  for (; i + 2 <= n; i += 2) {
    v128_t x = wasm_v128_load(src + i);
    v128_t keep = wasm_f64x2_eq(x, x);
    wasm_v128_store(acc + i, wasm_f64x2_add(wasm_v128_load(acc + i), wasm_v128_and(x, keep)));
    if (!wasm_i64x2_all_true(keep)) {
      for (int k = 0; k < 2; k++) {
        if (src[i + k] != src[i + k]) {
          nan[i + k] += 1;
          seen++;
        }
      }
    }
  }
  for (; i < n; i++) {
    const double x = src[i];
    if (x == x) acc[i] += x;
    else {
      nan[i] += 1;
      seen++;
    }
  }
  return seen;
}

/** The operations combine_f32/f64 apply (as blosc-wasm.ts numbers them). */
enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3 };

/**
 * x[i] = x[i] op y[i] for n float32 values, in place: a decoded piece of a row combined with its
 * group's row of another array (grouped arithmetic: the anomaly from a climatology). Each result
 * is IEEE float32 arithmetic, which is what JavaScript's Math.fround(x op y) gives (the double
 * result of +, -, ×, ÷ of two floats rounds to the correctly rounded float).
 */
__attribute__((export_name("combine_f32"))) void combine_f32(int op, float *x, const float *y, int n) {
  int i = 0;
  switch (op) {
    case OP_ADD: for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_add(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_SUB: for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_sub(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_MUL: for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_DIV: for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_div(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    default: return;
  }
  for (; i < n; i++) {
    switch (op) {
      case OP_ADD: x[i] = x[i] + y[i]; break;
      case OP_SUB: x[i] = x[i] - y[i]; break;
      case OP_MUL: x[i] = x[i] * y[i]; break;
      default: x[i] = x[i] / y[i];
    }
  }
}

/** The same for float64 values. */
__attribute__((export_name("combine_f64"))) void combine_f64(int op, double *x, const double *y, int n) {
  int i = 0;
  switch (op) {
    case OP_ADD: for (; i + 2 <= n; i += 2) wasm_v128_store(x + i, wasm_f64x2_add(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_SUB: for (; i + 2 <= n; i += 2) wasm_v128_store(x + i, wasm_f64x2_sub(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_MUL: for (; i + 2 <= n; i += 2) wasm_v128_store(x + i, wasm_f64x2_mul(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    case OP_DIV: for (; i + 2 <= n; i += 2) wasm_v128_store(x + i, wasm_f64x2_div(wasm_v128_load(x + i), wasm_v128_load(y + i))); break;
    default: return;
  }
  for (; i < n; i++) {
    switch (op) {
      case OP_ADD: x[i] = x[i] + y[i]; break;
      case OP_SUB: x[i] = x[i] - y[i]; break;
      case OP_MUL: x[i] = x[i] * y[i]; break;
      default: x[i] = x[i] / y[i];
    }
  }
}
