// Register-tiled convolutions with folded-BN bias and optional fused ReLU.
//
// Layout: input [N, C, H, W]; weights packed at load time to [OC/WB, C*KH*KW, WB] (blocks of
// WB = 64 output channels, zero-padded) so the TM output channels a work-item needs at one
// (c, ky, kx) are contiguous and successive taps are WB floats apart; bias [OC];
// output [N, OC, OH, OW]. TM divides WB.
//
// Each work-item computes a TM × TN tile: TM output channels × TN output pixels, kept in
// TM vector registers of width TN. Per input tap it loads TN inputs and TM weights and does
// TM × TN multiply-adds, so loads are amortised over the tile.
//
// conv1x1_gemm: 1×1, stride 1, no padding: a GEMM [OC, C] × [C, HW]; pixels are flat, so
//   dim 0 = block of TN pixels, dim 1 = block of TM output channels, dim 2 = image.
// im2col: unfolds input [N, C, H, W] into columns [N, C*K*K, OH*OW] (zeros for padding) so any
//   convolution becomes conv1x1_gemm over C*K*K channels; one work-item per column row segment:
//   dim 0 = output row, dim 1 = (c, ky, kx), dim 2 = image.
// conv1x1_strided: 1×1 with stride > 1 (the v1.5 downsample shortcut): output pixels are flat
//   like the GEMM; each work-item computes its TN input offsets once, then gathers.
// conv_tiled: any kernel, stride, padding and channel groups (packed weights then hold
//   C / groups · K · K taps per output channel); pixel tiles never cross an output row, so
//   dim 0 = (output row, block of TN columns), dim 1 = block of TM channels, dim 2 = image.
//   Inputs outside the image (padding) read as 0.

// Activations are stored as ACT_T and weights as W_T (precision.cl); arithmetic is fp32.
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif

#define WB 64  // Output channels per packed weight block (ConvTiling.weightBlock).
// The packed weights of output channel oc0 at tap 0, for a layer with `taps` taps.
#define PANEL(weights, oc0, taps) ((weights) + (size_t)((oc0) / WB) * (taps) * WB + (oc0) % WB)

#define VEC CAT(float, TN)
#define VLOAD CAT(vload, TN)
#define VSTORE CAT(vstore, TN)

// Writes TN values of one output row segment (fewer at the right edge), with bias and ReLU.
inline void store_tile(__global ACT_T* out, VEC acc, const float b, const int relu, const int valid) {
    acc += (VEC)(b);
    if (relu) acc = fmax(acc, (VEC)(0.0f));
    if (valid == TN) {
        STOREN_ACT(TN, acc, out);
    } else {
        float tmp[TN];
        VSTORE(acc, 0, tmp);
        for (int j = 0; j < valid; ++j) STORE_ACT(tmp[j], out, j);
    }
}

// The TM weights of one tap as floats. Half weights are converted as one vector: CPU runtimes
// turn a scalar vload_half into a slow library call, a vector one into one instruction.
#if W_HALF && (TM == 4 || TM == 8 || TM == 16)
#define TAP_WEIGHTS(name, w) \
    float name[TM];          \
    CAT(vstore, TM)(LOADN_W(TM, w), 0, name)
#define LOAD_TAP(name, m) name[m]
#else
#define TAP_WEIGHTS(name, w) __global const W_T* name = (w)
#define LOAD_TAP(name, m) LOAD_W(name, m)
#endif

// acc[m] += w[m] · v for the tile's output channels that exist (all TM in full tiles).
inline void accumulate(VEC* acc, __global const W_T* w, const VEC v, const int channels) {
    if (channels == TM) {
        TAP_WEIGHTS(tap, w);
#pragma unroll
        for (int m = 0; m < TM; ++m) acc[m] = fma((VEC)(LOAD_TAP(tap, m)), v, acc[m]);
    } else {
        for (int m = 0; m < channels; ++m) acc[m] = fma((VEC)(LOAD_W(w, m)), v, acc[m]);
    }
}

__kernel void conv1x1_gemm(__global const ACT_T* restrict input,
                           __global const W_T* restrict weightT,
                           __global const float* restrict bias,
                           __global ACT_T* restrict output,
                           const int C, const int P, const int OC, const int relu) {
    const int p0 = get_global_id(0) * TN;
    const int oc0 = get_global_id(1) * TM;
    const int n = get_global_id(2);
    if (p0 >= P || oc0 >= OC) return;
    __global const ACT_T* x = input + (size_t)n * C * P + p0;
    VEC acc[TM];
    for (int m = 0; m < TM; ++m) acc[m] = (VEC)(0.0f);

    if (p0 + TN <= P && oc0 + TM <= OC) {
        for (int c = 0; c < C; ++c) {
            const VEC v = LOADN_ACT(TN, x + (size_t)c * P);
            TAP_WEIGHTS(tap, PANEL(weightT, oc0, C) + (size_t)c * WB);
#pragma unroll
            for (int m = 0; m < TM; ++m) acc[m] = fma((VEC)(LOAD_TAP(tap, m)), v, acc[m]);
        }
    } else {
        // Edge tile: guard the pixels past P and the channels past OC.
        const int valid = min(TN, P - p0);
        for (int c = 0; c < C; ++c) {
            float t[TN];
            for (int j = 0; j < TN; ++j) t[j] = j < valid ? LOAD_ACT(x, (size_t)c * P + j) : 0.0f;
            const VEC v = VLOAD(0, t);
            __global const W_T* w = PANEL(weightT, oc0, C) + (size_t)c * WB;
            for (int m = 0; m < TM; ++m) {
                if (oc0 + m < OC) acc[m] = fma((VEC)(LOAD_W(w, m)), v, acc[m]);
            }
        }
    }
    const int valid = min(TN, P - p0);
    for (int m = 0; m < TM; ++m) {
        if (oc0 + m >= OC) break;
        store_tile(output + ((size_t)n * OC + oc0 + m) * P + p0, acc[m], bias[oc0 + m], relu, valid);
    }
}

__kernel void im2col(__global const ACT_T* restrict input,
                     __global ACT_T* restrict columns,
                     const int C, const int H, const int W, const int OH, const int OW,
                     const int K, const int stride, const int pad) {
    const int oy = get_global_id(0);
    const int tap = get_global_id(1);
    const int n = get_global_id(2);
    if (oy >= OH) return;
    const int c = tap / (K * K);
    const int ky = (tap / K) % K;
    const int kx = tap % K;
    const int iy = oy * stride - pad + ky;
    __global ACT_T* out = columns + ((size_t)n * C * K * K + tap) * OH * OW + oy * OW;
    if (iy < 0 || iy >= H) {
        for (int ox = 0; ox < OW; ++ox) STORE_ACT(0.0f, out, ox);
        return;
    }
    __global const ACT_T* row = input + (((size_t)n * C + c) * H + iy) * W;
    for (int ox = 0; ox < OW; ++ox) {
        const int ix = ox * stride - pad + kx;
        STORE_ACT((ix >= 0 && ix < W) ? LOAD_ACT(row, ix) : 0.0f, out, ox);
    }
}

__kernel void conv1x1_strided(__global const ACT_T* restrict input,
                              __global const W_T* restrict weightT,
                              __global const float* restrict bias,
                              __global ACT_T* restrict output,
                              const int C, const int H, const int W,
                              const int OC, const int OW, const int P, const int stride, const int relu) {
    const int p0 = get_global_id(0) * TN;
    const int oc0 = get_global_id(1) * TM;
    const int n = get_global_id(2);
    if (p0 >= P || oc0 >= OC) return;
    const int valid = min(TN, P - p0);
    int offset[TN];
    for (int j = 0; j < TN; ++j) {
        const int p = min(p0 + j, P - 1);  // Lanes past P repeat the last pixel; never stored.
        const int oy = p / OW;
        offset[j] = (oy * stride) * W + (p - oy * OW) * stride;
    }
    __global const ACT_T* x = input + (size_t)n * C * H * W;
    VEC acc[TM];
    for (int m = 0; m < TM; ++m) acc[m] = (VEC)(0.0f);
    const int channels = min(TM, OC - oc0);
    for (int c = 0; c < C; ++c) {
        __global const ACT_T* plane = x + (size_t)c * H * W;
        float t[TN];
        for (int j = 0; j < TN; ++j) t[j] = LOAD_ACT(plane, offset[j]);
        const VEC v = VLOAD(0, t);
        accumulate(acc, PANEL(weightT, oc0, C) + (size_t)c * WB, v, channels);
    }
    for (int m = 0; m < TM; ++m) {
        if (oc0 + m >= OC) break;
        store_tile(output + ((size_t)n * OC + oc0 + m) * P + p0, acc[m], bias[oc0 + m], relu, valid);
    }
}

__kernel void conv_tiled(__global const ACT_T* restrict input,
                         __global const W_T* restrict weightT,
                         __global const float* restrict bias,
                         __global ACT_T* restrict output,
                         const int C, const int H, const int W,
                         const int OC, const int OH, const int OW,
                         const int K, const int stride, const int pad, const int relu, const int groups) {
    const int tilesPerRow = (OW + TN - 1) / TN;
    const int oy = get_global_id(0) / tilesPerRow;
    const int ox0 = (get_global_id(0) - oy * tilesPerRow) * TN;
    const int oc0 = get_global_id(1) * TM;
    const int n = get_global_id(2);
    if (oy >= OH || oc0 >= OC) return;
    const int valid = min(TN, OW - ox0);
    const int channels = min(TM, OC - oc0);
    const int ix0 = ox0 * stride - pad;

    VEC acc[TM];
    for (int m = 0; m < TM; ++m) acc[m] = (VEC)(0.0f);

    // Grouped: the tile's channels lie in one group (the host picks TM dividing OC / groups),
    // which reads its own C / groups input channels.
    const int Cg = C / groups;
    const int firstChannel = oc0 / (OC / groups) * Cg;
    for (int c = 0; c < Cg; ++c) {
        __global const ACT_T* plane = input + ((size_t)n * C + firstChannel + c) * H * W;
        for (int ky = 0; ky < K; ++ky) {
            const int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= H) continue;
            __global const ACT_T* row = plane + iy * W;
            __global const W_T* w = PANEL(weightT, oc0, Cg * K * K) + (size_t)((c * K + ky) * K) * WB;
            for (int kx = 0; kx < K; ++kx, w += WB) {
                const int first = ix0 + kx;
                VEC v;
                if (stride == 1 && first >= 0 && first + TN <= W) {
                    v = LOADN_ACT(TN, row + first);
                } else {
                    float t[TN];
                    for (int j = 0; j < TN; ++j) {
                        const int ix = first + j * stride;
                        t[j] = (j < valid && ix >= 0 && ix < W) ? LOAD_ACT(row, ix) : 0.0f;
                    }
                    v = VLOAD(0, t);
                }
                accumulate(acc, w, v, channels);
            }
        }
    }
    for (int m = 0; m < TM; ++m) {
        if (oc0 + m >= OC) break;
        store_tile(output + (((size_t)n * OC + oc0 + m) * OH + oy) * OW + ox0, acc[m], bias[oc0 + m], relu, valid);
    }
}
