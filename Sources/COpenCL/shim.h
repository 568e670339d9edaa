// Pin the API level: OpenCL 1.2 runs on every driver we target (NVIDIA, AMD, Intel, Arm, PoCL).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
