// Pooling: global average pool (fp32 accumulation), max-pool and average pool.
//
// global_avg_pool: input [N*C, HW] → output [N*C]. One work-group of GAP_WG work-items per
// (image, channel) row: each work-item sums a strided slice of the row, then the group reduces
// in local memory (GPUs). Summing up to 56×56 values in fp32 this way keeps the error near 1e-7.
// global_avg_pool_rows: the same result, one work-item per row summing it with 4-wide vector
// loads, no barrier and no local memory: on CPUs (PoCL) a work-group then covers many rows
// back to back, which is the cache block, where the barrier version spills at every step.
//
// max_pool2d: input [N*C, H, W] → output [N*C, OH, OW]; one work-item per output value,
// dims (column, row, plane), so no work-item divides.
// Padded positions never win (PyTorch semantics); OH/OW come from the host so ceil mode needs
// no special case here.
//
// avg_pool2d: the same layout and work split; each window's mean is over its positions inside
// the input (PyTorch count_include_pad=False, ONNX's default), so a ceil-mode window that hangs
// past the edge divides by what it covers.

// Feature maps are stored as ACT_T (precision.cl); pooled means are float.
#ifndef GAP_WG
#define GAP_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(GAP_WG, 1, 1)))
void global_avg_pool(__global const ACT_T* restrict input,
                     __global float* restrict output,
                     const int HW) {
    __local float partial[GAP_WG];
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    __global const ACT_T* values = input + (size_t)row * HW;
    float sum = 0.0f;
    for (int i = lid; i < HW; i += GAP_WG) sum += LOAD_ACT(values, i);
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = GAP_WG / 2; step > 0; step >>= 1) {
        if (lid < step) partial[lid] += partial[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) output[row] = partial[0] / (float)HW;
}

__kernel void max_pool2d(__global const ACT_T* restrict input,
                         __global ACT_T* restrict output,
                         const int H, const int W, const int OH, const int OW,
                         const int kernelSize, const int stride, const int pad) {
    const int ox = get_global_id(0);
    const int oy = get_global_id(1);
    const int row = get_global_id(2);
    if (ox >= OW) return;  // dim 0 is rounded up to whole work-groups
    __global const ACT_T* plane = input + (size_t)row * H * W;
    const int iy0 = oy * stride - pad;
    const int ix0 = ox * stride - pad;
    const int yBegin = max(iy0, 0), yEnd = min(iy0 + kernelSize, H);
    const int xBegin = max(ix0, 0), xEnd = min(ix0 + kernelSize, W);
    float best = -INFINITY;
    for (int iy = yBegin; iy < yEnd; ++iy) {
        for (int ix = xBegin; ix < xEnd; ++ix) best = fmax(best, LOAD_ACT(plane, iy * W + ix));
    }
    STORE_ACT(best, output, ((size_t)row * OH + oy) * OW + ox);
}

__kernel void avg_pool2d(__global const ACT_T* restrict input,
                         __global ACT_T* restrict output,
                         const int H, const int W, const int OH, const int OW,
                         const int kernelSize, const int stride, const int pad) {
    const int ox = get_global_id(0);
    const int oy = get_global_id(1);
    const int row = get_global_id(2);
    if (ox >= OW) return;  // dim 0 is rounded up to whole work-groups
    __global const ACT_T* plane = input + (size_t)row * H * W;
    const int iy0 = oy * stride - pad;
    const int ix0 = ox * stride - pad;
    const int yBegin = max(iy0, 0), yEnd = min(iy0 + kernelSize, H);
    const int xBegin = max(ix0, 0), xEnd = min(ix0 + kernelSize, W);
    float sum = 0.0f;
    for (int iy = yBegin; iy < yEnd; ++iy) {
        for (int ix = xBegin; ix < xEnd; ++ix) sum += LOAD_ACT(plane, iy * W + ix);
    }
    STORE_ACT(sum / (float)((yEnd - yBegin) * (xEnd - xBegin)), output, ((size_t)row * OH + oy) * OW + ox);
}

__kernel void global_avg_pool_rows(__global const ACT_T* restrict input,
                                   __global float* restrict output,
                                   const int HW, const int rows) {
    const int row = get_global_id(0);
    if (row >= rows) return;
    __global const ACT_T* values = input + (size_t)row * HW;
    float4 partial = (float4)(0.0f);
    int i = 0;
    for (; i + 4 <= HW; i += 4) partial += LOADN_ACT(4, values + i);
    float sum = (partial.x + partial.y) + (partial.z + partial.w);
    for (; i < HW; ++i) sum += LOAD_ACT(values, i);
    output[row] = sum / (float)HW;
}
