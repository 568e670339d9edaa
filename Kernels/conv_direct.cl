// Direct 2-D convolution with bias and optional fused ReLU (PyTorch semantics).
//
// Layout: input [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC], output [N, OC, OH, OW],
// all fp32, row-major. Symmetric zero padding.
// Work-items: dim 0 = output pixel (oy * OW + ox), dim 1 = block of OC_BLOCK output channels,
// dim 2 = image. Each work-item computes OC_BLOCK outputs of one pixel, so every input value it
// loads is reused OC_BLOCK times. A block never straddles two groups' weights incorrectly: each
// output channel reads the input channels of its own group.

#ifndef OC_BLOCK
#define OC_BLOCK 4
#endif

__kernel void conv2d_direct(__global const float* restrict input,
                            __global const float* restrict weight,
                            __global const float* restrict bias,
                            __global float* restrict output,
                            const int C, const int H, const int W,
                            const int OC, const int OH, const int OW,
                            const int KH, const int KW,
                            const int stride, const int pad, const int groups,
                            const int relu) {
    const int pixel = get_global_id(0);
    const int oc0 = get_global_id(1) * OC_BLOCK;
    const int n = get_global_id(2);
    if (pixel >= OH * OW || oc0 >= OC) return;
    const int oy = pixel / OW;
    const int ox = pixel - oy * OW;
    const int icPerGroup = C / groups;
    const int ocPerGroup = OC / groups;

    float acc[OC_BLOCK];
    for (int j = 0; j < OC_BLOCK; ++j) acc[j] = (oc0 + j < OC) ? bias[oc0 + j] : 0.0f;

    for (int j = 0; j < OC_BLOCK; ++j) {
        const int oc = oc0 + j;
        if (oc >= OC) break;
        const int cBase = (oc / ocPerGroup) * icPerGroup;
        __global const float* w = weight + (size_t)oc * icPerGroup * KH * KW;
        float sum = 0.0f;
        for (int i = 0; i < icPerGroup; ++i) {
            __global const float* plane = input + ((size_t)n * C + cBase + i) * H * W;
            for (int ky = 0; ky < KH; ++ky) {
                const int iy = oy * stride - pad + ky;
                if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < KW; ++kx) {
                    const int ix = ox * stride - pad + kx;
                    if (ix < 0 || ix >= W) continue;
                    sum += plane[iy * W + ix] * w[(i * KH + ky) * KW + kx];
                }
            }
        }
        acc[j] += sum;
    }

    for (int j = 0; j < OC_BLOCK; ++j) {
        const int oc = oc0 + j;
        if (oc >= OC) break;
        float v = acc[j];
#ifdef DEBUG_PERTURB
        v += 0.01f * fabs(v) + 0.01f;  // Test hook: wrong on purpose so `compare` must find it.
#endif
        if (relu) v = fmax(v, 0.0f);
        output[((size_t)n * OC + oc) * OH * OW + pixel] = v;
    }
}
