// Convolution as an implicit GEMM for GPUs, with two-level tiling (CLBlast's Xgemm design),
// folded-BN bias and optional fused ReLU.
//
// GEMM view: out[OC, P] = weightT[K, OC]ᵀ · X[K, P] with K = C·KH·KW and P = N·OH·OW: the batch
// is folded into the pixel dimension. X is never written: element (k, p) is read straight from
// input [N, C, H, W] at (c, oy·stride − pad + ky, ox·stride − pad + kx), 0 outside the image, so
// 3×3 and stem convolutions need no im2col buffer. weightT is [OC/WB, K, WB] (packed once at
// load: blocks of WB = 64 output channels, zero-padded).
// output [N, OC, OH, OW].
//
// Work-group: GROUP_N × GROUP_M work-items (dim 0 pixels, dim 1 channels) computing a TM × TN
// tile of out; each work-item holds a WM × WN register tile: channels ty + m·GROUP_M and pixels
// tx + n·GROUP_N, so neighbouring work-items read neighbouring local-memory words. Per step of
// TK along K the group stages TK × TM weights and TK × TN inputs in local memory, synchronises,
// accumulates, synchronises. A work-item always stages the same pixel column (GROUP is a
// multiple of TN), so it decodes that pixel's image position once, not per element.
// Split-K (dim 2 = slice of K, `slices` > 1): when OC × P gives too few work-groups to fill the
// device (the 7×7 stage at batch 1), each slice writes its partial sums to partial
// [slices, OC, P] and conv_gemm_reduce adds them, the bias and the ReLU.

// Activations are stored as ACT_T and weights as W_T (precision.cl); accumulators are fp32.
// With HALF_MATH the local tiles are half and each TK step's products are summed in half, then
// added to the fp32 accumulators (TK terms at most: half rounding stays near 1e-3).
#define WB 64  // Output channels per packed weight block (ConvTiling.weightBlock).
#ifndef TM
#define TM 64
#endif
#ifndef TN
#define TN 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WM
#define WM 4
#endif
#ifndef WN
#define WN 4
#endif

#define GROUP_N (TN / WN)
#define GROUP_M (TM / WM)
#define GROUP (GROUP_N * GROUP_M)
#if HALF_MATH
#define LT half
#else
#define LT float
#endif

#if GROUP % TN != 0
#error "the work-group size must be a multiple of TN: each work-item stages one pixel column"
#endif

__kernel __attribute__((reqd_work_group_size(GROUP_N, GROUP_M, 1)))
void conv_gemm(__global const ACT_T* restrict input,
               __global const W_T* restrict weightT,
               __global const float* restrict bias,
               __global ACT_T* restrict output,
               __global float* restrict partial,
               const int C, const int H, const int W, const int OC, const int OH, const int OW,
               const int KH, const int KW, const int stride, const int pad, const int N,
               const int relu, const int slices, const int kPerSlice) {
    __local LT weights[TK][TM];
    __local LT pixels[TK][TN];
    const int tx = get_local_id(0);
    const int ty = get_local_id(1);
    const int lid = ty * GROUP_N + tx;
    const int p0 = get_group_id(0) * TN;
    const int oc0 = get_group_id(1) * TM;
    const int slice = get_group_id(2);
    const int taps = KH * KW;
    const int K = C * taps;
    const int plane = OH * OW;
    const int P = N * plane;
    const int kBegin = slice * kPerSlice;
    const int kEnd = min(K, kBegin + kPerSlice);

    // Each work-item stages the same pixel column at every step: find its image position once.
    const int column = lid % TN;
    const int pixel = p0 + column;
    const bool pixelExists = pixel < P;
    const int image = pixelExists ? pixel / plane : 0;
    const int oy = pixelExists ? (pixel - image * plane) / OW : 0;
    const int ox = pixelExists ? pixel - image * plane - oy * OW : 0;
    const int iy0 = oy * stride - pad;
    const int ix0 = ox * stride - pad;
    __global const ACT_T* planes = input + (size_t)image * C * H * W;

    float acc[WM][WN];
    for (int m = 0; m < WM; ++m)
        for (int n = 0; n < WN; ++n) acc[m][n] = 0.0f;

    for (int k0 = kBegin; k0 < kEnd; k0 += TK) {
        // Consecutive work-items load consecutive channels / pixels: coalesced reads.
        for (int i = lid; i < TK * TM; i += GROUP) {
            const int kk = i / TM;
            const int k = k0 + kk;
            const int oc = oc0 + i - kk * TM;
            weights[kk][i - kk * TM] = (LT)((k < kEnd && oc < OC) ? LOAD_W(weightT, ((size_t)(oc / WB) * K + k) * WB + oc % WB) : 0.0f);
        }
        for (int kk = lid / TN; kk < TK; kk += GROUP / TN) {
            const int k = k0 + kk;
            float v = 0.0f;
            if (pixelExists && k < kEnd) {
                const int c = k / taps;
                const int ky = (k - c * taps) / KW;
                const int kx = k - c * taps - ky * KW;
                const int iy = iy0 + ky;
                const int ix = ix0 + kx;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = LOAD_ACT(planes, ((size_t)c * H + iy) * W + ix);
            }
            pixels[kk][column] = (LT)v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#if HALF_MATH
        half part[WM][WN];
        for (int m = 0; m < WM; ++m)
            for (int n = 0; n < WN; ++n) part[m][n] = 0.0h;
#else
#define part acc
#endif
        for (int kk = 0; kk < TK; ++kk) {
            LT w[WM];
            LT x[WN];
            for (int m = 0; m < WM; ++m) w[m] = weights[kk][ty + m * GROUP_M];
            for (int n = 0; n < WN; ++n) x[n] = pixels[kk][tx + n * GROUP_N];
            for (int m = 0; m < WM; ++m)
                for (int n = 0; n < WN; ++n) part[m][n] = mad(w[m], x[n], part[m][n]);
        }
#if HALF_MATH
        for (int m = 0; m < WM; ++m)
            for (int n = 0; n < WN; ++n) acc[m][n] += (float)part[m][n];
#else
#undef part
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int m = 0; m < WM; ++m) {
        const int oc = oc0 + ty + m * GROUP_M;
        if (oc >= OC) continue;
        for (int n = 0; n < WN; ++n) {
            const int p = p0 + tx + n * GROUP_N;
            if (p >= P) continue;
            if (slices > 1) {
                partial[((size_t)slice * OC + oc) * P + p] = acc[m][n];
            } else {
                const int outImage = p / plane;
                float v = acc[m][n] + bias[oc];
                if (relu) v = fmax(v, 0.0f);
                STORE_ACT(v, output, ((size_t)outImage * OC + oc) * plane + p - outImage * plane);
            }
        }
    }
}

// Sums the split-K slices: one work-item per (pixel, channel): dim 0 = p, dim 1 = oc.
__kernel void conv_gemm_reduce(__global const float* restrict partial,
                               __global const float* restrict bias,
                               __global ACT_T* restrict output,
                               const int OC, const int P, const int plane, const int slices, const int relu) {
    const int p = get_global_id(0);
    const int oc = get_global_id(1);
    if (p >= P || oc >= OC) return;
    float v = bias[oc];
    for (int s = 0; s < slices; ++s) v += partial[((size_t)s * OC + oc) * P + p];
    if (relu) v = fmax(v, 0.0f);
    const int image = p / plane;
    STORE_ACT(v, output, ((size_t)image * OC + oc) * plane + p - image * plane);
}
