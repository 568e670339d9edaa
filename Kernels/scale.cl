// The end of a residual block: squeeze-excite scaling, residual add and ReLU in one pass.
//
// Layout: x, shortcut, output [N*C, HW]; scale [N*C].
//   output[i] = max(x[i] * scale[row] + shortcut[i], 0)
// Each work-item owns 16 consecutive values of the flat [N*C*HW] array: one vector pass when
// they lie in one row (CPU runtimes run a work-item per value 7× slower than this; GPUs still
// read contiguous memory), else value by value with each value's row.
// The plan may run it in place (output is x's buffer), so x and output are not `restrict`:
// each work-item reads its values of x before it writes them and touches no other element.

// x, shortcut and output are stored as ACT_T (precision.cl); scale is float.

__kernel void channel_scale_add_relu(__global const ACT_T* x,
                                     __global const float* restrict scale,
                                     __global const ACT_T* restrict shortcut,
                                     __global ACT_T* output,
                                     const int HW, const int total) {
    const int i0 = get_global_id(0) * 16;
    if (i0 >= total) return;
    const int row = i0 / HW;
    if (i0 + 16 <= total && (i0 + 15) / HW == row) {
        const float16 v = LOADN_ACT(16, x + i0) * scale[row] + LOADN_ACT(16, shortcut + i0);
        STOREN_ACT(16, fmax(v, 0.0f), output + i0);
        return;
    }
    for (int i = i0; i < min(i0 + 16, total); ++i) {
        STORE_ACT(fmax(LOAD_ACT(x, i) * scale[i / HW] + LOAD_ACT(shortcut, i), 0.0f), output, i);
    }
}
