// A trivial kernel whose attributes tell, at device initialisation, whether this build carries
// code the device can run (a real arch of its family or PTX the driver can JIT). Without it the
// first real kernel launch would fail with "no kernel image is available for execution".
#include <cuda_runtime.h>

__global__ void wg_probe_kernel() {}

extern "C" cudaError_t wg_probe_kernel_image(void) {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, wg_probe_kernel);
}
