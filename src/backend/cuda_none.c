/* cuda_none.c — stands in for cuda.cu in builds without nvcc. */
#include "backend/backend.h"
#include "error.h"

int backend_cuda_available(void) { return 0; }

saex_status backend_cuda_create(int device, backend **out) {
    (void)device;
    *out = NULL;
    return saex_fail(SAEX_ERR_UNSUPPORTED, "this saex was built without CUDA (rebuild with nvcc on PATH, or make CUDA=1)");
}
