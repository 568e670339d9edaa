// The end of a residual block: squeeze-excite scaling, residual add and ReLU in one pass.
//
// Layout: x, shortcut, output [N*C, HW]; scale [N*C].
//   output[i] = max(x[i] * scale[row] + shortcut[i], 0)
// One work-item per value: dim 0 = position in the plane, dim 1 = row (image, channel).
// The plan may run it in place (output is x's buffer), so x and output are not `restrict`:
// each work-item reads x[i] before it writes output[i] and touches no other element.

// Activations are stored as ACT_T: the engine sets it from each value's element type.
#ifndef ACT_T
#define ACT_T float
#endif

__kernel void channel_scale_add_relu(__global const ACT_T* x,
                                     __global const ACT_T* restrict scale,
                                     __global const ACT_T* restrict shortcut,
                                     __global ACT_T* output,
                                     const int HW) {
    const int p = get_global_id(0);
    const int row = get_global_id(1);
    if (p >= HW) return;
    const size_t i = (size_t)row * HW + p;
    output[i] = fmax(x[i] * scale[row] + shortcut[i], 0.0f);
}
