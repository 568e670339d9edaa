// Squeeze-excite excitation: from the pooled channel means to the per-channel scale.
//
// Layout: pooled [N, C]; reduceWeight [R, C], reduceBias [R]; expandWeight [C, R],
// expandBias [C]; scale [N, C]. All fp32.
//   hidden = relu(reduceWeight · pooled + reduceBias)      [R]
//   scale  = sigmoid(expandWeight · hidden + expandBias)   [C]
// One work-group of EXCITE_WG work-items per image: the group first computes the R hidden
// values (work-item r, r + WG, ...) into local memory, then the C outputs the same way. The
// hidden vector never leaves the chip and the whole excitation is one launch.

#ifndef EXCITE_WG
#define EXCITE_WG 64
#endif
#ifndef MAX_REDUCED
#define MAX_REDUCED 256
#endif

__kernel __attribute__((reqd_work_group_size(EXCITE_WG, 1, 1)))
void se_excite(__global const float* restrict pooled,
               __global const float* restrict reduceWeight,
               __global const float* restrict reduceBias,
               __global const float* restrict expandWeight,
               __global const float* restrict expandBias,
               __global float* restrict scale,
               const int C, const int R) {
    __local float hidden[MAX_REDUCED];
    const int n = get_group_id(0);
    const int lid = get_local_id(0);
    __global const float* x = pooled + (size_t)n * C;

    for (int r = lid; r < R; r += EXCITE_WG) {
        __global const float* w = reduceWeight + (size_t)r * C;
        float sum = reduceBias[r];
        for (int c = 0; c < C; ++c) sum += w[c] * x[c];
        hidden[r] = fmax(sum, 0.0f);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (int c = lid; c < C; c += EXCITE_WG) {
        __global const float* w = expandWeight + (size_t)c * R;
        float sum = expandBias[c];
        for (int r = 0; r < R; ++r) sum += w[r] * hidden[r];
        float s = 1.0f / (1.0f + exp(-sum));
#ifdef DEBUG_PERTURB
        s = 1.0f - s;  // Test hook: makes this layer wrong on purpose so `compare` must find it.
#endif
        scale[(size_t)n * C + c] = s;
    }
}
