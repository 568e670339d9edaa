// Element types and the loads and stores every kernel uses: the engine puts this file in front
// of each kernel file it builds (ProgramCache), so the kernels read the same in fp32 and fp16.
//
// Feature maps ([N, C, H, W] activations) are stored as ACT_T and weight matrices as W_T:
// float, or half when ACT_HALF / W_HALF is 1. Per-channel vectors (pooled features, SE scales,
// logits) and biases stay float. Half storage goes through vload_half / vstore_half, which
// are core OpenCL: no cl_khr_fp16 is needed (NVIDIA's driver and PoCL have none), and the
// values are floats in registers, so every sum is an fp32 sum.
// HALF_MATH=1 (cl_khr_fp16 devices only) lets conv_ocvec.cl and conv_gemm.cl multiply in half,
// adding short half partial sums into fp32 accumulators.

#ifndef ACT_HALF
#define ACT_HALF 0
#endif
#ifndef W_HALF
#define W_HALF 0
#endif
#ifndef HALF_MATH
#define HALF_MATH 0
#endif
#if HALF_MATH
#if !ACT_HALF || !W_HALF
#error "half arithmetic reads half feature maps and weights: build with ACT_HALF=1 and W_HALF=1"
#endif
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

// LOAD_*(p, i): the value p[i] as a float. STORE_*(v, p, i): p[i] = v, rounded to nearest even.
// LOADN_*(n, p): n consecutive values from p as a float vector; STOREN_*(n, v, p) the reverse.
// p needs only the element's alignment (vload/vstore, not vloada).
#if ACT_HALF
#define ACT_T half
#define LOAD_ACT(p, i) vload_half((i), (p))
#define STORE_ACT(v, p, i) vstore_half_rte((v), (i), (p))
#define LOADN_ACT(n, p) CAT(vload_half, n)(0, (p))
#define STOREN_ACT(n, v, p) CAT(CAT(vstore_half, n), _rte)((v), 0, (p))
#else
#define ACT_T float
#define LOAD_ACT(p, i) ((p)[i])
#define STORE_ACT(v, p, i) ((p)[i] = (v))
#define LOADN_ACT(n, p) CAT(vload, n)(0, (p))
#define STOREN_ACT(n, v, p) CAT(vstore, n)((v), 0, (p))
#endif

#if W_HALF
#define W_T half
#define LOAD_W(p, i) vload_half((i), (p))
#define LOADN_W(n, p) CAT(vload_half, n)(0, (p))
#else
#define W_T float
#define LOAD_W(p, i) ((p)[i])
#define LOADN_W(n, p) CAT(vload, n)(0, (p))
#endif
