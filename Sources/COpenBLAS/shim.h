// The one C header Perceptron reads from OpenBLAS.
//
// Debian's libopenblas-dev installs cblas.h under an alternatives directory
// (for example /usr/include/x86_64-linux-gnu/openblas-pthread); pkg-config
// reports it, and SwiftPM passes that include path to the module map.
#ifndef PERCEPTRON_COPENBLAS_SHIM_H
#define PERCEPTRON_COPENBLAS_SHIM_H

#include <cblas.h>

#endif
