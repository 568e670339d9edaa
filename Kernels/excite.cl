// Squeeze-excite, squeeze and excitation fused: from the residual branch to the per-channel
// scale in one launch.
//
// Layout: x [N, C, HW]; reduceWeight [R, C], reduceBias [R]; expandWeight [C, R],
// expandBias [C]; scale [N, C]. All fp32.
//   pooled = mean of x over HW                              [C]  (fp32 sums, one channel each)
//   hidden = relu(reduceWeight · pooled + reduceBias)       [R]
//   scale  = sigmoid(expandWeight · hidden + expandBias)    [C]
// One work-group of EXCITE_WG work-items per image: work-item i pools channels i, i + WG, ...
// into local memory, then computes hidden values the same way, then the scales. Neither the
// pooled nor the hidden vector leaves the chip.

#ifndef EXCITE_WG
#define EXCITE_WG 64
#endif
#ifndef MAX_REDUCED
#define MAX_REDUCED 256
#endif
#ifndef MAX_CHANNELS
#define MAX_CHANNELS 2048
#endif

__kernel __attribute__((reqd_work_group_size(EXCITE_WG, 1, 1)))
void se_squeeze_excite(__global const float* restrict input,
                       __global const float* restrict reduceWeight,
                       __global const float* restrict reduceBias,
                       __global const float* restrict expandWeight,
                       __global const float* restrict expandBias,
                       __global float* restrict scale,
                       const int C, const int R, const int HW) {
    __local float x[MAX_CHANNELS];
    __local float hidden[MAX_REDUCED];
    const int n = get_group_id(0);
    const int lid = get_local_id(0);
    for (int c = lid; c < C; c += EXCITE_WG) {
        __global const float* plane = input + ((size_t)n * C + c) * HW;
        float sum = 0.0f;
        for (int p = 0; p < HW; ++p) sum += plane[p];
        x[c] = sum / (float)HW;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

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
