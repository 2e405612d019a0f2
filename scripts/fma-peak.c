// The single-precision FMA peak of this machine, measured by a plain C loop: every core runs independent chains
// of vector fused multiply-adds for an interval; the best of several intervals counts. The reference that
// `skiprnn bench` compares its own peak measurement with (issue 16).
//   gcc -O2 -march=native -fopenmp scripts/fma-peak.c -o fma-peak && ./fma-peak [seconds] [intervals]
// -mno-avx512f measures 256-bit vectors on an AVX-512 machine; -DWIDTH128 measures 128-bit ones (NEON, SSE).
#if defined(__aarch64__) || defined(__ARM_NEON)
#include <arm_neon.h>
#else
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#if defined(WIDTH128) && (defined(__aarch64__) || defined(__ARM_NEON))
typedef float32x4_t vec;
#define LANES 4
#define SET1 vdupq_n_f32
#define FMA(a, b, c) vfmaq_f32(c, a, b)
#define ADD vaddq_f32
static float first(vec v) { return vgetq_lane_f32(v, 0); }
#define WIDTH "128-bit (NEON)"
#elif defined(WIDTH128)
typedef __m128 vec;
#define LANES 4
#define SET1 _mm_set1_ps
#if defined(__FMA__)
#define FMA _mm_fmadd_ps
#else
#define FMA(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#endif
#define ADD _mm_add_ps
static float first(vec v) { return _mm_cvtss_f32(v); }
#define WIDTH "128-bit (SSE)"
#elif defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
static float first(vec v) { return _mm512_cvtss_f32(v); }
#define WIDTH "512-bit (AVX-512)"
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float first(vec v) { return _mm256_cvtss_f32(v); }
#define WIDTH "256-bit (AVX2 + FMA)"
#else
#error "needs AVX2 with FMA or AVX-512 (or -DWIDTH128)"
#endif

// `iterations` rounds of 12 independent FMAs, each chain in a register of its own; returns a value that depends
// on all of them.
static float chains(long iterations) {
    vec a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f), a5 = SET1(1.5f);
    vec a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f), a10 = SET1(2.0f), a11 = SET1(2.1f);
    vec m = SET1(0.9999999f), add = SET1(1e-7f);
    for (long i = 0; i < iterations; i++) {
        a0 = FMA(a0, m, add); a1 = FMA(a1, m, add); a2 = FMA(a2, m, add); a3 = FMA(a3, m, add);
        a4 = FMA(a4, m, add); a5 = FMA(a5, m, add); a6 = FMA(a6, m, add); a7 = FMA(a7, m, add);
        a8 = FMA(a8, m, add); a9 = FMA(a9, m, add); a10 = FMA(a10, m, add); a11 = FMA(a11, m, add);
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    return first(ADD(s, ADD(ADD(a8, a9), ADD(a10, a11))));
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    int intervals = argc > 2 ? atoi(argv[2]) : 5;
    const long chunk = 1000000;
    const double flopsPerChunk = (double)chunk * CHAINS * LANES * 2.0;
    int threads = omp_get_max_threads();
    double best = 0.0;
    float sink = 0.0f;
    for (int k = 0; k < intervals; k++) {
        double total = 0.0;
#pragma omp parallel reduction(+ : total)
        {
            float local = 0.0f;
            long done = 0;
            double start = now();
            while (now() - start < seconds) { local += chains(chunk); done++; }
            total += done * flopsPerChunk / (now() - start);
#pragma omp atomic
            sink += local;
        }
        if (total > best) best = total;
    }
    printf("%.1f GFLOP/s: %d threads, %s, %d chains, best of %d intervals of %.2f s\n",
           best / 1e9, threads, WIDTH, CHAINS, intervals, seconds);
    // Depends on every chain, so that no compiler drops the work.
    return sink == 12345.0f;
}
