// The OpenCL C API as Swift sees it. We target OpenCL 1.2 so that every driver we care
// about (NVIDIA, AMD, Intel, Mali, Adreno, PoCL) offers all the calls we make, and so
// cl_version.h does not warn about a missing target version.
#ifndef LLAMACL_COPENCL_SHIM_H
#define LLAMACL_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#endif
