// Squeeze-excite channel scaling, optionally fused with the residual add and ReLU.
//
// Layout: x, shortcut, output [N*C, HW]; scale [N*C].
// channel_scale:          output[i] = x[i] * scale[row]
// channel_scale_add_relu: output[i] = max(x[i] * scale[row] + shortcut[i], 0)
// One work-item per value: dim 0 = position in the plane, dim 1 = row (image, channel).

__kernel void channel_scale(__global const float* restrict x,
                            __global const float* restrict scale,
                            __global float* restrict output,
                            const int HW) {
    const int p = get_global_id(0);
    const int row = get_global_id(1);
    if (p >= HW) return;
    const size_t i = (size_t)row * HW + p;
    output[i] = x[i] * scale[row];
}

__kernel void channel_scale_add_relu(__global const float* restrict x,
                                     __global const float* restrict scale,
                                     __global const float* restrict shortcut,
                                     __global float* restrict output,
                                     const int HW) {
    const int p = get_global_id(0);
    const int row = get_global_id(1);
    if (p >= HW) return;
    const size_t i = (size_t)row * HW + p;
    float v = x[i] * scale[row] + shortcut[i];
#ifdef DEBUG_PERTURB
    v += 0.01f;  // Test hook: wrong on purpose so `compare` must find it.
#endif
    output[i] = fmax(v, 0.0f);
}
