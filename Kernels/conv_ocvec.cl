// Convolution vectorised over output channels, the register tile of MLAS's x86 kernels:
// each work-item keeps NP output pixels × OV vectors of VW output channels in NP·OV vector
// accumulators. Per input channel and tap it loads OV weight vectors and NP input values
// (broadcast), then does NP·OV vector multiply-adds: no im2col buffer, no local memory, no
// barriers (CPU runtimes run a work-group's items back to back on one thread).
//
// Layout: input [N, C, H, W]; weights packed [OC/64, C·K·K, 64] (blocks of 64 output channels,
// zero-padded, so a tap's OV·VW weights are OV vector loads and successive taps stream through
// one contiguous panel); bias [OC]; output [N, OC, OH, OW]. OV·VW divides 64. Grouped layers
// (groups > 1): OV·VW divides the group's output channels and the panel holds C/groups·K·K taps.
// dim 0 = block of NP pixels of the flat [N·OH·OW] output (batch folded into the pixels, so a
// small 7×7 layer still has work at batch 8), dim 1 = block of OV·VW output channels.
// A work-group along dim 0 is the cache block: its items share one weight panel.
// Activations are stored as ACT_T and weights as W_T (precision.cl); sums are fp32. With
// HALF_MATH the products and short partial sums are half (fp16 devices that gain from it).

#ifndef VW
#define VW 8
#endif
#ifndef OV
#define OV 2
#endif
#ifndef NP
#define NP 4
#endif
#define OCW (OV * VW)
#define WB 64  // Output channels per packed weight block (ConvTiling.weightBlock).

#define VEC CAT(float, VW)
#define VSTORE CAT(vstore, VW)
// Half partial sums cover this many input channels of one tap before they are added to the
// fp32 accumulators (HALF_MATH): short enough that half rounding stays near 1e-3.
#define HALF_BLOCK 8

// VW consecutive floats, zeros past `valid` (the last channel block of an odd OC).
inline VEC load_channels(__global const float* p, const int valid) {
    if (valid >= VW) return CAT(vload, VW)(0, p);
    float t[VW];
    for (int i = 0; i < VW; ++i) t[i] = i < valid ? p[i] : 0.0f;
    return CAT(vload, VW)(0, t);
}

__kernel void conv_ocvec(__global const ACT_T* restrict input,
                         __global const W_T* restrict weightT,
                         __global const float* restrict bias,
                         __global ACT_T* restrict output,
                         const int C, const int H, const int W,
                         const int OC, const int OH, const int OW,
                         const int K, const int stride, const int pad, const int N, const int relu,
                         const int groups) {
    const int P = OH * OW;
    const int total = N * P;
    const int q0 = get_global_id(0) * NP;
    const int oc0 = get_global_id(1) * OCW;
    if (q0 >= total || oc0 >= OC) return;
    const int HW = H * W;
    const int ocValid = OC - oc0;
    // Grouped: the tile's OCW channels lie in one group (the host picks OCW dividing OC /
    // groups), which reads its own Cg input channels; weights hold Cg·K·K taps per channel.
    const int Cg = C / groups;
    const int firstChannel = oc0 / (OC / groups) * Cg;

    // Each pixel's image offset and the input row and column of its first tap.
    int base[NP], iy0[NP], ix0[NP];
#pragma unroll
    for (int j = 0; j < NP; ++j) {
        const int q = min(q0 + j, total - 1);  // Lanes past the end repeat the last pixel; never stored.
        const int n = q / P;
        const int p = q - n * P;
        const int oy = p / OW;
        base[j] = (n * C + firstChannel) * HW;
        iy0[j] = oy * stride - pad;
        ix0[j] = (p - oy * OW) * stride - pad;
    }

    VEC acc[NP * OV];
#pragma unroll
    for (int i = 0; i < NP * OV; ++i) acc[i] = (VEC)(0.0f);

    const size_t channelStride = (size_t)K * K * WB;
    __global const W_T* panel = weightT + (size_t)(oc0 / WB) * Cg * K * K * WB + oc0 % WB;
    for (int ky = 0; ky < K; ++ky) {
        for (int kx = 0; kx < K; ++kx) {
            // This tap's input offset per pixel; padding reads element 0 scaled by 0.
            int off[NP];
            float keep[NP];
            int inside = 1;
#pragma unroll
            for (int j = 0; j < NP; ++j) {
                const int iy = iy0[j] + ky;
                const int ix = ix0[j] + kx;
                const int ok = iy >= 0 && iy < H && ix >= 0 && ix < W;
                off[j] = base[j] + (ok ? iy * W + ix : 0);
                keep[j] = ok ? 1.0f : 0.0f;
                inside &= ok;
            }
            __global const W_T* w = panel + (ky * K + kx) * WB;
            __global const ACT_T* x = input;
#if HALF_MATH
            // Half products summed over HALF_BLOCK channels, then added to the fp32 accumulators.
            for (int c0 = 0; c0 < Cg; c0 += HALF_BLOCK) {
                const int cEnd = min(Cg, c0 + HALF_BLOCK);
                CAT(half, VW) part[NP * OV];
#pragma unroll
                for (int i = 0; i < NP * OV; ++i) part[i] = (CAT(half, VW))(0.0h);
                for (int c = c0; c < cEnd; ++c, w += channelStride, x += HW) {
                    CAT(half, VW) wv[OV];
#pragma unroll
                    for (int o = 0; o < OV; ++o) wv[o] = CAT(vload, VW)(o, w);
#pragma unroll
                    for (int j = 0; j < NP; ++j) {
                        const CAT(half, VW) xv = (CAT(half, VW))(x[off[j]] * (half)keep[j]);
#pragma unroll
                        for (int o = 0; o < OV; ++o) part[j * OV + o] = fma(wv[o], xv, part[j * OV + o]);
                    }
                }
#pragma unroll
                for (int i = 0; i < NP * OV; ++i) acc[i] += CAT(convert_float, VW)(part[i]);
            }
#else
            if (inside) {
                for (int c = 0; c < Cg; ++c, w += channelStride, x += HW) {
                    VEC wv[OV];
#pragma unroll
                    for (int o = 0; o < OV; ++o) wv[o] = LOADN_W(VW, w + o * VW);
#pragma unroll
                    for (int j = 0; j < NP; ++j) {
                        const VEC xv = (VEC)(LOAD_ACT(x, off[j]));
#pragma unroll
                        for (int o = 0; o < OV; ++o) acc[j * OV + o] = fma(wv[o], xv, acc[j * OV + o]);
                    }
                }
            } else {
                for (int c = 0; c < Cg; ++c, w += channelStride, x += HW) {
                    VEC wv[OV];
#pragma unroll
                    for (int o = 0; o < OV; ++o) wv[o] = LOADN_W(VW, w + o * VW);  // Zero-padded past OC.
#pragma unroll
                    for (int j = 0; j < NP; ++j) {
                        const VEC xv = (VEC)(LOAD_ACT(x, off[j]) * keep[j]);
#pragma unroll
                        for (int o = 0; o < OV; ++o) acc[j * OV + o] = fma(wv[o], xv, acc[j * OV + o]);
                    }
                }
            }
#endif
        }
    }

    VEC b[OV];
#pragma unroll
    for (int o = 0; o < OV; ++o) b[o] = load_channels(bias + oc0 + o * VW, ocValid - o * VW);
    for (int j = 0; j < NP; ++j) {
        const int q = q0 + j;
        if (q >= total) break;
        const int n = q / P;
        __global ACT_T* out = output + ((size_t)n * OC + oc0) * P + (q - n * P);
#pragma unroll
        for (int o = 0; o < OV; ++o) {
            VEC v = acc[j * OV + o] + b[o];
            if (relu) v = fmax(v, (VEC)(0.0f));
            float t[VW];
            VSTORE(v, 0, t);
            const int lanes = min(VW, ocValid - o * VW);
            for (int i = 0; i < lanes; ++i) STORE_ACT(t[i], out, (size_t)(o * VW + i) * P);
        }
    }
}
