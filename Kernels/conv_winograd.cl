// Winograd F(m×m, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin and Gray 2015), in
// three launches over one plan-scratch buffer (ncnn's and MNN's layout on CPUs):
//   winograd_input:  V[p][c][t] = (Bᵀ d B)[p], d the α×α input patch of tile t, channel c;
//   the GEMMs:       M[p][t][o] = Σ_c U[p][o][c] V[p][c][t], one per point p (α² of them):
//                    CPU family: winograd_gemm, conv_ocvec's register tile (OV vectors of VW
//                    channels × NP tiles), no barriers, no local memory;
//                    GPU family (built with TM): winograd_gemm_local, conv_gemm's two-level
//                    tiling through local memory;
//   winograd_output: y = Aᵀ M A + bias (+ ReLU), one tile and output channel a work-item.
// U is the weight transformed once at load (WinogradTransform) and packed per point in blocks
// of 64 output channels: [α², ⌈O/64⌉, C, 64]. Tiles run over [N, ⌈H/m⌉, ⌈W/m⌉], a chunk of T
// of them (from tile t0) per launch triple, so V and M (fp32 whatever the feature maps' type)
// stay a bounded, cache-sized block, as ncnn builds its scratch.

#ifndef WINO_M
#define WINO_M 4
#endif
#define ALPHA (WINO_M + 2)
#define POINTS (ALPHA * ALPHA)
#ifndef VW
#define VW 8
#endif
#ifndef OV
#define OV 4
#endif
#ifndef NP
#define NP 3
#endif
#define OCW (OV * VW)
#define WB 64  // Output channels per packed weight block (ConvTiling.weightBlock).
#define VEC CAT(float, VW)

// Bᵀ x for one line of α values (rows of Bᵀ in WinogradTransform.bT).
#if WINO_M == 2
#define INPUT_LINE(T, x, y)       \
    {                             \
        y[0] = x[0] - x[2];       \
        y[1] = x[1] + x[2];       \
        y[2] = x[2] - x[1];       \
        y[3] = x[1] - x[3];       \
    }
#else
#define INPUT_LINE(T, x, y)                                            \
    {                                                                  \
        y[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];                       \
        y[1] = x[3] + x[4] - 4.0f * (x[1] + x[2]);                     \
        y[2] = 4.0f * (x[1] - x[2]) + x[4] - x[3];                     \
        y[3] = 2.0f * (x[3] - x[1]) + x[4] - x[2];                     \
        y[4] = 2.0f * (x[1] - x[3]) + x[4] - x[2];                     \
        y[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];                       \
    }
#endif

// Aᵀ x for one line of α values (rows of Aᵀ in WinogradTransform.aT).
#if WINO_M == 2
#define OUTPUT_LINE(T, x, y)      \
    {                             \
        y[0] = x[0] + x[1] + x[2]; \
        y[1] = x[1] - x[2] - x[3]; \
    }
#else
#define OUTPUT_LINE(T, x, y)                                           \
    {                                                                  \
        const T s12 = x[1] + x[2], d12 = x[1] - x[2];                  \
        const T s34 = x[3] + x[4], d34 = x[3] - x[4];                  \
        y[0] = x[0] + s12 + s34;                                       \
        y[1] = d12 + 2.0f * d34;                                       \
        y[2] = s12 + 4.0f * s34;                                       \
        y[3] = d12 + 8.0f * d34 + x[5];                                \
    }
#endif

// dim 0 = tile t0 + t of [N, tilesY, tilesX], dim 1 = input channel c.
__kernel void winograd_input(__global const ACT_T* restrict input, __global float* restrict scratch,
                             const int C, const int H, const int W, const int tilesY, const int tilesX,
                             const int t0, const int T) {
    const int t = get_global_id(0);
    const int c = get_global_id(1);
    if (t >= T || c >= C) return;
    const int perImage = tilesY * tilesX;
    const int n = (t0 + t) / perImage;
    const int ty = (t0 + t - n * perImage) / tilesX;
    const int tx = t0 + t - n * perImage - ty * tilesX;
    const int y0 = ty * WINO_M - 1, x0 = tx * WINO_M - 1;
    __global const ACT_T* plane = input + ((size_t)n * C + c) * H * W;

    float d[ALPHA][ALPHA];
#pragma unroll
    for (int r = 0; r < ALPHA; ++r) {
        const int y = y0 + r;
#pragma unroll
        for (int k = 0; k < ALPHA; ++k) {
            const int x = x0 + k;
            d[r][k] = (y >= 0 && y < H && x >= 0 && x < W) ? LOAD_ACT(plane, y * W + x) : 0.0f;
        }
    }
    // Columns first (Bᵀ d), then rows ((Bᵀ d) B).
    float cols[ALPHA][ALPHA];
#pragma unroll
    for (int k = 0; k < ALPHA; ++k) {
        float x[ALPHA], y[ALPHA];
#pragma unroll
        for (int r = 0; r < ALPHA; ++r) x[r] = d[r][k];
        INPUT_LINE(float, x, y);
#pragma unroll
        for (int r = 0; r < ALPHA; ++r) cols[r][k] = y[r];
    }
    __global float* v = scratch + (size_t)c * T + t;
    const size_t pointStride = (size_t)C * T;
#pragma unroll
    for (int r = 0; r < ALPHA; ++r) {
        float y[ALPHA];
        INPUT_LINE(float, cols[r], y);
#pragma unroll
        for (int k = 0; k < ALPHA; ++k) v[(r * ALPHA + k) * pointStride] = y[k];
    }
}

#ifdef TM
// dim 0 = output channels (TM a work-group, WM a work-item), dim 1 = tiles (TN a work-group,
// WN a work-item), dim 2 = point p. Channels run along dim 0 so that neighbouring work-items
// store neighbouring words of M's rows. Per step of TK input channels the group stages TK × TM
// weights and TK × TN transformed inputs in local memory, synchronises, accumulates,
// synchronises. V at scratch[0], M at scratch[mOffset].
#define GROUP_M (TM / WM)
#define GROUP_N (TN / WN)
#define GROUP (GROUP_M * GROUP_N)
__kernel __attribute__((reqd_work_group_size(GROUP_M, GROUP_N, 1)))
void winograd_gemm_local(__global const W_T* restrict u, __global float* restrict scratch, const int mOffset,
                         const int C, const int O, const int T) {
    __local float weights[TK][TM];
    __local float values[TK][TN];
    const int tx = get_local_id(0);
    const int ty = get_local_id(1);
    const int lid = ty * GROUP_M + tx;
    const int oc0 = get_group_id(0) * TM;
    const int t0 = get_group_id(1) * TN;
    const int p = get_group_id(2);
    const int blocks = (O + WB - 1) / WB;
    __global const W_T* w = u + (size_t)p * blocks * C * WB;
    __global const float* v = scratch + (size_t)p * C * T;

    float acc[WM][WN];
    for (int m = 0; m < WM; ++m)
        for (int n = 0; n < WN; ++n) acc[m][n] = 0.0f;
    for (int c0 = 0; c0 < C; c0 += TK) {
        // Consecutive work-items load consecutive channels / tiles: coalesced reads.
        for (int i = lid; i < TK * TM; i += GROUP) {
            const int kk = i / TM;
            const int c = c0 + kk, oc = oc0 + i - kk * TM;
            weights[kk][i - kk * TM] = (c < C && oc < O) ? LOAD_W(w, ((size_t)(oc / WB) * C + c) * WB + oc % WB) : 0.0f;
        }
        for (int i = lid; i < TK * TN; i += GROUP) {
            const int kk = i / TN;
            const int c = c0 + kk, t = t0 + i - kk * TN;
            values[kk][i - kk * TN] = (c < C && t < T) ? v[(size_t)c * T + t] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; ++kk) {
            float a[WM], b[WN];
            for (int m = 0; m < WM; ++m) a[m] = weights[kk][tx + m * GROUP_M];
            for (int n = 0; n < WN; ++n) b[n] = values[kk][ty + n * GROUP_N];
            for (int m = 0; m < WM; ++m)
                for (int n = 0; n < WN; ++n) acc[m][n] = mad(a[m], b[n], acc[m][n]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global float* out = scratch + mOffset + (size_t)p * T * O;
    for (int n = 0; n < WN; ++n) {
        const int t = t0 + ty + n * GROUP_N;
        if (t >= T) continue;
        for (int m = 0; m < WM; ++m) {
            const int oc = oc0 + tx + m * GROUP_M;
            if (oc < O) out[(size_t)t * O + oc] = acc[m][n];
        }
    }
}
#else
// dim 0 = block of NP tiles, dim 1 = block of OCW output channels, dim 2 = point p.
// V at scratch[0], M at scratch[mOffset]. A work-group along dim 0 shares one weight panel.
__kernel void winograd_gemm(__global const W_T* restrict u, __global float* restrict scratch, const int mOffset,
                            const int C, const int O, const int T) {
    const int t0 = get_global_id(0) * NP;
    const int oc0 = get_global_id(1) * OCW;
    const int p = get_global_id(2);
    if (t0 >= T || oc0 >= O) return;
    const int blocks = (O + WB - 1) / WB;
    __global const W_T* w = u + ((size_t)p * blocks + oc0 / WB) * C * WB + oc0 % WB;
    __global const float* v = scratch + (size_t)p * C * T;

    int col[NP];
#pragma unroll
    for (int j = 0; j < NP; ++j) col[j] = min(t0 + j, T - 1);  // Lanes past T repeat the last; never stored.
    VEC acc[NP * OV];
#pragma unroll
    for (int i = 0; i < NP * OV; ++i) acc[i] = (VEC)(0.0f);
    for (int c = 0; c < C; ++c, w += WB, v += T) {
        VEC wv[OV];
#pragma unroll
        for (int o = 0; o < OV; ++o) wv[o] = LOADN_W(VW, w + o * VW);  // Zero-padded past O.
#pragma unroll
        for (int j = 0; j < NP; ++j) {
            const VEC xv = (VEC)(v[col[j]]);
#pragma unroll
            for (int o = 0; o < OV; ++o) acc[j * OV + o] = fma(wv[o], xv, acc[j * OV + o]);
        }
    }
    __global float* m = scratch + mOffset + (size_t)p * T * O;
    const int valid = O - oc0;
    for (int j = 0; j < NP && t0 + j < T; ++j) {
        __global float* row = m + (size_t)(t0 + j) * O + oc0;
#pragma unroll
        for (int o = 0; o < OV; ++o) {
            if (valid >= (o + 1) * VW) {
                CAT(vstore, VW)(acc[j * OV + o], 0, row + o * VW);
            } else {
                float lanes[VW];
                CAT(vstore, VW)(acc[j * OV + o], 0, lanes);
                for (int i = o * VW; i < valid; ++i) row[i] = lanes[i - o * VW];
            }
        }
    }
}
#endif

// dim 0 = output channel o, dim 1 = tile t0 + t. M at scratch[mOffset]. Scalar per work-item:
// neighbouring work-items read neighbouring words of M's rows, and the driver vectorises
// across them; the VW-channel vector form took PoCL 2.3 s to compile per work-group size.
__kernel void winograd_output(__global const float* restrict scratch, const int mOffset,
                              __global const float* restrict bias, __global ACT_T* restrict output, const int O,
                              const int H, const int W, const int tilesY, const int tilesX, const int t0,
                              const int T, const int relu) {
    const int o = get_global_id(0);
    const int t = get_global_id(1);
    if (o >= O || t >= T) return;
    __global const float* m = scratch + mOffset + (size_t)t * O + o;
    const size_t pointStride = (size_t)T * O;

    // Rows first (Aᵀ per row of M), then columns.
    float rows[ALPHA][WINO_M];
#pragma unroll
    for (int r = 0; r < ALPHA; ++r) {
        float x[ALPHA], y[WINO_M];
#pragma unroll
        for (int k = 0; k < ALPHA; ++k) x[k] = m[(r * ALPHA + k) * pointStride];
        OUTPUT_LINE(float, x, y);
#pragma unroll
        for (int k = 0; k < WINO_M; ++k) rows[r][k] = y[k];
    }
    const float b = bias[o];
    const int perImage = tilesY * tilesX;
    const int n = (t0 + t) / perImage;
    const int ty = (t0 + t - n * perImage) / tilesX;
    const int tx = t0 + t - n * perImage - ty * tilesX;
    __global ACT_T* out = output + ((size_t)n * O + o) * H * W;
#pragma unroll
    for (int k = 0; k < WINO_M; ++k) {
        const int x = tx * WINO_M + k;
        float colIn[ALPHA], colOut[WINO_M];
#pragma unroll
        for (int r = 0; r < ALPHA; ++r) colIn[r] = rows[r][k];
        OUTPUT_LINE(float, colIn, colOut);
#pragma unroll
        for (int r = 0; r < WINO_M; ++r) {
            const int y = ty * WINO_M + r;
            if (y >= H || x >= W) continue;
            const float v = colOut[r] + b;
            STORE_ACT(relu ? fmax(v, 0.0f) : v, out, y * W + x);
        }
    }
}
