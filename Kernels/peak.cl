// The device's fused multiply-add rate: each work-item runs CHAINS independent chains of
// x = fma(x, a, b) on VW-wide vectors (enough chains to hide the FMA latency), then stores the
// sum so nothing is optimised away. FLOPs = 2 · VW · CHAINS · iterations per work-item.

#ifndef VW
#define VW 8
#endif
#define CHAINS 8

#define VEC CAT(float, VW)
#define VSTORE CAT(vstore, VW)

__kernel void fma_peak(__global float* restrict out, const int iterations, const float a, const float b) {
    const int id = get_global_id(0);
    const float start = (float)(id % 1024) * 1e-3f;
    VEC x[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) x[c] = (VEC)(start + (float)c);
    for (int i = 0; i < iterations; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) x[c] = fma(x[c], (VEC)(a), (VEC)(b));
    }
    float lanes[VW];
    float sum = 0.0f;
    for (int c = 0; c < CHAINS; ++c) {
        VSTORE(x[c], 0, lanes);
        for (int l = 0; l < VW; ++l) sum += lanes[l];
    }
    out[id] = sum;
}
