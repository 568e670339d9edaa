// Image preprocessing on the device: PIL's bilinear resize (bit for bit), centre crop,
// scale to [0, 1] and per-channel normalisation, fused in one kernel.
//
// Layout: pixels [H, W, 3] as floats holding bytes 0..255 (interleaved RGB, row-major);
// hFirst/hCount [OW'] and hWeights [OW', KH] give each resized column's input window and its
// fixed-point weights (22 fraction bits, as PIL); vFirst/vCount [OH'] and vWeights [OH', KV]
// the same for rows. All integers are stored as floats (exact below 2^24).
// output [3, crop, crop] (CHW) of one image, starting at float `offset` (its place in the
// batch); one work-item per output value: dim 0 = x,
// dim 1 = y, dim 2 = channel. Each computes the horizontal pass for the rows its vertical
// window needs, rounding and clipping to a byte in between, exactly like PIL's two passes.

// The network input is stored as ACT_T (precision.cl).

#define PRECISION_BITS 22

inline int clip8(int value) { return clamp(value >> PRECISION_BITS, 0, 255); }

__kernel void preprocess_image(__global const float* restrict pixels,
                               __global const float* restrict hFirst,
                               __global const float* restrict hCount,
                               __global const float* restrict hWeights,
                               __global const float* restrict vFirst,
                               __global const float* restrict vCount,
                               __global const float* restrict vWeights,
                               __global ACT_T* restrict output, const int offset,
                               const int W, const int KH, const int KV,
                               const int x0, const int y0, const int crop,
                               const float mean0, const float mean1, const float mean2,
                               const float std0, const float std1, const float std2) {
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int c = get_global_id(2);
    if (x >= crop || y >= crop) return;
    const int ox = x0 + x;
    const int oy = y0 + y;
    const int h0 = (int)hFirst[ox];
    const int hn = (int)hCount[ox];
    const int v0 = (int)vFirst[oy];
    const int vn = (int)vCount[oy];

    int vertical = 1 << (PRECISION_BITS - 1);
    for (int r = 0; r < vn; ++r) {
        __global const float* row = pixels + (size_t)(v0 + r) * W * 3;
        int horizontal = 1 << (PRECISION_BITS - 1);
        for (int i = 0; i < hn; ++i) {
            horizontal += (int)row[(h0 + i) * 3 + c] * (int)hWeights[ox * KH + i];
        }
        vertical += clip8(horizontal) * (int)vWeights[oy * KV + r];
    }
    const float mean = c == 0 ? mean0 : (c == 1 ? mean1 : mean2);
    const float stdev = c == 0 ? std0 : (c == 1 ? std1 : std2);
    STORE_ACT(((float)clip8(vertical) / 255.0f - mean) / stdev, output, offset + ((size_t)c * crop + y) * crop + x);
}
