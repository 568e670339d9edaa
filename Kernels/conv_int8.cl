// Int8 convolution with exact int32 sums, and the quantization that feeds it.
//
// Int8 feature maps are NC4HW4: [N][C4 = ceil(C/4)][H][W] of char4, the four lanes being
// channels 4·c4 … 4·c4+3 (zeros past C), so one 32-bit load brings four channels of a pixel.
// Codes are symmetric: value = code × scale, code in [-127, 127].
//
// With USE_DOT=1 the four-lane products are dot() of cl_khr_integer_dot_product (a single
// instruction where the hardware has one); otherwise plain integer multiply-adds. Both give
// the same integers.

#ifndef OCB
#define OCB 4 // output channels per work-item
#endif
#ifndef NP
#define NP 4 // output pixels of one row per work-item
#endif
#ifndef USE_DOT
#define USE_DOT 0
#endif

#if USE_DOT
#define DOT4(a, b) dot((a), (b))
#else
#define DOT4(a, b) ((int)(a).x * (b).x + (int)(a).y * (b).y + (int)(a).z * (b).z + (int)(a).w * (b).w)
#endif

// x: fp32 [N, C, HW] → y: NC4HW4 codes round(x / scale) (half away from zero), clamped to ±127.
// Work-item (p, c4, n) writes the four channels of one pixel.
__kernel void quantize_nc4hw4(__global const float* restrict x, __global char4* restrict y, const float scale,
                              const int C, const int HW) {
    const int p = get_global_id(0), c4 = get_global_id(1), n = get_global_id(2);
    if (p >= HW) return;
    float v[4];
    for (int i = 0; i < 4; ++i) {
        const int c = c4 * 4 + i;
        v[i] = c < C ? clamp(round(x[((size_t)n * C + c) * HW + p] / scale), -127.0f, 127.0f) : 0.0f;
    }
    y[((size_t)n * get_global_size(1) + c4) * HW + p] = (char4)((char)v[0], (char)v[1], (char)v[2], (char)v[3]);
}

// x: NC4HW4 codes [N, C4, H, W]; w: [OC/OCB][GC4][K][K][OCB] char4, lane i of the input channel
// 4·c4+i of the output channel's group (zeros past the group's channels and past OC);
// multiplier, bias: [OC] fp32; y: fp32 [N, OC, OH, OW] = relu?(Σ x·w × multiplier + bias).
// Work-item (pixel block, channel block, n) computes OCB channels × NP pixels of one output row.
// A group's input channels are whole char4 blocks (checked on the host): block g·GC4 + c4.
__kernel void conv_int8(__global const char4* restrict x, __global const char4* restrict w,
                        __global const float* restrict multiplier, __global const float* restrict bias,
                        __global float* restrict y, const int C4, const int H, const int W, const int OC,
                        const int OH, const int OW, const int K, const int stride, const int pad, const int relu,
                        const int GC4, const int outPerGroup) {
    const int rowBlocks = (OW + NP - 1) / NP;
    const int item = get_global_id(0);
    if (item >= OH * rowBlocks) return;
    const int oh = item / rowBlocks, ow0 = item % rowBlocks * NP;
    const int block = get_global_id(1), n = get_global_id(2);
    const int oc0 = block * OCB;
    const int firstC4 = oc0 / outPerGroup * GC4;
    int acc[OCB][NP];
    for (int o = 0; o < OCB; ++o)
        for (int p = 0; p < NP; ++p) acc[o][p] = 0;
    __global const char4* wb = w + (size_t)block * GC4 * K * K * OCB;
    for (int c4 = 0; c4 < GC4; ++c4) {
        __global const char4* plane = x + ((size_t)n * C4 + firstC4 + c4) * H * W;
        for (int kh = 0; kh < K; ++kh) {
            const int ih = oh * stride - pad + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < K; ++kw) {
                char4 wv[OCB];
                for (int o = 0; o < OCB; ++o) wv[o] = wb[((c4 * K + kh) * K + kw) * OCB + o];
                for (int p = 0; p < NP; ++p) {
                    const int iw = (ow0 + p) * stride - pad + kw;
                    const char4 xv = iw >= 0 && iw < W ? plane[ih * W + iw] : (char4)(0);
                    for (int o = 0; o < OCB; ++o) acc[o][p] += DOT4(xv, wv[o]);
                }
            }
        }
    }
    for (int o = 0; o < OCB; ++o) {
        const int oc = oc0 + o;
        if (oc >= OC) break;
        const float m = multiplier[oc], b = bias[oc];
        __global float* row = y + (((size_t)n * OC + oc) * OH + oh) * OW;
        for (int p = 0; p < NP; ++p) {
            if (ow0 + p >= OW) break;
            const float v = (float)acc[o][p] * m + b;
            row[ow0 + p] = relu ? fmax(v, 0.0f) : v;
        }
    }
}
