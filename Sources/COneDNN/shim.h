// oneDNN's C API (Debian: libdnnl-dev), for the OneDNN trait's backend.
#include <oneapi/dnnl/dnnl.h>

// The one OpenMP call the backend makes, from libgomp, which oneDNN is built
// on: each calling thread runs oneDNN's parallel regions on one OpenMP thread,
// because the library's own worker pool already splits a large product.
// Declared here rather than through <omp.h>, which is in GCC's private
// include folder, not on the default search path.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
