// Storage casts of a mixed-precision plan, where an fp32-kept layer meets fp16 ones.
//
// Built with ACT_HALF=1, so ACT_T is half (precision.cl). Each work-item owns 16 consecutive
// values of the flat array, one vector load and store when all 16 are there, else one by one.
// fp16 → fp32 is exact; fp32 → fp16 rounds to nearest even, and past 65504 gives infinity,
// as a plain fp16 plan's stores do.

__kernel void half_to_float(__global const ACT_T* restrict x, __global float* restrict y, const int total) {
    const int i0 = get_global_id(0) * 16;
    if (i0 + 16 <= total) {
        vstore16(LOADN_ACT(16, x + i0), 0, y + i0);
        return;
    }
    for (int i = i0; i < total; ++i) y[i] = LOAD_ACT(x, i);
}

__kernel void float_to_half(__global const float* restrict x, __global ACT_T* restrict y, const int total) {
    const int i0 = get_global_id(0) * 16;
    if (i0 + 16 <= total) {
        STOREN_ACT(16, vload16(0, x + i0), y + i0);
        return;
    }
    for (int i = i0; i < total; ++i) STORE_ACT(x[i], y, i);
}
