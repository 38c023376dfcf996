// CBLAS itself, for the benchmark's bare-product baselines: the same
// OpenBLAS that Perceptron links, called without the library in between.
//
// The root package's own module for it (COpenBLAS) is internal to that
// package, and a second module of the same name would clash with it, hence
// the name. pkg-config reports where Debian's libopenblas-dev puts cblas.h.
#ifndef PERCEPTRON_CBLAS_REFERENCE_SHIM_H
#define PERCEPTRON_CBLAS_REFERENCE_SHIM_H

#include <cblas.h>

#endif
