// CLBlast's C API (GEMM on OpenCL buffers). It includes CL/cl.h itself, so pin the same
// OpenCL target version as COpenCL before it does.
#ifndef LLAMACL_CCLBLAST_SHIM_H
#define LLAMACL_CCLBLAST_SHIM_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <clblast_c.h>
#endif
