// Fully connected layers (classifier, squeeze-excite FCs) and the row softmax.
//
// linear:  input [N, F], weight [K, F], bias [K] → output [N, K], then the activation
//          (0 none, 1 ReLU, 2 sigmoid): the classifier and both squeeze-excite FCs. One
//          work-item per (k, n) (dim 0 = output feature, dim 1 = image), a dot product of
//          length F in 8-wide vectors, so an SE layer spreads over its channels, not one
//          work-group per image.
// linear_wg: the same, with one work-group of SOFTMAX_WG work-items per (k, n) splitting the dot
//          product and reducing it in local memory (GPUs: one work-item per output would
//          leave most of the device idle at batch 1).
// softmax: input [N, K] → output [N, K]; one work-group of SOFTMAX_WG work-items per row:
//          max and sum are reduced in local memory; exp(x - max) keeps it stable.

// Inputs and outputs are per-channel vectors, always float; weights are stored as W_T
// (precision.cl).
#ifndef SOFTMAX_WG
#define SOFTMAX_WG 64
#endif

__kernel void linear(__global const float* restrict input,
                     __global const W_T* restrict weight,
                     __global const float* restrict bias,
                     __global float* restrict output,
                     const int F, const int K, const int activation) {
    const int k = get_global_id(0);
    const int n = get_global_id(1);
    if (k >= K) return;
    __global const float* x = input + (size_t)n * F;
    __global const W_T* w = weight + (size_t)k * F;
    // Vectors within the work-item: run a work-item per output, CPU runtimes otherwise gather
    // one value from each of 16 weight rows per step.
    float8 acc = (float8)(0.0f);
    int f = 0;
    for (; f + 8 <= F; f += 8) acc = fma(LOADN_W(8, w + f), vload8(0, x + f), acc);
    float sum = bias[k] + ((acc.s0 + acc.s1) + (acc.s2 + acc.s3)) + ((acc.s4 + acc.s5) + (acc.s6 + acc.s7));
    for (; f < F; ++f) sum += LOAD_W(w, f) * x[f];
    if (activation == 1) sum = fmax(sum, 0.0f);
    if (activation == 2) sum = 1.0f / (1.0f + exp(-sum));
    output[(size_t)n * K + k] = sum;
}

__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void linear_wg(__global const float* restrict input,
               __global const W_T* restrict weight,
               __global const float* restrict bias,
               __global float* restrict output,
               const int F, const int K, const int activation) {
    __local float partial[SOFTMAX_WG];
    const int k = get_group_id(0);
    const int n = get_group_id(1);
    const int lid = get_local_id(0);
    __global const float* x = input + (size_t)n * F;
    __global const W_T* w = weight + (size_t)k * F;
    float sum = 0.0f;
    for (int f = lid; f < F; f += SOFTMAX_WG) sum += LOAD_W(w, f) * x[f];
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = SOFTMAX_WG / 2; step > 0; step >>= 1) {
        if (lid < step) partial[lid] += partial[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        float v = partial[0] + bias[k];
        if (activation == 1) v = fmax(v, 0.0f);
        if (activation == 2) v = 1.0f / (1.0f + exp(-v));
        output[(size_t)n * K + k] = v;
    }
}

__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void softmax_rows(__global const float* restrict input,
                  __global float* restrict output,
                  const int K) {
    __local float scratch[SOFTMAX_WG];
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    __global const float* x = input + (size_t)row * K;
    __global float* y = output + (size_t)row * K;

    float top = -INFINITY;
    for (int k = lid; k < K; k += SOFTMAX_WG) top = fmax(top, x[k]);
    scratch[lid] = top;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = SOFTMAX_WG / 2; step > 0; step >>= 1) {
        if (lid < step) scratch[lid] = fmax(scratch[lid], scratch[lid + step]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    top = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);

    float sum = 0.0f;
    for (int k = lid; k < K; k += SOFTMAX_WG) sum += exp(x[k] - top);
    scratch[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = SOFTMAX_WG / 2; step > 0; step >>= 1) {
        if (lid < step) scratch[lid] += scratch[lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    for (int k = lid; k < K; k += SOFTMAX_WG) y[k] = exp(x[k] - top) / total;
}
